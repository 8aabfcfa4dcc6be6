"""The question admin's forms: the question, its choice and citation inlines (positioned,
checked by the authoring rules before anything is saved), their image field, the import
form and the list filters."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from questions.admin.mixins import UnixNewlinesMixin
from questions.authoring import images, rules, workflow
from questions.interchange import transfer
from questions.models import (
    CHOICE_LETTERS,
    Choice,
    Citation,
    Question,
)


def _errors(problems: list[rules.Problem]) -> ValidationError:
    return ValidationError([ValidationError(p.message, code=p.code) for p in problems])


class LimitedImageField(forms.ImageField):
    """An image refused first when it would decode to more pixels than
    ``QUESTION_IMAGE_MAX_PIXELS``, read from its header before Django's own check opens it
    (which calls an image past Pillow's limit "not a valid image")."""

    def to_python(self, data):
        if data not in self.empty_values and hasattr(data, "read"):
            images.check_pixels(data, max_pixels=settings.QUESTION_IMAGE_MAX_PIXELS)
        return super().to_python(data)


class PositionedForm(UnixNewlinesMixin, forms.ModelForm):
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

    def kept_forms(self) -> list[PositionedForm]:
        return [
            form
            for form in self.forms
            if form.is_valid()
            and (form.instance.pk is not None or form.has_changed())
            # BaseFormSet's own test, which the stubs leave out.
            and not self._should_delete_form(form)  # type: ignore[attr-defined]
        ]

    def position_value(self, index: int):
        raise NotImplementedError

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # A tabular inline names its columns in <th> only, which labels no field: give each
        # its own accessible name ("choice 2: Rationale"), or screen readers (and axe) find
        # rows of unlabelled boxes. ``index`` is None for the template row of "Add another".
        row = self.model._meta.verbose_name
        row = f"{row} {index + 1}" if index is not None else f"new {row}"
        for name, field in form.fields.items():
            # Past the admin's wrapper (the add/change links): a copied wrapper's ``attrs``
            # are still its original's, shared by every row.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs.setdefault("aria-label", f"{row}: {field.label or name}")

    def clean(self):
        super().clean()
        # A row sent as an existing one whose id is not among this question's rows (another
        # question's, or one deleted meanwhile): Django would skip it silently on save.
        for number, form in enumerate(self.initial_forms, start=1):
            if form.instance.pk is None:
                raise ValidationError(
                    f"{self.model._meta.verbose_name.capitalize()} row {number} is not part of "
                    "this question (it was deleted or changed elsewhere). Reload the page and "
                    "make your changes again.",
                    code="foreign_row",
                )
        for index, form in enumerate(self.kept_forms()):
            setattr(form.instance, form.position_field, self.position_value(index))


class ChoiceForm(PositionedForm):
    position_field = "letter"

    class Meta:
        model = Choice
        fields = ["text", "is_correct", "rationale", "image", "image_alt", "image_credit"]
        field_classes = {"image": LimitedImageField}
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
        if len(kept) > len(CHOICE_LETTERS):
            raise ValidationError(
                f"A question has at most {len(CHOICE_LETTERS)} choices.", code="too_many_choices"
            )
        # Rows for stored choices that the page did not send, while it sends new rows: the
        # page is out of date (or was tampered with); saving would collide on letters.
        stored = {c.pk for c in self.instance.choices.all()} if self.instance.pk else set()
        sent = {form.instance.pk for form in self.forms if form.instance.pk}
        if stored - sent and any(form.instance.pk is None for form in kept):
            raise ValidationError(
                "The choices changed since this page was opened (or rows were lost): reload "
                "the question and make your change again.",
                code="stale_choices",
            )
        choices = [
            rules.ChoiceData(
                letter=form.instance.letter,
                text=form.cleaned_data.get("text", ""),
                is_correct=form.cleaned_data.get("is_correct", False),
                rationale=form.cleaned_data.get("rationale", ""),
            )
            for form in kept
        ]
        if problems := rules.choice_problems(status=self.instance.status, choices=choices):
            raise _errors(problems)

    def save_existing_objects(self, commit=True):
        # Clear the old key first: the partial unique index allows one correct choice at a time.
        if commit and self.instance.pk:
            new_key = [f.instance.pk for f in self.kept_forms() if f.cleaned_data.get("is_correct")]
            workflow.clear_old_key(question=self.instance, keep=new_key)
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
        problems = rules.citation_problems(
            status=self.instance.status, explanation=self.instance.explanation, citation_keys=keys
        )
        if problems:
            raise _errors(problems)


class ChoiceInline(admin.TabularInline):
    model = Choice
    form = ChoiceForm
    formset = ChoiceInlineFormSet
    fields = ["letter", "text", "is_correct", "rationale", "image", "image_alt", "image_credit"]
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
    extra = 1
    verbose_name = "citation"
    verbose_name_plural = "citations (numbered in this order; cite in the explanation as [@key])"

    @admin.display(description="no.")
    def number(self, obj):
        return obj.order if obj.pk else "-"


class QuestionAdminForm(UnixNewlinesMixin, forms.ModelForm):
    class Meta:
        model = Question
        fields = [
            "key", "difficulty", "topics", "stem", "lead_in", "image", "image_alt",
            "image_credit", "stem_diagram", "objective", "explanation", "explanation_diagram",
        ]  # fmt: skip
        field_classes = {"image": LimitedImageField}
        widgets = {"lead_in": forms.TextInput(attrs={"size": 100})}

    def clean(self):
        cleaned = super().clean()
        status = self.instance.status
        for problem in rules.content_problems(
            status=status,
            objective=cleaned.get("objective", ""),
            explanation=cleaned.get("explanation", ""),
        ):
            field = {"no_objective": "objective", "no_explanation": "explanation"}[problem.code]
            self.add_error(field, ValidationError(problem.message, code=problem.code))
        return cleaned


class ImportForm(forms.Form):
    """The file to import, and its format (from its name unless chosen)."""

    MAX_BYTES = 5 * 1024 * 1024

    file = forms.FileField(help_text="JSON, CSV or Moodle XML, up to 5 MB.")
    format = forms.ChoiceField(
        choices=[
            ("", "From the file name"),
            ("json", "JSON"),
            ("csv", "CSV"),
            ("moodle", "Moodle XML"),
        ],
        required=False,
    )

    def clean(self):
        data = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        upload, fmt = data.get("file"), data.get("format")
        if not upload:
            return data
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 5 MB.", code="too_big")
        fmt = fmt or transfer.format_of(upload.name)
        if not fmt:
            raise ValidationError(
                "Say which format the file is in (JSON, CSV or Moodle XML).", code="format"
            )
        try:
            data["text"] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The file is not UTF-8 text.", code="encoding") from exc
        data["format"] = fmt
        return data


class NeedsReviewFilter(admin.SimpleListFilter):
    """Published questions due for a look: review overdue, or citing an unverified work."""

    title = "needs review"
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        months = settings.QUESTION_REVIEW_MONTHS
        return [
            ("overdue", f"Not reviewed in {months} months"),
            ("unverified", "Cites an unverified reference"),
        ]

    def queryset(self, request, queryset):
        reasons = workflow.needing_attention(
            today=timezone.localdate(), months=settings.QUESTION_REVIEW_MONTHS
        )
        if self.value() == "overdue":
            return queryset.filter(pk__in=reasons["review_overdue"].values("pk"))
        if self.value() == "unverified":
            return queryset.filter(pk__in=reasons["unverified_reference"].values("pk"))
        return queryset


class ItemAnalysisFilter(admin.SimpleListFilter):
    """Questions whose residents' answers look broken (see ``stats.ItemStats.flags``)."""

    title = "item analysis"
    parameter_name = "item_analysis"

    def lookups(self, request, model_admin):
        return [("flagged", "Flagged"), ("not_flagged", "Not flagged")]

    def queryset(self, request, queryset):
        if "item_flag" not in queryset.query.annotations:
            return queryset
        if self.value() == "flagged":
            return queryset.exclude(item_flag="")
        if self.value() == "not_flagged":
            return queryset.filter(item_flag="")
        return queryset
