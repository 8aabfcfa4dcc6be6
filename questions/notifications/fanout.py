"""Who is told what, for each event. Each function reads the event's objects as they are
when the job runs (an assignment deleted or archived meanwhile tells nobody), builds one
Message per person, and calls ``outbox.notify`` with the event's key, so that running it
twice tells nobody twice. They return how many people were offered a notification.

Links: a new or due assignment leads to its start screen; released results to the
resident's results; an answered report to their reports; the digest to the cohort pages (or the
admin's queue of new reports)."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from questions.models import (
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    ErrorReport,
    Notification,
)
from questions.notifications.outbox import Message, notify
from questions.people.roles import EDUCATORS_GROUP

Kind = Notification.Kind

DUE_SOON = datetime.timedelta(hours=24)
# The decisions a resident is told about (a report moved back to "new" tells nobody).
DECIDED = (ErrorReport.Status.ACCEPTED, ErrorReport.Status.REJECTED, ErrorReport.Status.FIXED)


def _when(moment: datetime.datetime, cohort: Cohort) -> str:
    """A date as the cohort reads it: its own time zone."""
    local = timezone.localtime(moment, cohort.tzinfo)
    return local.strftime("%a %d %b %Y, %H:%M ") + (local.tzname() or "")


def _live(assignment_id: int) -> Assignment | None:
    return (
        Assignment.objects.filter(pk=assignment_id, archived_at__isnull=True)
        .select_related("cohort")
        .first()
    )


def assignment_set(*, assignment_id: int, now: datetime.datetime) -> int:
    """A new assignment: every resident of its cohort (nobody, once it has closed: the job
    ran late, or it was set for the record after the fact)."""
    assignment = _live(assignment_id)
    if assignment is None or assignment.last_due_at <= now:
        return 0
    cohort = assignment.cohort
    opens = "" if assignment.opens_at <= now else f"Opens {_when(assignment.opens_at, cohort)}. "
    message = Message(
        title=f"New assignment: {assignment.title}",
        body=f"{cohort.name}: {assignment.question_count} questions. {opens}"
        f"Due {_when(assignment.due_at, cohort)}.",
        url=reverse("questions:assignment_start", args=[assignment.pk]),
    )
    return notify(
        users=cohort.residents.all(),
        kind=Kind.ASSIGNMENT_SET,
        key=f"assignment-set:{assignment.pk}",
        message=message,
        now=now,
    )


def due_soon(*, now: datetime.datetime) -> int:
    """Every resident whose own due date for an open assignment (the assignment's, or a
    later one an educator granted) is within DUE_SOON, who has not started it."""
    horizon = now + DUE_SOON
    window = Q(due_at__gt=now, due_at__lte=horizon)
    granted_window = Q(grants__due_at__gt=now, grants__due_at__lte=horizon)
    assignments = (
        Assignment.objects.filter(archived_at__isnull=True, opens_at__lte=now)
        .filter(window | granted_window)
        .select_related("cohort")
        .distinct()
    )
    told = 0
    for assignment in assignments:
        granted = AssignmentGrant.objects.filter(assignment=assignment, due_at__isnull=False)
        own_due: dict[int, datetime.datetime] = {
            grant.resident_id: grant.due_at for grant in granted if grant.due_at is not None
        }
        residents = assignment.cohort.residents.exclude(attempts__assignment=assignment)
        due_now = [
            user for user in residents if now < own_due.get(user.pk, assignment.due_at) <= horizon
        ]
        messages = {
            user.pk: Message(
                title=f"Due soon: {assignment.title}",
                body=f"You have not started it. Due "
                f"{_when(own_due.get(user.pk, assignment.due_at), assignment.cohort)}.",
                url=reverse("questions:assignment_start", args=[assignment.pk]),
            )
            for user in due_now
        }
        told += notify(
            users=due_now,
            kind=Kind.ASSIGNMENT_DUE,
            key=f"assignment-due:{assignment.pk}",
            message=messages,
            now=now,
        )
    return told


def results_released(*, assignment_id: int, now: datetime.datetime) -> int:
    """Results released: every resident who finished the assignment, to their results (the
    latest finished attempt). Nobody while they are not released (a job run early). An
    archived assignment's results are still theirs to read, so they are told too."""
    assignment = Assignment.objects.filter(pk=assignment_id).select_related("cohort").first()
    if assignment is None or not assignment.results_released(now):
        return 0
    latest: dict[int, Attempt] = {}
    finished = Attempt.objects.finished().filter(assignment=assignment).select_related("user")
    for attempt in finished.order_by("finished_at", "pk"):
        latest[attempt.user_id] = attempt
    messages = {
        user_id: Message(
            title=f"Results released: {assignment.title}",
            body=f"Your score and the explanations of {assignment.title} are ready.",
            url=attempt.results_url(),
        )
        for user_id, attempt in latest.items()
    }
    return notify(
        users=[attempt.user for attempt in latest.values()],
        kind=Kind.RESULTS_RELEASED,
        key=f"results-released:{assignment.pk}",
        message=messages,
        now=now,
    )


