"""Cohorts and their assignments."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from questions.admin.mixins import CheckedActionsMixin, SafeIdsMixin
from questions.models import (
    Assignment,
    Cohort,
)
from questions.people import membership
from questions.people.roles import EDUCATORS_GROUP


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


@admin.register(Assignment)
class AssignmentAdmin(SafeIdsMixin, CheckedActionsMixin, admin.ModelAdmin):
    """Read-mostly: assignments are created on the cohort page (assignments.create_assignment,
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
        return queryset.filter(cohort__in=membership.cohorts_for(request.user))
