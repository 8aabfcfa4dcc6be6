"""Forms: sign-up, profile, the quiz builder (residents); assignments (educators)."""

import datetime
import uuid
import zoneinfo
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from questions.models import (
    Accommodation,
    Assignment,
    Attempt,
    Question,
    ResidentProfile,
    Topic,
)
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
            "email_notifications",
        ]
        help_texts = {
            "time_setting": "Your practice quizzes allow 90 seconds a question times this "
            "setting. Extended time on assignments is granted by your educators.",
            "has_strikeout": "Cross out choices you have ruled out (they stay selectable).",
            "has_highlighter": "Highlight words of a question's text.",
            "has_notes": "Write a note on a question; all of them are under My notes.",
            "has_question_timer": "Show the time spent on the question beside the quiz clock.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not sent (an older form, a script): keep the current size rather than refuse.
        self.fields["text_size"].required = False
        self.fields["email_notifications"].required = False
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save settings"))

    def clean_text_size(self):
        return self.cleaned_data["text_size"] or self.instance.text_size

    def clean_email_notifications(self):
        return self.cleaned_data["email_notifications"] or self.instance.email_notifications


MAX_ID = 2**63 - 1


def is_database_id(text: str) -> bool:
    """Whether posted text is a whole number in the database's id range. Checked before
    any query: SQLite raises OverflowError on a larger integer instead of finding nothing,
    and int() itself refuses strings of over 4,300 digits (hence the length test first).
    ASCII only: "²" and "٣" are digits to str.isdigit, and int() refuses the first."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ID


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


class _OneQueryChoices(ModelChoiceIterator):
    # Django's iterator() reads choices through a server-side cursor on PostgreSQL: three
    # round trips (declare, fetch, close) for a handful of topics, where one will do.
    def __iter__(self):
        return (self.choice(obj) for obj in self.queryset)


class TopicCountField(IdChoiceField):
    """The builder's topics, each label with how many questions it holds in the chosen pool
    (``counts``: topic id -> n, set by QuizBuilderForm.show_counts), in a span the builder's
    live counts replace."""

    iterator = _OneQueryChoices
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


def cohort_wall_time(value: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """``value``, a naive wall-clock time, as the moment it names in ``tz``. Around a
    daylight-saving change a wall time may not exist (the clocks go forward over it) or
    happen twice (they go back over it): both raise ValidationError saying so, rather than
    guessing which moment the educator meant."""
    first, second = value.replace(tzinfo=tz, fold=0), value.replace(tzinfo=tz, fold=1)
    back = first.astimezone(datetime.UTC).astimezone(tz)
    when = f"{value:%-d %b %Y, %H:%M}"
    if back.replace(tzinfo=None) != value:
        raise ValidationError(
            "%(when)s does not exist in %(zone)s: the clocks go forward over it that night. "
            "Choose another time, such as %(suggestion)s.",
            code="nonexistent_time",
            params={"when": when, "zone": tz.key, "suggestion": f"{back:%H:%M}"},
        )
    if first.utcoffset() != second.utcoffset():
        raise ValidationError(
            "%(when)s happens twice in %(zone)s: the clocks go back over it that night "
            "(%(first)s, then %(second)s). Choose a time outside the repeated hour.",
            code="ambiguous_time",
            params={
                "when": when,
                "zone": tz.key,
                "first": f"{first:%Z}",
                "second": f"{second:%Z}",
            },
        )
    return first


class CohortDateTimeField(forms.DateTimeField):
    """A date and time entered and shown as wall time in a cohort's time zone (``tzinfo``,
    set by the form), in a ``datetime-local`` input. What is typed is read in that zone,
    never the server's; a time that does not exist or happens twice there is refused
    (``cohort_wall_time``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        )
        super().__init__(**kwargs)
        self.tzinfo = zoneinfo.ZoneInfo(settings.COHORT_TIME_ZONE)

    def prepare_value(self, value):
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            return value.astimezone(self.tzinfo).replace(tzinfo=None)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            result: datetime.datetime | None = value
        else:
            text = str(value).strip()[:40]
            try:
                result = parse_datetime(text)
            except ValueError:  # well formed, out of range (30 February)
                result = None
            for format_ in [] if result else self.input_formats:
                try:
                    result = self.strptime(text, format_)
                    break
                except (ValueError, TypeError):
                    continue
        if result is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_aware(result):
            return result
        return cohort_wall_time(result, self.tzinfo)