def report_answered(*, report_id: int, now: datetime.datetime) -> int:
    """An educator's decision on an error report: its reporter, once per decision."""
    report = (
        ErrorReport.objects.filter(pk=report_id, status__in=DECIDED)
        .select_related("question", "reporter")
        .first()
    )
    if report is None:
        return 0
    reply = f" “{report.reply}”" if report.reply else ""
    message = Message(
        title=f"Your report on “{Truncator(report.question.lead_in).chars(60)}”: "
        f"{report.get_status_display()}",
        body=f"You reported: {report.get_kind_display()}.{reply}"[:2000],
        url=reverse("questions:error_report_list"),
    )
    return notify(
        users=[report.reporter],
        kind=Kind.REPORT_ANSWERED,
        key=f"report-answered:{report.pk}:{report.status}",
        message=message,
        now=now,
    )


def local_day(now: datetime.datetime) -> datetime.date:
    """The day a digest is for: the date in the site's default cohort time zone
    (settings.COHORT_TIME_ZONE), as the scheduler's daily slot names it."""
    return now.astimezone(zoneinfo.ZoneInfo(settings.COHORT_TIME_ZONE)).date()


def educators():
    """Who gets the digest: active staff in the Educators group or following a cohort."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(groups__name=EDUCATORS_GROUP) | Q(taught_cohorts__isnull=False))
        .distinct()
    )


def daily_digest(*, day: datetime.date, now: datetime.datetime) -> int:
    """An educator's daily digest: the error reports waiting for a decision (every educator
    maintains the bank) and their cohorts' assignments closing within DUE_SOON. Nobody with
    nothing in either; at most one digest a person a day."""
    waiting = ErrorReport.objects.filter(status=ErrorReport.Status.NEW).count()
    closing = list(
        Assignment.objects.filter(
            archived_at__isnull=True, due_at__gt=now, due_at__lte=now + DUE_SOON
        )
        .select_related("cohort")
        .prefetch_related("cohort__educators")
        .order_by("due_at")
    )
    messages, recipients = {}, []
    for educator in educators():
        theirs = [a for a in closing if educator in a.cohort.educators.all()]
        if not (waiting or theirs):
            continue
        lines = [f"{waiting} error report(s) waiting for a decision."] if waiting else []
        lines += [f"Closing: {a.title} ({a.cohort.name}), due {_when(a.due_at, a.cohort)}."
                  for a in theirs]  # fmt: skip
        cohorts = {a.cohort_id for a in theirs}
        if len(cohorts) == 1:
            url = reverse("questions:cohort_detail", args=[cohorts.pop()])
        elif cohorts:
            url = reverse("questions:cohort_list")
        else:  # only reports: the admin's queue of new ones
            url = reverse("admin:questions_errorreport_changelist") + "?status__exact=new"
        messages[educator.pk] = Message(
            title=f"Daily digest: {waiting} report(s) waiting, {len(theirs)} assignment(s) closing",
            body="\n".join(lines),
            url=url,
        )
        recipients.append(educator)
    return notify(
        users=recipients,
        kind=Kind.DIGEST,
        key=f"digest:{day.isoformat()}",
        message=messages,
        now=now,
    )
