"""Authoring in the admin: questions with inline choices and citations, references, topics.

The forms apply the rules of ``questions.bank`` (the same ones ``validate_bank`` runs), so an
invalid question is refused with a message and nothing is saved: the admin saves the question
and its inlines in one transaction, only after every form and formset is valid.
Choice letters and citation numbers follow the order of the rows: authors never type them.
"""

import secrets

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import bank, cohorts, exchange, stats
from .accounts import EDUCATORS_GROUP
from .forms import IdChoiceField, is_database_id
from .models import (
    CHOICE_LETTERS,
    Assignment,
    Choice,
    Citation,
    Cohort,
    ErrorReport,
    Question,
    Reference,
    SiteSetting,
    Topic,
)


def _errors(problems: list[bank.Problem]) -> ValidationError:
    return ValidationError([ValidationError(p.message, code=p.code) for p in problems])


class SafeIdsMixin:
    """The admin's multiple selects refuse ids outside the database's range with the field's
    message (SQLite raised OverflowError, a 500, on an id of 2**63 or more)."""

    formfield_overrides = {models.ManyToManyField: {"form_class": IdChoiceField}}


class CheckedActionsMixin:
    """Django's admin queries the posted ``_selected_action`` ids unchecked: a non-numeric
    or out-of-range id is a 500. Keep only ids that can exist before the action runs."""

    def response_action(self, request, queryset):
        ids = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        valid = [i for i in ids if is_database_id(i)]
        if valid != ids:
            post = request.POST.copy()
            post.setlist(admin.helpers.ACTION_CHECKBOX_NAME, valid)
            request.POST = post
        return super().response_action(request, queryset)


