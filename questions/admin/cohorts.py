"""Cohorts and their assignments; the educators' accommodations and grants, and the
cohort's change log, to read (they change on the cohort pages, through quizzes.control,
which logs each change)."""

import contextlib
import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from questions.admin.mixins import CheckedActionsMixin, SafeIdsMixin
from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Cohort,
    CohortLogEntry,
)
from questions.people import membership
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import control


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
            membership.cohorts_for(request.user)
            .annotate(
                resident_count=Count("residents", distinct=True),
                educator_count=Count("educators", distinct=True),
            )
            .order_by("name")
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":  # a list to choose from, not a name to type
            zones = sorted(zoneinfo.available_timezones())
            return forms.TypedChoiceField(
                choices=[(zone, zone) for zone in zones],
                initial=db_field.get_default(),
                label="Time zone",
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:  # with its members, and its creator among its educators
            membership.create_cohort(
                cohort=obj,
                by=request.user,
                educators=form.cleaned_data.get("educators", ()),
                residents=form.cleaned_data.get("residents", ()),
            )

    def save_related(self, request, form, formsets, change):
        if change:  # a new cohort's members were saved with it, by save_model
            super().save_related(request, form, formsets, change)

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


class AssignmentAdminForm(forms.ModelForm):
    """Refuses here what control.edit_assignment would refuse at save, so the educator
    gets the form back with the reason rather than a message after the fact."""

    class Meta:
        model = Assignment
        fields = ["title", "opens_at", "due_at", "release"]

    def clean(self):
        data = super().clean() or {}
        due = data.get("due_at")
        if due and "due_at" in self.changed_data and due <= timezone.now():
            self.add_error(
                "due_at", "The new due date has passed; to end the assignment now, close it."
            )
        return data


@admin.register(Assignment)
class AssignmentAdmin(SafeIdsMixin, CheckedActionsMixin, admin.ModelAdmin):
    """Assignments are created on the cohort page (assignments.create_assignment, which
    draws and checks their questions). Here an educator of the cohort changes the title,
    dates and release, through control.edit_assignment as on the cohort page: attempts in
    progress follow a moved due date, and the change is logged. Dates are entered and shown
    in the cohort's time zone."""

    form = AssignmentAdminForm
    list_display = ["title", "cohort", "kind", "mode", "question_count", "opens_at", "due_at"]
    list_filter = [("cohort", admin.RelatedOnlyFieldListFilter), "mode", "kind"]
    search_fields = ["title", "cohort__name"]
    fields = [
        "title",
        "cohort",
        "time_zone",
        "opens_at",
        "due_at",
        "release",
        "released_at",
        "archived_at",
        "kind",
        "mode",
        "time_limit_minutes",
        "question_count",
        "topics",
        "questions",
        "created_by",
    ]
    readonly_fields = [
        "cohort",
        "time_zone",
        "kind",
        "mode",
        "time_limit_minutes",
        "topics",
        "questions",
        "question_count",
        "released_at",
        "archived_at",
        "created_by",
    ]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("cohort")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(cohort__in=membership.cohorts_for(request.user))

    @admin.display(description="time zone")
    def time_zone(self, obj):
        return f"{obj.cohort.time_zone}: the dates below are in this zone"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The cohort's clock, for what the form shows and for what is typed into it.
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        zone = timezone.override(obj.cohort.tzinfo) if obj else contextlib.nullcontext()
        with zone:
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:  # never: adding is refused above
            return super().save_model(request, obj, form, change)
        try:
            changed = control.edit_assignment(
                assignment=Assignment.objects.get(pk=obj.pk),
                actor=request.user,
                title=obj.title,
                opens_at=obj.opens_at,
                due_at=obj.due_at,
                release=obj.release,
            )
        except ValidationError as exc:  # the form checked first: a change made meanwhile
            messages.error(request, "Not saved: " + " ".join(exc.messages))
            return None
        if changed:
            messages.info(request, f"{changed} attempt(s) in progress follow the new due date.")
        return None

    def save_related(self, request, form, formsets, change):
        """Nothing: the questions and topics are fixed once set."""


class CohortRecordAdmin(admin.ModelAdmin):
    """Read-only for the educators of the record's cohort: made by quizzes.control on the
    cohort pages, which logs each change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    # Deleting stays with the permission (a superuser's): deleting a cohort or an
    # assignment deletes its records with it.

    cohort_path = "cohort"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.cohort_path}__in": membership.cohorts_for(request.user)})


@admin.register(Accommodation)
class AccommodationAdmin(CohortRecordAdmin):
    list_display = ["resident", "cohort", "time_setting", "note", "granted_by", "granted_at"]
    list_filter = [("cohort", admin.RelatedOnlyFieldListFilter), "time_setting"]
    list_select_related = ["resident", "cohort", "granted_by"]


@admin.register(AssignmentGrant)
class AssignmentGrantAdmin(CohortRecordAdmin):
    cohort_path = "assignment__cohort"
    list_display = [
        "resident",
        "assignment",
        "due_at",
        "extra_minutes",
        "extra_attempts",
        "note",
        "granted_by",
        "granted_at",
    ]
    list_select_related = ["resident", "assignment", "granted_by"]


@admin.register(CohortLogEntry)
class CohortLogEntryAdmin(CohortRecordAdmin):
    list_display = ["at", "cohort", "assignment", "actor", "action", "summary"]
    list_filter = [("cohort", admin.RelatedOnlyFieldListFilter), "action"]
    list_select_related = ["cohort", "assignment", "actor"]
    search_fields = ["summary"]
