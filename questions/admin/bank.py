"""References, topics and diagrams."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, F
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from questions.admin.mixins import CheckedActionsMixin, HistoryIdsMixin
from questions.models import (
    Diagram,
    Reference,
    Topic,
    validate_svg,
)


class ReferenceAdminForm(forms.ModelForm):
    class Meta:
        model = Reference
        fields = [
            "key", "kind", "authors", "title", "journal", "year", "volume", "issue", "pages",
            "doi", "pmid", "url", "is_verified", "verification_note",
        ]  # fmt: skip

    def clean_key(self):
        key = self.cleaned_data["key"]
        old = self.instance.key
        if self.instance.pk and key != old and self.instance.citations.exists():
            cited = self.instance.citations.values("question").distinct().count()
            raise ValidationError(
                f"{cited} question(s) cite this reference as [@{old}] in their explanations; "
                "renaming it would break those citations. Add a new reference instead.",
                code="cited_key",
            )
        return key


@admin.register(Reference)
class ReferenceAdmin(HistoryIdsMixin, CheckedActionsMixin, SimpleHistoryAdmin):
    form = ReferenceAdminForm
    list_display = ["key", "authors", "title", "journal", "year", "is_verified", "citation_count"]
    list_filter = ["kind", "is_verified"]
    search_fields = ["key", "authors", "title", "journal", "doi", "pmid"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(citation_count=Count("citations"))

    @admin.display(description="cited by", ordering="citation_count")
    def citation_count(self, obj):
        return obj.citation_count


@admin.register(Topic)
class TopicAdmin(CheckedActionsMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "order", "question_count"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(question_count=Count("questions"))

    @admin.display(description="questions", ordering="question_count")
    def question_count(self, obj):
        return obj.question_count


class DiagramAdminForm(forms.ModelForm):
    """The drawing is its SVG text, pasted or uploaded as a file (which then replaces it);
    either way it is checked by ``validate_svg``."""

    svg_file = forms.FileField(
        label="SVG file",
        required=False,
        help_text="Upload a drawing to replace the SVG text below.",
    )

    class Meta:
        model = Diagram
        fields = ["slug", "title", "svg_file", "svg", "alt", "credit", "source_note"]
        widgets = {"svg": forms.Textarea(attrs={"rows": 6, "class": "vLargeTextField"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["svg"].required = False

    def clean(self):
        cleaned = super().clean() or {}
        upload = cleaned.get("svg_file")
        if upload:
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("svg_file", "The file is not UTF-8 text: is it an SVG?")
                return cleaned
            try:
                validate_svg(text)
            except ValidationError as exc:
                self.add_error("svg_file", exc)
                return cleaned
            cleaned["svg"] = text
            self.instance.svg = text
            self.errors.pop("svg", None)
        elif not cleaned.get("svg"):
            self.add_error("svg", "Paste the drawing's SVG, or upload it as a file.")
        return cleaned


@admin.register(Diagram)
class DiagramAdmin(HistoryIdsMixin, CheckedActionsMixin, SimpleHistoryAdmin):
    form = DiagramAdminForm
    list_display = ["slug", "title", "question_count", "credit"]
    search_fields = ["slug", "title", "alt", "source_note"]
    readonly_fields = ["preview"]
    fields = ["slug", "title", "preview", "svg_file", "svg", "alt", "credit", "source_note"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                question_count=Count("stem_questions", distinct=True)
                + Count("explanation_questions", distinct=True)
            )
        )

    @admin.display(description="used by (stem + explanation)", ordering=F("question_count"))
    def question_count(self, obj):
        return obj.question_count

    @admin.display(description="drawing")
    def preview(self, obj):
        if not obj.pk:
            return "Shown once saved."
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}" '
            'style="max-width: 100%; width: 36rem; background: #fff"></a>',
            obj.get_absolute_url(),
            obj.alt,
        )
