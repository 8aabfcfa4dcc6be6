"""Authoring in the admin: questions with inline choices and citations, references, topics.

The forms apply the rules of ``questions.bank`` (the same ones ``validate_bank`` runs), so an
invalid question is refused with a message and nothing is saved: the admin saves the question
and its inlines in one transaction, only after every form and formset is valid.
Choice letters and citation numbers follow the order of the rows: authors never type them.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from . import bank
from .models import CHOICE_LETTERS, Choice, Citation, Question, Reference, SiteSetting, Topic


def _errors(problems: list[bank.Problem]) -> ValidationError:
    return ValidationError([ValidationError(p.message, code=p.code) for p in problems])


class PositionedForm(forms.ModelForm):
    """A row whose position field (letter, number) is set by its formset, not typed:
    it counts as changed when only its position moved, so the formset saves it."""

    position_field = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial_position = getattr(self.instance, self.position_field)

    def has_changed(self):
        return super().has_changed() or (
            self.instance.pk is not None
            and getattr(self.instance, self.position_field) != self.initial_position
        )


class PositionedInlineFormSet(forms.BaseInlineFormSet):
    """Numbers the kept rows in order (letters A-E for choices, 1.. for citations)."""

    def kept_forms(self) -> list[forms.ModelForm]:
        return [
            form
            for form in self.forms
            if form.is_valid()
            and (form.instance.pk is not None or form.has_changed())
            and not self._should_delete_form(form)
        ]

    def position_value(self, index: int):
        raise NotImplementedError

    def clean(self):
        super().clean()
        for index, form in enumerate(self.kept_forms()):
            setattr(form.instance, form.position_field, self.position_value(index))


class ChoiceForm(PositionedForm):
    position_field = "letter"

    class Meta:
        model = Choice
        fields = ["text", "is_correct", "rationale"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2, "cols": 40}),
            "rationale": forms.Textarea(attrs={"rows": 2, "cols": 60}),
        }


class ChoiceInlineFormSet(PositionedInlineFormSet):
    def position_value(self, index):
        return CHOICE_LETTERS[index] if index < len(CHOICE_LETTERS) else ""

    def clean(self):
        super().clean()
        kept = self.kept_forms()
        choices = [
            bank.ChoiceData(
                letter=form.instance.letter,
                text=form.cleaned_data.get("text", ""),
                is_correct=form.cleaned_data.get("is_correct", False),
                rationale=form.cleaned_data.get("rationale", ""),
            )
            for form in kept
        ]
        if problems := bank.choice_problems(status=self.instance.status, choices=choices):
            raise _errors(problems)

    def save_existing_objects(self, commit=True):
        # Clear the old key first: the partial unique index allows one correct choice at a time.
        if commit and self.instance.pk:
            new_key = [f.instance.pk for f in self.kept_forms() if f.cleaned_data.get("is_correct")]
            self.instance.choices.filter(is_correct=True).exclude(pk__in=new_key).update(
                is_correct=False
            )
        return super().save_existing_objects(commit)


class CitationForm(PositionedForm):
    position_field = "order"

    class Meta:
        model = Citation
        fields = ["reference", "locator"]


class CitationInlineFormSet(PositionedInlineFormSet):
    def position_value(self, index):
        return index + 1

    def clean(self):
        super().clean()
        keys = [
            f.cleaned_data["reference"].key
            for f in self.kept_forms()
            if f.cleaned_data.get("reference")
        ]
        problems = bank.citation_problems(
            status=self.instance.status, explanation=self.instance.explanation, citation_keys=keys
        )
        if problems:
            raise _errors(problems)


class ChoiceInline(admin.TabularInline):
    model = Choice
    form = ChoiceForm
    formset = ChoiceInlineFormSet
    fields = ["letter", "text", "is_correct", "rationale"]
    readonly_fields = ["letter"]
    extra = 0
    max_num = len(CHOICE_LETTERS)

    def get_extra(self, request, obj=None, **kwargs):
        return 5 if obj is None else 0


class CitationInline(admin.TabularInline):
    model = Citation
    form = CitationForm
    formset = CitationInlineFormSet
    fields = ["number", "reference", "locator"]
    readonly_fields = ["number"]
    autocomplete_fields = ["reference"]
    extra = 1
    verbose_name = "citation"
    verbose_name_plural = "citations (numbered in this order; cite in the explanation as [@key])"

    @admin.display(description="no.")
    def number(self, obj):
        return obj.order if obj.pk else "-"


class QuestionAdminForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = [
            "key", "difficulty", "topics", "stem", "lead_in", "objective", "explanation",
            "last_reviewed_on",
        ]  # fmt: skip
        widgets = {"lead_in": forms.TextInput(attrs={"size": 100})}

    def clean(self):
        cleaned = super().clean()
        status = self.instance.status
        for problem in bank.content_problems(
            status=status,
            objective=cleaned.get("objective", ""),
            explanation=cleaned.get("explanation", ""),
        ):
            field = {"no_objective": "objective", "no_explanation": "explanation"}[problem.code]
            self.add_error(field, ValidationError(problem.message, code=problem.code))
        return cleaned


@admin.register(Question)
class QuestionAdmin(SimpleHistoryAdmin):
    form = QuestionAdminForm
    inlines = [ChoiceInline, CitationInline]
    list_display = [
        "key", "lead_in_short", "status", "difficulty", "topic_list", "last_reviewed_on",
        "preview_link",
    ]  # fmt: skip
    list_filter = ["status", "difficulty", "topics"]
    search_fields = ["key", "stem", "lead_in", "explanation"]
    filter_horizontal = ["topics"]
    readonly_fields = ["status", "author", "created_at", "updated_at", "preview_link"]
    actions = ["send_to_review", "publish", "retire", "return_to_draft"]
    fieldsets = [
        (None, {"fields": ["key", "status", "difficulty", "topics"]}),
        ("Question", {"fields": ["stem", "lead_in"]}),
        ("Teaching", {"fields": ["objective", "explanation"]}),
        (
            "Record",
            {"fields": ["author", "last_reviewed_on", "created_at", "updated_at", "preview_link"]},
        ),
    ]
    history_list_display = ["status"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics")

    @admin.display(description="lead-in")
    def lead_in_short(self, obj):
        return obj.lead_in if len(obj.lead_in) <= 70 else obj.lead_in[:69] + "…"

    @admin.display(description="topics")
    def topic_list(self, obj):
        return ", ".join(t.name for t in obj.topics.all())

    @admin.display(description="preview")
    def preview_link(self, obj):
        if not obj.pk:
            return "-"
        url = reverse("questions:question_preview", args=[obj.pk])
        return format_html('<a href="{}">Preview</a>', url)

    def save_model(self, request, obj, form, change):
        if not change and obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    def _move(self, request, queryset, to: str):
        moved = 0
        for question in queryset:
            try:
                bank.change_status(question=question, to=to)
            except bank.TransitionError as exc:
                detail = " ".join([str(exc), *(p.message for p in exc.problems)])
                self.message_user(request, f"Not moved: {question.key}. {detail}", messages.ERROR)
            else:
                moved += 1
        if moved:
            label = Question.Status(to).label.lower()
            self.message_user(request, f"{moved} question(s) moved to {label}.", messages.SUCCESS)

    @admin.action(description="Send selected questions to review", permissions=["change"])
    def send_to_review(self, request, queryset):
        self._move(request, queryset, Question.Status.IN_REVIEW)

    @admin.action(description="Publish selected questions", permissions=["change"])
    def publish(self, request, queryset):
        self._move(request, queryset, Question.Status.PUBLISHED)

    @admin.action(description="Retire selected questions", permissions=["change"])
    def retire(self, request, queryset):
        self._move(request, queryset, Question.Status.RETIRED)

    @admin.action(description="Return selected questions to draft", permissions=["change"])
    def return_to_draft(self, request, queryset):
        self._move(request, queryset, Question.Status.DRAFT)


@admin.register(Reference)
class ReferenceAdmin(SimpleHistoryAdmin):
    list_display = ["key", "authors", "title", "journal", "year", "is_verified", "citation_count"]
    list_filter = ["kind", "is_verified"]
    search_fields = ["key", "authors", "title", "journal", "doi", "pmid"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(citation_count=Count("citations"))

    @admin.display(description="cited by", ordering="citation_count")
    def citation_count(self, obj):
        return obj.citation_count


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "question_count"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(question_count=Count("questions"))

    @admin.display(description="questions", ordering="question_count")
    def question_count(self, obj):
        return obj.question_count


@admin.register(SiteSetting)
class SiteSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_signup_open"]

    def has_add_permission(self, request):
        return not SiteSetting.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
