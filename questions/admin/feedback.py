"""Error reports from residents and the educator's decision on each."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Value
from django.urls import reverse
from django.utils.html import format_html

from questions.admin.mixins import CheckedActionsMixin
from questions.forms import is_database_id
from questions.models import (
    Cohort,
    ErrorReport,
)
from questions.people import membership
from questions.quizzes import error_reports as reports

# The reporter lookups a filter by person may take: one id (``?reporter=7``), or a list
# (``?reporter__in=7,8``). Anything else on the reporter (ranges, isnull, names) groups
# reports by people the educator may not see named.
ONE_ID = ("", "exact", "id", "id__exact", "pk", "pk__exact")
ID_LIST = ("in", "id__in", "pk__in")


class ErrorReportForm(forms.ModelForm):
    class Meta:
        model = ErrorReport
        fields = ["status", "reply"]

    def clean_status(self):
        status = self.cleaned_data["status"]
        report = self.instance
        if (
            status == ErrorReport.Status.NEW
            and ErrorReport.objects.filter(
                reporter_id=report.reporter_id,
                question_id=report.question_id,
                kind=report.kind,
                status=ErrorReport.Status.NEW,
            )
            .exclude(pk=report.pk)
            .exists()
        ):
            raise ValidationError(
                "This resident has a newer open report of the same kind on this question; "
                "handle that one instead.",
                code="duplicate_open_report",
            )
        return status


@admin.register(ErrorReport)
class ErrorReportAdmin(CheckedActionsMixin, admin.ModelAdmin):
    """The queue of residents' reports: newest first, filtered by status; each links to its
    question. Saving a decision records who handled it; the reply is shown to the resident."""

    list_display = ["created_at", "question_link", "kind", "status", "reported_by", "comment_short"]
    list_filter = ["status", "kind"]
    search_fields = ["question__key", "comment", "reporter__username"]
    list_select_related = ["question", "reporter"]
    fields = [
        "question_link", "kind", "comment", "reported_by", "shown_wording", "created_at",
        "status", "reply", "handled_by",
    ]  # fmt: skip
    readonly_fields = [
        "question_link", "kind", "comment", "reported_by", "shown_wording", "created_at",
        "handled_by",
    ]  # fmt: skip
    actions = ["mark_accepted", "mark_rejected", "mark_fixed"]
    form = ErrorReportForm

    def has_add_permission(self, request):
        return False

    # Every educator maintains the bank, so every report is in the queue; but who sent it is
    # a resident's result, shown only to the educators of that resident's cohorts.
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset.annotate(reporter_visible=Value(True))
        followed = Cohort.residents.through.objects.filter(
            user_id=OuterRef("reporter_id"), cohort__educators=request.user
        )
        return queryset.annotate(reporter_visible=Exists(followed))

    def lookup_allowed(self, lookup, value, request=None):
        """Filtering by reporter groups a resident's reports even while their name is hidden:
        an educator may filter by the residents of their own cohorts only (a superuser, by
        anyone). A refused lookup is Django's 400 (DisallowedModelAdminLookup), for an
        account outside the cohorts and a missing one alike, so it confirms nothing. The
        attempt item is refused too: its id belongs to one resident's quiz."""
        if request is None or request.user.is_superuser:
            return super().lookup_allowed(lookup, value, request)
        field, _, rest = lookup.partition("__")
        if field in ("attempt_item", "attempt_item_id"):
            return False
        if field in ("reporter", "reporter_id"):
            if rest in ONE_ID:
                ids = [value]
            elif rest in ID_LIST:
                ids = value.split(",")
            else:
                return False
            return self._follows_all(request.user, ids)
        return super().lookup_allowed(lookup, value, request)

    @staticmethod
    def _follows_all(user, ids: list[str]) -> bool:
        """Whether every id is a resident of a cohort ``user`` follows."""
        if not ids or not all(is_database_id(i) for i in ids):
            return False
        followed = (
            Cohort.residents.through.objects.filter(
                user_id__in=ids, cohort__in=membership.cohorts_for(user)
            )
            .values("user_id")
            .distinct()
            .count()
        )
        return followed == len({int(i) for i in ids})

    def get_search_fields(self, request):
        if request.user.is_superuser:
            return self.search_fields
        return [f for f in self.search_fields if not f.startswith("reporter__")]

    @admin.display(description="reported by")
    def reported_by(self, obj):
        if obj.reporter_visible:
            return obj.reporter.get_username()
        return "a resident outside your cohorts"

    @admin.display(description="question")
    def question_link(self, obj):
        url = reverse("admin:questions_question_change", args=[obj.question_id])
        preview = reverse("questions:question_preview", args=[obj.question_id])
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">preview</a>)', url, obj.question.key, preview
        )

    @admin.display(description="comment")
    def comment_short(self, obj):
        return obj.comment if len(obj.comment) <= 80 else obj.comment[:79] + "…"

    @admin.display(description="as the resident saw it")
    def shown_wording(self, obj):
        if obj.attempt_item is None:
            return "-"
        shown = obj.attempt_item.shown
        choices = "; ".join(
            f"{c['letter']}. {c['text']}{' (key)' if c['is_correct'] else ''}"
            for c in shown["choices"]
        )
        answer = obj.attempt_item.selected_letter or "none"
        return f"{shown['lead_in']} Choices: {choices}. Their answer: {answer}."

    def save_model(self, request, obj, form, change):
        if change and {"status", "reply"} & set(form.changed_data):
            reports.decide_report(report=obj, status=obj.status, reply=obj.reply, by=request.user)
        else:  # nothing decided: saved as it was (reports are never added here)
            super().save_model(request, obj, form, change)

    def _decide(self, request, queryset, status):
        count = reports.decide_reports(reports=queryset, status=status, by=request.user)
        label = ErrorReport.Status(status).label.lower()
        self.message_user(request, f"{count} report(s) marked {label}.", messages.SUCCESS)

    @admin.action(description="Mark selected reports accepted", permissions=["change"])
    def mark_accepted(self, request, queryset):
        self._decide(request, queryset, ErrorReport.Status.ACCEPTED)

    @admin.action(description="Mark selected reports rejected", permissions=["change"])
    def mark_rejected(self, request, queryset):
        self._decide(request, queryset, ErrorReport.Status.REJECTED)

    @admin.action(description="Mark selected reports fixed", permissions=["change"])
    def mark_fixed(self, request, queryset):
        self._decide(request, queryset, ErrorReport.Status.FIXED)
