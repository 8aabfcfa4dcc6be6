"""Pages for educators: their cohorts, each resident's standing, assignments and their
item statistics. An educator sees only the cohorts they are listed on (a superuser sees
all); anything else is a 404, so the pages never reveal that a cohort or resident exists.
"""

import csv

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from questions.analytics import cohort_stats, item_stats, pages
from questions.forms import AssignmentForm
from questions.interchange.spreadsheets import csv_safe
from questions.models import Assignment, Attempt
from questions.people import membership
from questions.quizzes import assignments, drawing, engine


def _staff_only(request):
    if not request.user.is_staff:
        raise PermissionDenied


def _cohort_for(request, pk: int):
    _staff_only(request)
    return get_object_or_404(membership.cohorts_for(request.user), pk=pk)


def _resident_in(cohort, user_pk: int):
    return get_object_or_404(get_user_model(), pk=user_pk, cohorts=cohort)


@login_required
def cohort_list(request):
    _staff_only(request)
    rows = membership.cohorts_for(request.user).annotate(
        resident_count=Count("residents", distinct=True),
        assignment_count=Count("assignments", distinct=True),
    )
    return render(request, "questions/cohort_list.html", {"cohorts": rows})


@never_cache
@login_required
def cohort_detail(request, pk: int):
    cohort = _cohort_for(request, pk)
    table, topics = pages.cohort_figures(cohort)
    assignments = cohort.assignments.annotate(
        finished=Count("attempts", filter=Q(attempts__status=Attempt.Status.FINISHED))
    )
    return render(
        request,
        "questions/cohort_detail.html",
        {
            "cohort": cohort,
            "rows": table,
            "topics": topics,
            "assignments": assignments,
            "resident_count": len(table),
            "summary": cohort_stats.cohort_summary(table),
            "miss_mix": cohort_stats.cohort_miss_type_mix(cohort, table=table),
        },
    )


@login_required
def cohort_export(request, pk: int):
    """The cohort table as CSV: one row per resident, then percent correct per topic."""
    cohort = _cohort_for(request, pk)
    table, topics = pages.cohort_figures(cohort)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"cohort-{cohort.pk}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    header = ["username", "name", "attempts", "questions answered", "correct", "percent correct"]
    header += ["last activity"]
    for topic in topics:
        name = csv_safe(topic.name)
        header += [f"{name}: answered", f"{name}: percent correct"]
    writer.writerow(header)
    for row in table:
        user = row["user"]
        line = [
            csv_safe(user.get_username()),
            csv_safe(user.get_full_name()),
            row["attempts"],
            row["answered"],
            row["correct"],
            "" if row["percent"] is None else row["percent"],
            row["last_activity"].isoformat() if row["last_activity"] else "",
        ]
        for cell in row["topics"]:
            line += [cell["answered"], cell["percent"]] if cell else [0, ""]
        writer.writerow(line)
    return response


@never_cache
@login_required
def cohort_resident(request, pk: int, user_pk: int):
    cohort = _cohort_for(request, pk)
    subject = _resident_in(cohort, user_pk)
    context = pages.dashboard_context(subject, cohort=cohort)
    context.update(cohort=cohort, viewer_is_educator=True)
    return render(request, "questions/dashboard.html", context)


@never_cache
@login_required
def cohort_resident_attempt(request, pk: int, user_pk: int, attempt_pk: int):
    cohort = _cohort_for(request, pk)
    subject = _resident_in(cohort, user_pk)
    attempt = get_object_or_404(
        Attempt.objects.filter(user=subject).visible_to(cohort),
        pk=attempt_pk,
        status=Attempt.Status.FINISHED,
    )
    context = pages.results_context(attempt, withhold=False)  # educators see every key
    context.update(cohort=cohort, subject=subject, viewer_is_educator=True)
    return render(request, "questions/attempt_results.html", context)


@login_required
def assignment_new(request, pk: int):
    cohort = _cohort_for(request, pk)
    form = AssignmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            # The form's fields are create_assignment's keyword arguments, one for one.
            assignment = assignments.create_assignment(
                cohort=cohort, created_by=request.user, **form.cleaned_data
            )
        except drawing.PoolTooSmall as exc:
            form.add_error("question_count", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"“{assignment.title}” is set: {assignment.question_count} questions."
            )
            return redirect("questions:assignment_detail", cohort.pk, assignment.pk)
    return render(request, "questions/assignment_new.html", {"form": form, "cohort": cohort})


@never_cache
@login_required
def assignment_detail(request, pk: int, assignment_pk: int):
    cohort = _cohort_for(request, pk)
    assignment = get_object_or_404(Assignment, pk=assignment_pk, cohort=cohort)
    engine.expire_overdue(assignment.attempts.all())
    progress = cohort_stats.assignment_progress(assignment)
    assignment_stats = item_stats.item_analysis(item_stats.assignment_items(assignment))
    finished = [row["percent"] for row in progress if row["percent"] is not None]
    return render(
        request,
        "questions/assignment_detail.html",
        {
            "cohort": cohort,
            "assignment": assignment,
            "progress": progress,
            "finished_count": len(finished),
            "mean_percent": round(sum(finished) / len(finished), 1) if finished else None,
            "items": item_stats.item_analysis_rows(assignment.questions.all(), assignment_stats),
            "reliability": item_stats.reliability(assignment, assignment_stats),
            "min_responses": item_stats.MIN_RESPONSES_FOR_FLAGS,
        },
    )
