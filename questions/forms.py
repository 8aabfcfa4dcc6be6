"""Forms: sign-up, profile, the quiz builder (residents); assignments (educators)."""

import uuid
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from questions.models import Assignment, Attempt, Question, ResidentProfile, Topic
from questions.models.simulations import (
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MAX_BREAK_SECONDS,
    MIN_BLOCK_SIZE,
    MIN_BLOCKS,
)

# The breaks the simulation builder offers, in minutes (0, no break, besides).
BREAKS = [m for m in (1, 2, 5, 10, 15) if m * 60 <= MAX_BREAK_SECONDS]


class SignUpForm(UserCreationForm):
    """What a resident types to sign up. The view hands it to accounts.sign_up, which saves
    the account and its profile together."""

    program = forms.CharField(max_length=200, help_text="Your residency program.")
    training_year = forms.TypedChoiceField(
        coerce=int,
        # A field with choices: the stubs type get_field() as any field or relation.
        choices=ResidentProfile._meta.get_field("training_year").choices,  # type: ignore[arg-type]
    )

    # Django's UserCreationForm has a Meta (inherited); its stubs declare none.
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create account"))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = ResidentProfile
        fields = [
            "program",
            "training_year",
            "time_setting",
            "has_keyboard_shortcuts",
            "text_size",
            "is_timer_hidden",
            "has_strikeout",
            "has_highlighter",
            "has_notes",
            "has_question_timer",
        ]
        help_texts = {
            "time_setting": "Timed quizzes allow 90 seconds a question times this setting.",
            "has_strikeout": "Cross out choices you have ruled out (they stay selectable).",
            "has_highlighter": "Highlight words of a question's text.",
            "has_notes": "Write a note on a question; all of them are under My notes.",
            "has_question_timer": "Show the time spent on the question beside the quiz clock.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not sent (an older form, a script): keep the current size rather than refuse.
        self.fields["text_size"].required = False
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save settings"))

    def clean_text_size(self):
        return self.cleaned_data["text_size"] or self.instance.text_size


MAX_ID = 2**63 - 1


def is_database_id(text: str) -> bool:
    """Whether posted text is a whole number in the database's id range. Checked before
    any query: SQLite raises OverflowError on a larger integer instead of finding nothing,
    and int() itself refuses strings of over 4,300 digits (hence the length test first)."""
    return text.isdigit() and len(text) <= 19 and int(text) <= MAX_ID


class IdChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids that are not whole numbers in the database's range before querying."""

    def _check_values(self, value):
        for item in value:
            text = str(item)
            if not is_database_id(text):
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice",
                    params={"value": text[:40]},
                )  # fmt: skip
        # Django's own (private) check, which the stubs leave out.
        return super()._check_values(value)  # type: ignore[misc]


