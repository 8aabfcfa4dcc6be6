"""Residents' error reports on questions, and educators' handling of them.

A resident reports a problem from a question's review page, that is, only once their
answer is locked (a report could otherwise fish for the key). One open report per
resident, question and kind. An educator moves a report to accepted, rejected or fixed,
with a reply the resident reads on their reports page.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from questions.models import AttemptItem, ErrorReport


class ReportRefused(Exception):
    """Why a report was not recorded; the message is for the resident."""


@transaction.atomic
def report_problem(*, user, item: AttemptItem, kind: str, comment: str) -> ErrorReport:
    """Record ``user``'s report on the question of ``item`` (their own, locked item).
    Raises ReportRefused."""
    if item.attempt.user_id != user.pk:
        raise ReportRefused("You can only report questions from your own quizzes.")
    if not item.is_locked:
        raise ReportRefused("Report a problem once your answer is final, from its review.")
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
