"""Pages for educators: their cohorts, each resident's standing, assignments and their
item statistics, and the control of an assignment once set (edit, close, release, archive,
one resident's extension or further attempt, the cohort's time accommodations), each a
call of ``quizzes.control``. An educator sees only the cohorts they are listed on (a
superuser sees all); anything else is a 404, so the pages never reveal that a cohort or
resident exists. Dates are entered and shown in the cohort's time zone.
"""

import csv

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from questions.analytics import cohort_stats, item_stats, pages
from questions.forms import (
    AccommodationForm,
    AssignmentEditForm,
    AssignmentForm,
    AttemptGrantForm,
    ExtensionForm,
)
from questions.interchange.spreadsheets import csv_safe
from questions.models import Assignment, Attempt
from questions.people import membership
from questions.quizzes import assignments, control, drawing, engine
from questions.replica import reads_from_replica


def _staff_only(request):
    if not request.user.is_staff:
        raise PermissionDenied


def _cohort_for(request, pk: int):
    _staff_only(request)
    return get_object_or_404(membership.cohorts_for(request.user), pk=pk)


def _resident_in(cohort, user_pk: int):
    return get_object_or_404(get_user_model(), pk=user_pk, cohorts=cohort)


def _assignment_in(cohort, assignment_pk: int) -> Assignment:
    return get_object_or_404(
        Assignment.objects.select_related("cohort"), pk=assignment_pk, cohort=cohort
    )


