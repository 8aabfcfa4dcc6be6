"""References and topics."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from questions.admin.mixins import CheckedActionsMixin
from questions.models import (
    Reference,
    Topic,
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
class ReferenceAdmin(CheckedActionsMixin, SimpleHistoryAdmin):
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