class CohortTimesMixin:
    """Forms whose dates are a cohort's: pass ``cohort``; every CohortDateTimeField reads
    and shows its time zone, whose name the template prints beside the fields."""

    fields: dict

    def use_time_zone(self, cohort) -> None:
        self.time_zone = cohort.time_zone
        for field in self.fields.values():
            if isinstance(field, CohortDateTimeField):
                field.tzinfo = cohort.tzinfo
                field.help_text = field.help_text or f"{cohort.time_zone} time"


def default_dates(cohort, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """A new assignment's dates: opens now (to the minute), due in a week at 23:59, both
    as the cohort's clocks read."""
    local_now = now.astimezone(cohort.tzinfo).replace(second=0, microsecond=0)
    due_day = local_now.date() + datetime.timedelta(days=7)
    due = datetime.datetime.combine(due_day, datetime.time(23, 59), tzinfo=cohort.tzinfo)
    return local_now, due


class AssignmentForm(CohortTimesMixin, forms.Form):
    """What an educator sets for a cohort. The view hands it to assignments.create_assignment
    (``release`` apart, see ``creation_arguments``). Dates are the cohort's wall time."""

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
        help_text="Timed mode. Blank: 90 s a question. The time accommodations you grant on "
        "the cohort's page apply (residents' own settings do not), and no attempt runs past "
        "the due date.",
    )
    opens_at = CohortDateTimeField(label="Opens")
    due_at = CohortDateTimeField(label="Due")
    # Not sent (an older form, a script): at the due date, the model's default.
    release = forms.TypedChoiceField(
        label="Results released",
        choices=Assignment.Release.choices,
        initial=Assignment.Release.AT_DUE,
        required=False,
        empty_value=Assignment.Release.AT_DUE,
        widget=forms.RadioSelect,
        help_text="Until then a resident who finished sees only that they finished.",
    )

    def __init__(self, *args, cohort, now: datetime.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_time_zone(cohort)
        opens, due = default_dates(cohort, now)
        self.fields["opens_at"].initial = opens
        self.fields["due_at"].initial = due
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

    def creation_arguments(self) -> dict[str, Any]:
        """The cleaned data as create_assignment's keyword arguments, one for one."""
        return dict(self.cleaned_data)


class AssignmentEditForm(CohortTimesMixin, forms.Form):
    """An assignment's title, dates and release (its questions are fixed once set). The view
    hands it to control.edit_assignment."""

    title = forms.CharField(max_length=200)
    opens_at = CohortDateTimeField(label="Opens")
    due_at = CohortDateTimeField(
        label="Due",
        help_text="Moved earlier or later, attempts in progress follow (never past the new "
        "due date).",
    )
    release = forms.ChoiceField(
        label="Results released", choices=Assignment.Release.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, assignment: Assignment, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "title": assignment.title,
                "opens_at": assignment.opens_at,
                "due_at": assignment.due_at,
                "release": assignment.release,
            },
        )
        super().__init__(*args, **kwargs)
        self.use_time_zone(assignment.cohort)

    def clean(self):
        data = cast(dict[str, Any], super().clean())
        opens, due = data.get("opens_at"), data.get("due_at")
        if opens and due and due <= opens:
            self.add_error("due_at", "The due date must be after the opening date.")
        return data


class ExtensionForm(CohortTimesMixin, forms.Form):
    """One resident's extension: a due date of their own and/or extra minutes on their
    clock. The view hands it to control.grant_extension, which checks the rest."""

    due_at = CohortDateTimeField(label="Their due date", required=False)
    extra_minutes = forms.IntegerField(
        label="Extra minutes on their clock", min_value=0, max_value=600, required=False
    )
    note = forms.CharField(max_length=300, required=False, help_text="Why (kept in the log).")

    def __init__(self, *args, cohort, **kwargs):
        super().__init__(*args, **kwargs)
        self.use_time_zone(cohort)


class AttemptGrantForm(forms.Form):
    """Another attempt for one resident (control.grant_attempt)."""

    note = forms.CharField(max_length=300, required=False, help_text="Why (kept in the log).")


class AccommodationForm(forms.Form):
    """A resident's extended time for the cohort's timed assignments
    (control.set_accommodation); standard time removes it."""

    resident = forms.CharField(widget=forms.HiddenInput, max_length=20)
    time_setting = forms.ChoiceField(
        label="Time",
        choices=[("", "Standard time")] + list(Accommodation.TimeSetting.choices),
        required=False,
    )
    note = forms.CharField(
        max_length=300,
        required=False,
        help_text="Why, and on whose authority (needed for extended time).",
    )

    def clean_resident(self) -> int:
        text = self.cleaned_data["resident"]
        if not is_database_id(text):
            raise ValidationError("Choose a resident of the cohort.", code="resident")
        return int(text)
