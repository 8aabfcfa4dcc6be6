"""Residents' error reports on questions, and educators' handling of them.

A resident reports a problem from a question's review page, that is, only once their
answer is locked (a report could otherwise fish for the key). One open report per
resident, question and kind. An educator moves a report to accepted, rejected or fixed,
with a reply the resident reads on their reports page.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from questions.learning import withholding
from questions.models import AttemptItem, ErrorReport
from questions.notifications import events


class ReportRefused(Exception):
    """Why a report was not recorded; the message is for the resident."""


@transaction.atomic
def report_problem(
    *,
    user,
    item: AttemptItem,
    kind: str,
    comment: str,
    now: datetime.datetime | None = None,
) -> ErrorReport:
    """Record ``user``'s report on the question of ``item`` (their own, locked item).
    Not while its key is held back from them (an assignment's results not yet released,
    or a question an assignment of their cohorts is assessing): the educator's decision
    on "the marked answer is wrong" would tell them the key. Raises ReportRefused."""
    if item.attempt.user_id != user.pk:
        raise ReportRefused("You can only report questions from your own quizzes.")
    if not item.is_locked:
        raise ReportRefused("Report a problem once your answer is final, from its review.")
    held = AttemptItem.objects.filter(pk=item.pk).filter(
        withholding.held_item(user, now or timezone.now())
    )
    if held.exists():
        raise ReportRefused(
            "Report a problem with this question once the assignment's results are "
            "released: until then its key is not shown, and the answer to a report "
            "would show it."
        )
    report = ErrorReport(
        question_id=item.question_id,
        attempt_item=item,
        reporter=user,
        kind=kind,
        comment=(comment or "").strip(),
    )
    try:
        report.full_clean()
    except ValidationError as exc:
        raise ReportRefused(" ".join(exc.messages)) from exc
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError as exc:  # a double submit raced past full_clean
        raise ReportRefused("You have already reported this; it awaits review.") from exc
    return report


@transaction.atomic
def decide_report(*, report: ErrorReport, status: str, reply: str, by) -> ErrorReport:
    """Record an educator's decision on ``report``: its status and the reply its resident
    reads; ``by`` becomes the one who handled it. Raises ValidationError (moving it back to
    new while the resident has a newer open report of the same kind)."""
    report.status = status
    report.reply = reply
    report.handled_by = by
    report.full_clean()
    report.save()
    if status in DECISIONS:  # its reporter is told, by a job of this transaction
        events.report_answered(report)
    return report


DECISIONS = frozenset(
    {ErrorReport.Status.ACCEPTED, ErrorReport.Status.REJECTED, ErrorReport.Status.FIXED}
)


@transaction.atomic
def decide_reports(
    *,
    reports: QuerySet[ErrorReport],
    status: str,
    by,
    now: datetime.datetime | None = None,
) -> int:
    """Give every report in ``reports`` the same decision (accepted, rejected or fixed;
    their replies unchanged), handled by ``by``; their reporters are told, by one job.
    Three queries (the ids, the update, the job). Returns how many there were."""
    if status not in DECISIONS:
        raise ValueError(f"Not a decision: {status!r}")
    ids = list(reports.values_list("pk", flat=True))
    count = ErrorReport.objects.filter(pk__in=ids).update(
        status=status, handled_by=by, updated_at=now or timezone.now()
    )
    events.reports_answered(ids)
    return count