def _refusal(exc: ValidationError) -> str:
    return " ".join(exc.messages)


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
@reads_from_replica
def cohort_detail(request, pk: int):
    cohort = _cohort_for(request, pk)
    table, topics = pages.cohort_figures(cohort)
    accommodations = cohort_stats.accommodations_by_resident(cohort)
    for row in table:
        row["accommodation"] = accommodations.get(row["user"].pk)
    # Residents who finished, once each (a second attempt granted is not a second resident).
    assignments = cohort.assignments.annotate(
        finished=Count(
            "attempts__user",
            filter=Q(attempts__status=Attempt.Status.FINISHED),
            distinct=True,
        )
    )
    return render(
        request,
        "questions/cohort_detail.html",
        {
            "cohort": cohort,
            "now": timezone.now(),
            "rows": table,
            "topics": topics,
            "assignments": assignments,
            "log": cohort_stats.change_log(cohort, limit=10),
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
    """Set an assignment: a rule, or a fixed set chosen with the picker (search, topic and
    status filters, a count: js/picker.js over the full list, which works without it).
    Dates in the cohort's time zone, by default open now and due in a week at 23:59."""
    cohort = _cohort_for(request, pk)
    now = timezone.now()
    form = AssignmentForm(
        request.POST if request.method == "POST" else None, cohort=cohort, now=now
    )
    if request.method == "POST" and form.is_valid():
        try:
            assignment = assignments.create_assignment(
                cohort=cohort, created_by=request.user, **form.creation_arguments()
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
    chosen = {str(v) for v in (form["questions"].value() or [])}
    picker = cohort_stats.assignment_picker(cohort, now=now)
    for row in picker:
        row["checked"] = str(row["question"].pk) in chosen
    return render(
        request,
        "questions/assignment_new.html",
        {
            "form": form,
            "cohort": cohort,
            "picker": picker,
            "picker_topics": form.fields["topics"].queryset,
            "picker_statuses": cohort_stats.PICKER_STATUSES,
            "chosen_count": sum(1 for row in picker if row["checked"]),
        },
    )


def _monitor_context(assignment: Assignment, now) -> dict:
    engine.expire_overdue(assignment.attempts.all(), now=now)
    rows = cohort_stats.assignment_monitor(assignment, now=now)
    return {
        "assignment": assignment,
        "cohort": assignment.cohort,
        "monitor": rows,
        "progress": rows,  # its first name: each row's user, attempt and percent
        "monitor_counts": cohort_stats.monitor_counts(rows),
        "now": now,
    }


@never_cache
@login_required
def assignment_detail(request, pk: int, assignment_pk: int):
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    now = timezone.now()
    context = _monitor_context(assignment, now)
    assignment_stats = item_stats.item_analysis(item_stats.assignment_items(assignment))
    finished = [row["percent"] for row in context["monitor"] if row["percent"] is not None]
    context.update(
        {
            "finished_count": len(finished),
            "mean_percent": round(sum(finished) / len(finished), 1) if finished else None,
            "is_open": assignment.is_open(now),
            "has_opened": assignment.opens_at <= now,
            "is_closed": now > assignment.last_due_at,
            "results_released": assignment.results_released(now),
            "log": cohort_stats.change_log(cohort, assignment=assignment),
            "items": item_stats.item_analysis_rows(assignment.questions.all(), assignment_stats),
            "reliability": item_stats.reliability(assignment, assignment_stats),
            "min_responses": item_stats.MIN_RESPONSES_FOR_FLAGS,
        }
    )
    return render(request, "questions/assignment_detail.html", context)


@never_cache
@login_required
def assignment_monitor(request, pk: int, assignment_pk: int):
    """The monitor's table alone: what the assignment page polls (htmx, every 15 s)."""
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    response = render(
        request,
        "includes/_assignment_monitor.html",
        _monitor_context(assignment, timezone.now()) | {"is_fragment": True},
    )
    response["HX-Push-Url"] = "false"  # a fragment, not a page to go back to
    return response


@require_http_methods(["GET", "POST"])
@login_required
def assignment_edit(request, pk: int, assignment_pk: int):
    """Title, dates and release (control.edit_assignment); a due date moved earlier or
    later carries the attempts in progress with it, and the message says how many."""
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    form = AssignmentEditForm(
        request.POST if request.method == "POST" else None, assignment=assignment
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = control.edit_assignment(
                assignment=assignment, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            message = f"“{assignment.title}” is saved."
            if changed:
                message += (
                    f" {changed} attempt{'s' if changed != 1 else ''} in progress "
                    f"follow{'s' if changed == 1 else ''} the new due date."
                )
            messages.success(request, message)
            return redirect("questions:assignment_detail", cohort.pk, assignment.pk)
    return render(
        request,
        "questions/assignment_edit.html",
        {"form": form, "cohort": cohort, "assignment": assignment},
    )


@never_cache
@login_required
def assignment_preview(request, pk: int, assignment_pk: int):
    """The assignment as a resident sees it: the start screen's facts, then each question
    with its choices (in the bank's order, each resident's are shuffled), no key marked.
    Read-only: it starts nothing."""
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    questions = list(assignment.questions.published().with_bank_relations().order_by("key"))
    return render(
        request,
        "questions/assignment_preview.html",
        {
            "cohort": cohort,
            "assignment": assignment,
            "questions": questions,
            "dropped": assignment.question_count - len(questions),
            # The standard clock (no accommodation, no grant: no resident's).
            "clock_seconds": control.assignment_clock_seconds(
                assignment=assignment, resident=None, question_count=len(questions)
            ),
        },
    )


# What each confirmed action does: (its heading, what it will do, the button, the call).
ACTIONS = {
    "close": (
        "Close early",
        "The due date becomes now: nobody can start it any more, and every attempt in "
        "progress ends now and is scored as it stands. Residents' own later due dates end too.",
        "Close now",
        control.close_assignment,
    ),
    "release": (
        "Release the results",
        "Residents who finished see their scores and the explanations now, and are told. "
        "This cannot be taken back.",
        "Release results",
        control.release_results,
    ),
    "archive": (
        "Archive",
        "The assignment leaves residents' lists: nobody can start or resume it, attempts in "
        "progress end now. Results are kept, and so are its release rules: its questions stay "
        "held back from practice until its due date and release. You can restore it.",
        "Archive",
        control.archive_assignment,
    ),
    "unarchive": (
        "Restore from the archive",
        "The assignment is back on residents' lists with its dates as they are.",
        "Restore",
        control.unarchive_assignment,
    ),
}

DONE = {
    "close": "“{title}” is closed: {n} attempt(s) in progress ended.",
    "release": "The results of “{title}” are released.",
    "archive": "“{title}” is archived.",
    "unarchive": "“{title}” is restored from the archive.",
}


def _confirmed_action(request, pk: int, assignment_pk: int, action: str):
    """GET: what the action will do, and a button; POST: do it (post/redirect/get). A
    refusal (already closed, already released...) is said on the assignment page."""
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    heading, explanation, button, call = ACTIONS[action]
    if request.method == "POST":
        try:
            result = call(assignment=assignment, actor=request.user)
        except ValidationError as exc:
            messages.error(request, _refusal(exc))
        else:
            n = result if isinstance(result, int) else 0
            messages.success(request, DONE[action].format(title=assignment.title, n=n))
        return redirect("questions:assignment_detail", cohort.pk, assignment.pk)
    now = timezone.now()
    counts = cohort_stats.monitor_counts(cohort_stats.assignment_monitor(assignment, now=now))
    return render(
        request,
        "questions/assignment_confirm.html",
        {
            "cohort": cohort,
            "assignment": assignment,
            "heading": heading,
            "explanation": explanation,
            "button": button,
            "action_url": reverse(f"questions:assignment_{action}", args=[pk, assignment_pk]),
            "in_progress": counts["in_progress"] if action in ("close", "archive") else 0,
            "danger": action != "unarchive",
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def assignment_close(request, pk: int, assignment_pk: int):
    return _confirmed_action(request, pk, assignment_pk, "close")


@require_http_methods(["GET", "POST"])
@login_required
def assignment_release(request, pk: int, assignment_pk: int):
    return _confirmed_action(request, pk, assignment_pk, "release")


@require_http_methods(["GET", "POST"])
@login_required
def assignment_archive(request, pk: int, assignment_pk: int):
    return _confirmed_action(request, pk, assignment_pk, "archive")


@require_http_methods(["GET", "POST"])
@login_required
def assignment_unarchive(request, pk: int, assignment_pk: int):
    return _confirmed_action(request, pk, assignment_pk, "unarchive")


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def assignment_resident(request, pk: int, assignment_pk: int, user_pk: int):
    """One resident on one assignment: where they stand, their accommodation, what was
    granted them; an extension (their own later due date and/or extra minutes on their
    clock, control.grant_extension) or another attempt (control.grant_attempt). POST with
    ``grant`` = ``extension`` or ``attempt``."""
    cohort = _cohort_for(request, pk)
    assignment = _assignment_in(cohort, assignment_pk)
    resident = _resident_in(cohort, user_pk)
    posted = request.POST if request.method == "POST" else None
    grant = posted.get("grant") if posted else None
    extension = ExtensionForm(posted if grant == "extension" else None, cohort=cohort)
    attempt_form = AttemptGrantForm(posted if grant == "attempt" else None)
    if grant == "extension" and extension.is_valid():
        data = extension.cleaned_data
        try:
            control.grant_extension(
                assignment=assignment,
                resident=resident,
                actor=request.user,
                due_at=data["due_at"],
                extra_minutes=data["extra_minutes"] or 0,
                note=data["note"],
            )
        except ValidationError as exc:
            extension.add_error(None, exc)
        else:
            messages.success(request, f"Extension granted to {resident.get_username()}.")
            return redirect("questions:assignment_detail", cohort.pk, assignment.pk)
    elif grant == "attempt" and attempt_form.is_valid():
        try:
            control.grant_attempt(
                assignment=assignment,
                resident=resident,
                actor=request.user,
                note=attempt_form.cleaned_data["note"],
            )
        except ValidationError as exc:
            attempt_form.add_error(None, exc)
        else:
            messages.success(request, f"{resident.get_username()} may make another attempt.")
            return redirect("questions:assignment_detail", cohort.pk, assignment.pk)
    now = timezone.now()
    engine.expire_overdue(assignment.attempts.filter(user=resident), now=now)
    row = next(
        r for r in cohort_stats.assignment_monitor(assignment, now=now) if r["user"] == resident
    )
    return render(
        request,
        "questions/assignment_resident.html",
        {
            "cohort": cohort,
            "assignment": assignment,
            "resident": resident,
            "row": row,
            "extension": extension,
            "attempt_form": attempt_form,
            "is_timed": assignment.mode == Attempt.Mode.TIMED,
        },
        status=200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def cohort_accommodations(request, pk: int):
    """The cohort's time accommodations, one form per resident (control.set_accommodation):
    standard time, ×1.5, ×2 or untimed, with a note. They apply to attempts started from
    then on; an attempt in progress keeps its deadline (an extension changes that)."""
    cohort = _cohort_for(request, pk)
    posted = AccommodationForm(request.POST) if request.method == "POST" else None
    failed_pk = None
    if posted is not None:
        if posted.is_valid():
            resident = _resident_in(cohort, posted.cleaned_data["resident"])
            try:
                control.set_accommodation(
                    cohort=cohort,
                    resident=resident,
                    actor=request.user,
                    time_setting=posted.cleaned_data["time_setting"],
                    note=posted.cleaned_data["note"],
                )
            except ValidationError as exc:
                posted.add_error(None, exc)
                failed_pk = resident.pk
            else:
                messages.success(request, f"Time for {resident.get_username()} saved.")
                return redirect("questions:cohort_accommodations", cohort.pk)
        else:
            messages.error(request, "Choose a resident of the cohort and a time setting.")
    accommodations = cohort_stats.accommodations_by_resident(cohort)
    rows = []
    for resident in cohort.residents.order_by("username"):
        current = accommodations.get(resident.pk)
        form = (
            posted
            if posted is not None and failed_pk == resident.pk
            else AccommodationForm(
                initial={
                    "resident": resident.pk,
                    "time_setting": current.time_setting if current else "",
                    "note": current.note if current else "",
                },
                prefix=None,
            )
        )
        rows.append({"user": resident, "accommodation": current, "form": form})
    return render(
        request,
        "questions/cohort_accommodations.html",
        {"cohort": cohort, "rows": rows},
        status=200,
    )
