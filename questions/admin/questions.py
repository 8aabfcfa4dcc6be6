"""The question admin: authoring with inline choices and citations, the editorial workflow's
actions, history and restore, item statistics, and import and export."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from questions.admin.mixins import (
    CheckedActionsMixin,
    HistoryIdsMixin,
    SafeIdsMixin,
    StoredImagesMixin,
    require_ids,
)
from questions.admin.question_forms import (
    ChoiceInline,
    CitationInline,
    ImportForm,
    ItemAnalysisFilter,
    NeedsReviewFilter,
    QuestionAdminForm,
)
from questions.analytics import item_stats
from questions.authoring import edits, versions, workflow
from questions.interchange import staging, transfer
from questions.models import (
    Diagram,
    Question,
    Reference,
    Topic,
)
from questions.people import limits as rate_limits


@admin.register(Question)
class QuestionAdmin(
    StoredImagesMixin, HistoryIdsMixin, SafeIdsMixin, CheckedActionsMixin, SimpleHistoryAdmin
):
    form = QuestionAdminForm
    inlines = [ChoiceInline, CitationInline]
    list_display = [
        "key", "lead_in_short", "status", "difficulty", "topic_list", "last_reviewed_on",
        "item_flag_display", "preview_link",
    ]  # fmt: skip
    list_filter = ["status", NeedsReviewFilter, ItemAnalysisFilter, "difficulty", "topics"]
    search_fields = ["key", "stem", "lead_in", "explanation"]
    filter_horizontal = ["topics"]
    readonly_fields = [
        "status", "author", "last_edited_by", "last_reviewed_on", "created_at", "updated_at",
        "preview_link", "status_log",
    ]  # fmt: skip
    actions = [
        "send_to_review", "publish", "retire", "return_to_draft", "mark_reviewed",
        "export_json", "export_csv", "export_moodle",
    ]  # fmt: skip
    change_list_template = "admin/questions/question/change_list.html"
    fieldsets = [
        (None, {"fields": ["key", "status", "difficulty", "topics"]}),
        ("Question", {"fields": ["stem", "lead_in"]}),
        (
            "Image (optional)",
            {
                "fields": ["image", "image_alt", "image_credit"],
                "description": "Opens larger on click and scales on phones. Alt text and "
                "credit are required with an image.",
            },
        ),
        (
            "Diagrams (optional)",
            {
                "fields": ["stem_diagram", "explanation_diagram"],
                "description": "Original diagrams from the bank's diagram list: one shown "
                "with the question (it must not give the answer away), one with the "
                "explanation once the answer is locked.",
            },
        ),
        ("Teaching", {"fields": ["objective", "explanation"]}),
        (
            "Record",
            {
                "fields": [
                    "author",
                    "last_edited_by",
                    "last_reviewed_on",
                    "created_at",
                    "updated_at",
                    "preview_link",
                    "status_log",
                ]
            },  # fmt: skip
        ),
    ]
    history_list_display = ["status"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("stem_diagram", "explanation_diagram"):
            kwargs["queryset"] = Diagram.objects.defer("svg")  # the list needs titles only
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("topics")
        match = request.resolver_match
        if match is not None and match.url_name == "questions_question_changelist":
            # One aggregate query, then the reasons ride along as an annotation.
            flagged = item_stats.flagged_question_ids()
            queryset = queryset.annotate(
                item_flag=Case(
                    *(When(pk=pk, then=Value("; ".join(r))) for pk, r in flagged.items()),
                    default=Value(""),
                    output_field=CharField(),
                )
            )
        return queryset

    @admin.display(description="item analysis")
    def item_flag_display(self, obj):
        reasons = getattr(obj, "item_flag", "")
        if not reasons:
            return ""
        url = reverse("questions:item_analysis")
        return format_html('<a href="{}" title="{}">⚠ flagged</a>', url, reasons)

    @admin.display(description="lead-in")
    def lead_in_short(self, obj):
        return obj.lead_in if len(obj.lead_in) <= 70 else obj.lead_in[:69] + "…"

    @admin.display(description="topics")
    def topic_list(self, obj):
        return ", ".join(t.name for t in obj.topics.all())

    @admin.display(description="status log")
    def status_log(self, obj):
        """Who moved the question between statuses (and re-reviewed it), newest first."""
        if not obj.pk:
            return "-"
        rows = [
            (
                timezone.localtime(c.changed_at).strftime("%d %b %Y %H:%M"),
                str(c.changed_by or "(command)"),
                c.get_from_status_display(),
                c.get_to_status_display(),
                c.note,
            )
            for c in obj.status_changes.select_related("changed_by")[:20]
        ]
        if not rows:
            return "No status change recorded yet."
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}: {} moved it from {} to {} {}</li>", rows),
        )

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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if edits.record_edit(
            question=form.instance,
            by=request.user,
            is_new=not change,
            has_changed=form.has_changed() or any(f.has_changed() for f in formsets),
        ):
            self.message_user(
                request,
                "It was published, so it went back to review: another educator republishes "
                "it (residents do not get it meanwhile).",
                messages.WARNING,
            )

    def _apply(self, request, queryset, act, *, refused: str, done: str) -> None:
        """Run ``act(question)`` on each selected question, saying which were refused and
        why (``refused``: "Not moved"), then how many went through (``done``: "{n}
        question(s) ...")."""
        count = 0
        for question in queryset:
            try:
                act(question)
            except workflow.TransitionError as exc:
                self.message_user(
                    request, f"{refused}: {question.key}. {exc.detail}", messages.ERROR
                )
            else:
                count += 1
        if count:
            self.message_user(request, done.format(n=count), messages.SUCCESS)

    def _move(self, request, queryset, to: str):
        label = Question.Status(to).label.lower()
        self._apply(
            request,
            queryset,
            lambda question: workflow.change_status(question=question, to=to, by=request.user),
            refused="Not moved",
            done=f"{{n}} question(s) moved to {label}.",
        )

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

    @admin.action(
        description="Mark selected published questions reviewed today (still accurate)",
        permissions=["change"],
    )
    def mark_reviewed(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda question: workflow.mark_reviewed(question=question, by=request.user),
            refused="Not marked",
            done="{n} question(s) marked reviewed.",
        )

    # History: simple-history's own "revert" restores the question's fields only; ours
    # restores a version with its choices and citations, after showing it.
    object_history_list_template = "admin/questions/question/object_history_list.html"

    def revert_disabled(self, request, obj=None):
        return True

    def render_history_view(self, request, template, context, **kwargs):
        # Here, after simple-history has found the question and checked permissions.
        context["related_changes"] = versions.choice_and_citation_changes(context["object"])
        return super().render_history_view(request, template, context, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """simple-history's own version page saves the old row back on POST, status and
        review date included, past ``workflow.change_status`` (no second reader, no log): lead
        to the restore page, which sends a restored question back to review."""
        require_ids(object_id, version_id)  # the restore page's URL takes whole numbers only
        return redirect("admin:questions_question_restore", object_id, version_id)

    def _export(self, queryset, fmt: str):
        content_type, extension = transfer.FORMATS[fmt]
        text = transfer.export_questions(queryset, fmt)
        response = HttpResponse(text, content_type=content_type)
        filename = f"questions-{timezone.localdate():%Y-%m-%d}.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.action(description="Export selected questions as JSON (with their references)")
    def export_json(self, request, queryset):
        return self._export(queryset, "json")

    @admin.action(description="Export selected questions as CSV")
    def export_csv(self, request, queryset):
        return self._export(queryset, "csv")

    @admin.action(description="Export selected questions as Moodle XML")
    def export_moodle(self, request, queryset):
        return self._export(queryset, "moodle")

    @method_decorator(rate_limits.rate_limited(rate_limits.IMPORT_PER_ACCOUNT))
    def import_view(self, request):
        """Upload a file and see what it would do (a dry run); then import it, from the copy
        staged under a token in the confirm form (so a large file is not posted back).
        Nothing is written while any row has a problem."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        as_admin = request.user.is_superuser
        form = ImportForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import questions",
            "form": form,
            "as_admin": as_admin,
        }
        if request.method == "POST" and "apply" in request.POST:
            staged = staging.take_staged_import(
                token=request.POST.get("token"), user_id=request.user.pk
            )
            if staged is None:
                self.message_user(
                    request, "That check has expired: choose the file again.", messages.ERROR
                )
                return redirect("admin:questions_question_import")
            try:
                plan = transfer.import_questions(
                    staged.text, staged.fmt, dry_run=False, by=request.user, as_admin=as_admin
                )
            except transfer.ImportFailed as exc:  # the bank changed since the dry run
                context["plan"] = exc.plan
                return TemplateResponse(request, "admin/questions/question/import.html", context)
            summary = (
                f"Imported: {len(plan.created)} created, {len(plan.changed)} changed, "
                f"{len(plan.unchanged)} unchanged."
            )
            if plan.sent_to_review:
                summary += f" {len(plan.sent_to_review)} published question(s) went back to review."
            self.message_user(request, summary, messages.SUCCESS)
            return redirect("admin:questions_question_changelist")
        if request.method == "POST" and form.is_valid():
            text, fmt = form.cleaned_data["text"], form.cleaned_data["format"]
            try:
                plan = transfer.import_questions(
                    text, fmt, dry_run=True, by=request.user, as_admin=as_admin
                )
            except transfer.ImportFailed as exc:
                context["plan"] = exc.plan
            else:
                token = staging.stage_import(text=text, fmt=fmt, user_id=request.user.pk)
                context.update(plan=plan, token=token)
        return TemplateResponse(request, "admin/questions/question/import.html", context)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="questions_question_import",
            ),
            path(
                "<int:object_id>/history/<int:history_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="questions_question_restore",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, object_id: int, history_id: int):
        if not self.has_change_permission(request):  # before the lookup: confirm nothing
            raise PermissionDenied
        question = get_object_or_404(Question, pk=object_id)
        if not self.has_change_permission(request, question):
            raise PermissionDenied
        try:
            version = versions.version_of(question=question, history_id=history_id)
        except question.history.model.DoesNotExist as exc:
            raise Http404 from exc
        change_url = reverse("admin:questions_question_change", args=[question.pk])
        if request.method == "POST":
            try:
                versions.restore_version(question=question, history_id=history_id, by=request.user)
            except workflow.TransitionError as exc:
                self.message_user(request, f"Not restored. {exc.detail}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Restored the version of {version.record.history_date:%d %b %Y %H:%M}.",
                    messages.SUCCESS,
                )
                return redirect(change_url)
        references = Reference.objects.in_bulk([ref for ref, _ in version.citations])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Restore an earlier version of {question.key}",
            "question": question,
            "version": version,
            "topics": Topic.objects.filter(pk__in=version.topic_ids),
            "citations": [(references.get(ref), locator) for ref, locator in version.citations],
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/questions/question/restore.html", context)