class StartTokenField(forms.Field):
    """The builder form's hidden token (see engine.start_attempt). A missing or malformed one
    only loses the double-submit protection: it is not the resident's input to correct."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None


class TopicCountField(IdChoiceField):
    """The builder's topics, each label with how many questions it holds in the chosen pool
    (``counts``: topic id -> n, set by QuizBuilderForm.show_counts), in a span the builder's
    live counts replace."""

    counts: dict[Any, int] | None = None

    def label_from_instance(self, obj):
        if self.counts is None:
            return str(obj)
        return format_html(
            '{} <span id="topic-count-{}">({})</span>', obj, obj.pk, self.counts.get(obj.pk, 0)
        )


class QuizBuilderForm(forms.Form):
    """The quiz builder. ``show_counts`` writes how many questions each pool and topic holds
    for the resident into the labels ("Unused (23)") and the largest number of questions
    into the count's ``max``; the view hands the choices to ``starting.start_attempt``."""

    MAX_QUESTIONS = 200

    pool = forms.ChoiceField(
        choices=Attempt.Pool.choices, initial=Attempt.Pool.ALL, widget=forms.RadioSelect
    )
    topics = TopicCountField(
        queryset=Topic.objects.order_by("order", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every topic. In brackets: the questions each topic "
        "holds in the pool chosen.",
    )
    question_count = forms.IntegerField(
        label="Number of questions", min_value=1, max_value=MAX_QUESTIONS, initial=10
    )
    mode = forms.ChoiceField(
        choices=[
            (Attempt.Mode.TIMED, "Timed: your pace, one clock for the whole block"),
            (Attempt.Mode.TUTOR, "Tutor: untimed, explanation after each answer"),
        ],
        initial=Attempt.Mode.TIMED,
        widget=forms.RadioSelect,
    )
    # New with every blank form: sending the same form twice starts one quiz (engine).
    start_token = StartTokenField(initial=uuid.uuid4)
    # The dashboard's quick starts ("Review due questions", "Quiz me"): pressed again while
    # the same quiz is in progress, they resume it (starting.start_attempt).
    quick_start = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def selection(self) -> dict[str, Any]:
        """What the resident has chosen so far, valid or not (invalid fields: their initial
        value; a count that is not a whole number in range: 0): ``pool``, ``topics``,
        ``question_count``, ``mode``."""
        if not self.is_bound:
            return {"pool": Attempt.Pool.ALL, "topics": [], "question_count": 10, "mode": "timed"}
        self.is_valid()
        data = self.cleaned_data
        return {
            "pool": data.get("pool", Attempt.Pool.ALL),
            "topics": list(data.get("topics") or []),
            "question_count": data.get("question_count") or 0,
            "mode": data.get("mode", Attempt.Mode.TIMED),
        }

    def show_counts(self, counts: dict[str, dict[Any, int]], *, pool: str) -> None:
        """Write ``counts`` (drawing.pool_counts: each pool's total in the chosen topics,
        and each topic's in ``pool``) into the labels, and the count's ``max``. A blank form
        (every topic, all questions) takes the whole bank's; a form sent back with an error
        keeps the field's own, since a browser without JavaScript cannot follow a change of
        pool or topics and must not refuse a number the server would accept (with it, the
        builder's live counts narrow ``max`` to the selection at once)."""
        cast(forms.ChoiceField, self.fields["pool"]).choices = [
            (value, format_html('{} <span id="pool-count-{}">({})</span>', label, value, n))
            for value, label in Attempt.Pool.choices
            for n in [counts[value]["total"]]
        ]
        self.topic_field().counts = counts[pool]
        self.set_max_count(
            self.MAX_QUESTIONS if self.is_bound else counts[Attempt.Pool.ALL]["total"]
        )

    def topic_field(self) -> TopicCountField:
        return cast(TopicCountField, self.fields["topics"])

    def set_max_count(self, available: int) -> None:
        self.fields["question_count"].widget.attrs["max"] = min(self.MAX_QUESTIONS, available)

    def max_count(self) -> int:
        return int(self.fields["question_count"].widget.attrs.get("max", self.MAX_QUESTIONS))


class SimulationBuilderForm(forms.Form):
    """An exam simulation's settings; the view hands them to simulation.create_simulation.
    Its template lays it out (the total time sits between the fields and the button)."""

    block_count = forms.IntegerField(
        label="Blocks", min_value=MIN_BLOCKS, max_value=MAX_BLOCKS, initial=2
    )
    block_size = forms.IntegerField(
        label="Questions per block", min_value=MIN_BLOCK_SIZE, max_value=MAX_BLOCK_SIZE, initial=20
    )
    break_minutes = forms.TypedChoiceField(
        label="Break after each block",
        coerce=int,
        choices=[(0, "No break")] + [(m, f"{m} minute{'s' if m > 1 else ''}") for m in BREAKS],
        initial=10,
        help_text="When a break ends, the next block starts by itself, as on the exam.",
    )
    pool = forms.ChoiceField(
        choices=Attempt.Pool.choices, initial=Attempt.Pool.ALL, widget=forms.RadioSelect
    )
    topics = IdChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every topic.",
    )
    # New with every blank form: sending the same form twice creates one simulation.
    start_token = StartTokenField(initial=uuid.uuid4)


class QuestionChoiceField(IdChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key}: {obj.lead_in}"


class AssignmentForm(forms.Form):
    """What an educator sets for a cohort. The view hands it to assignments.create_assignment."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        label="Questions",
        choices=Assignment.Kind.choices,
        initial=Assignment.Kind.RULE,
        widget=forms.RadioSelect,
    )
    topics = IdChoiceField(
        queryset=Topic.objects.order_by("order", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Rule: drawn from these topics (all when none is ticked), once, when you "
        "save, so every resident answers the same questions.",
    )
    question_count = forms.IntegerField(
        label="Number of questions (rule)", min_value=2, max_value=200, initial=20, required=False
    )
    questions = QuestionChoiceField(
        queryset=Question.objects.published().order_by("key"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Fixed set",
        help_text="Fixed set: tick the questions.",
    )
    mode = forms.ChoiceField(
        choices=Attempt.Mode.choices, initial=Attempt.Mode.TIMED, widget=forms.RadioSelect
    )
    time_limit_minutes = forms.IntegerField(
        label="Time limit (minutes)",
        min_value=1,
        max_value=600,
        required=False,
        help_text="Timed mode. Blank: 90 s a question. Residents' extended-time settings apply, "
        "and no attempt runs past the due date.",
    )
    opens_at = forms.DateTimeField(
        label="Opens", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    due_at = forms.DateTimeField(
        label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create assignment"))

    def clean(self):
        data = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        kind = data.get("kind")
        if kind == Assignment.Kind.FIXED and not data.get("questions"):
            self.add_error("questions", "Tick at least one question for a fixed set.")
        if kind == Assignment.Kind.RULE and not data.get("question_count"):
            self.add_error("question_count", "Say how many questions the rule draws.")
        opens, due = data.get("opens_at"), data.get("due_at")
        if opens and due and due <= opens:
            self.add_error("due_at", "The due date must be after the opening date.")
        return data