class UnixNewlinesMixin:
    """Browsers submit textareas with CRLF line endings; store LF, as the bank files and
    imports do, so that exports, imports and diffs see no phantom change."""

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str) and "\r" in value:
                cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        return cleaned


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
            # The old key's own form saves it afterwards, and that save is what history records.
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
            "image_credit", "objective", "explanation",
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
        data = super().clean()
        upload, fmt = data.get("file"), data.get("format")
        if not upload:
            return data
        if upload.size > self.MAX_BYTES:
            raise ValidationError("The file is larger than 5 MB.", code="too_big")
        fmt = fmt or exchange.format_of(upload.name)
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
        reasons = bank.needing_attention(
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


# Django's own user and group admins, with the same range check on their multiple selects.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class SafeIdsUserAdmin(SafeIdsMixin, UserAdmin):
    pass


@admin.register(Group)
class SafeIdsGroupAdmin(SafeIdsMixin, GroupAdmin):
    pass


@admin.register(Question)
class QuestionAdmin(SafeIdsMixin, CheckedActionsMixin, SimpleHistoryAdmin):
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

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("topics")
        match = request.resolver_match
        if match is not None and match.url_name == "questions_question_changelist":
            # One aggregate query, then the reasons ride along as an annotation.
            flagged = stats.flagged_question_ids()
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
        edited = form.has_changed() or any(formset.has_changed() for formset in formsets)
        if edited or not change:
            # An update, not a save: the history already has this edit's version.
            form.instance.last_edited_by = request.user
            Question.objects.filter(pk=form.instance.pk).update(last_edited_by=request.user)
        if (
            change
            and edited
            and bank.back_to_review_if_published(
                question=form.instance, by=request.user, note="edited while published"
            )
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
            except bank.TransitionError as exc:
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
            lambda question: bank.change_status(question=question, to=to, by=request.user),
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
            lambda question: bank.mark_reviewed(question=question, by=request.user),
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
        context["related_changes"] = bank.choice_and_citation_changes(context["object"])
        return super().render_history_view(request, template, context, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """simple-history's own version page saves the old row back on POST, status and
        review date included, past ``bank.change_status`` (no second reader, no log): lead
        to the restore page, which sends a restored question back to review."""
        return redirect("admin:questions_question_restore", object_id, version_id)

    def _export(self, queryset, fmt: str):
        content_type, extension = exchange.FORMATS[fmt]
        text = exchange.export_questions(queryset, fmt)
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

    IMPORT_SESSION_KEY = "question-import"

    def import_view(self, request):
        """Upload a file and see what it would do (a dry run); then import it, from the copy
        kept in the session (so a large file is not posted back). Nothing is written while
        any row has a problem."""
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
        pending = request.session.get(self.IMPORT_SESSION_KEY)
        if request.method == "POST" and "apply" in request.POST:
            if not pending or request.POST.get("token") != pending["token"]:
                self.message_user(
                    request, "That check has expired: choose the file again.", messages.ERROR
                )
                return redirect("admin:questions_question_import")
            del request.session[self.IMPORT_SESSION_KEY]
            try:
                plan = exchange.import_questions(
                    pending["text"], pending["format"], dry_run=False, by=request.user,
                    as_admin=as_admin,
                )  # fmt: skip
            except exchange.ImportFailed as exc:  # the bank changed since the dry run
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
                plan = exchange.import_questions(
                    text, fmt, dry_run=True, by=request.user, as_admin=as_admin
                )
            except exchange.ImportFailed as exc:
                context["plan"] = exc.plan
            else:
                token = secrets.token_urlsafe(16)
                request.session[self.IMPORT_SESSION_KEY] = {
                    "token": token,
                    "text": text,
                    "format": fmt,
                }
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
            version = bank.version_of(question=question, history_id=history_id)
        except question.history.model.DoesNotExist as exc:
            raise Http404 from exc
        change_url = reverse("admin:questions_question_change", args=[question.pk])
        if request.method == "POST":
            try:
                bank.restore_version(question=question, history_id=history_id, by=request.user)
            except bank.TransitionError as exc:
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


@admin.register(SiteSetting)
class SiteSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_signup_open", "allows_self_review"]

    def has_add_permission(self, request):
        # One row: addable, by whoever holds the permission, only while it does not exist.
        return super().has_add_permission(request) and not SiteSetting.objects.exists()

    def get_readonly_fields(self, request, obj=None):
        # Self-review waives the second reviewer: only a superuser may turn it on.
        return [] if request.user.is_superuser else ["allows_self_review"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Cohort)
class CohortAdmin(SafeIdsMixin, CheckedActionsMixin, admin.ModelAdmin):
    """Educators manage the cohorts they follow; the creator becomes one of its educators.
    Residents are enrolled by their own join code (or by a superuser), never by an educator."""

    list_display = ["name", "program", "resident_count", "educator_count", "dashboard_link"]
    search_fields = ["name", "program"]
    filter_horizontal = ["educators", "residents"]

    def get_readonly_fields(self, request, obj=None):
        # Residents join with the code themselves; only a superuser may enrol or move one.
        if request.user.is_superuser:
            return []
        return ["residents", "join_code"]

    def get_queryset(self, request):
        return (
            cohorts.cohorts_for(request.user)
            .annotate(
                resident_count=Count("residents", distinct=True),
                educator_count=Count("educators", distinct=True),
            )
            .order_by("name")
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        User = db_field.related_model
        if db_field.name == "educators":
            # Only educators (and superusers) can be made a cohort's educators: making any
            # staff account one would hand it the residents' results.
            kwargs["queryset"] = (
                User.objects.filter(is_staff=True)
                .filter(Q(groups__name=EDUCATORS_GROUP) | Q(is_superuser=True))
                .distinct()
                .order_by("username")
            )
        elif db_field.name == "residents":
            kwargs["queryset"] = User.objects.filter(is_staff=False).order_by("username")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change and not request.user.is_superuser:
            form.instance.educators.add(request.user)

    @admin.display(description="residents", ordering="resident_count")
    def resident_count(self, obj):
        return obj.resident_count

    @admin.display(description="educators", ordering="educator_count")
    def educator_count(self, obj):
        return obj.educator_count

    @admin.display(description="dashboard")
    def dashboard_link(self, obj):
        url = reverse("questions:cohort_detail", args=[obj.pk])
        return format_html('<a href="{}">Open</a>', url)


@admin.register(Assignment)
class AssignmentAdmin(SafeIdsMixin, CheckedActionsMixin, admin.ModelAdmin):
    """Read-mostly: assignments are created on the cohort page (cohorts.create_assignment,
    which draws and checks their questions); here only the title, mode and dates change."""

    list_display = ["title", "cohort", "kind", "mode", "question_count", "opens_at", "due_at"]
    list_filter = [("cohort", admin.RelatedOnlyFieldListFilter), "mode", "kind"]
    search_fields = ["title", "cohort__name"]
    readonly_fields = ["cohort", "kind", "topics", "questions", "question_count", "created_by"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("cohort")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(cohort__in=cohorts.cohorts_for(request.user))


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
            obj.handled_by = request.user
        super().save_model(request, obj, form, change)

    def _decide(self, request, queryset, status):
        count = queryset.update(status=status, handled_by=request.user, updated_at=timezone.now())
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
