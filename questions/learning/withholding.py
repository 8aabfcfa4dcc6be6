"""What a resident's own figures leave out while assignments are being assessed: the query
vocabulary the recall schedule, calibration, progress and the results pages share.

Two things are held back from the resident (never from their educators):
- an assignment attempt's results, until ``Assignment.results_released`` (immediately, at
  the last due date, or at the educator's release): its score, its answers' correctness,
  its explanations, and every figure its answers would change;
- the result of any other answer to a question an assignment of the resident's cohorts is
  still assessing (``models.pending_assessments``): a practice quiz taken before the
  assignment was set would otherwise be an answer key. An assignment attempt's own
  questions are not held back from it by its own assignment (its release decides).
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from questions.models import Assignment, pending_assessments


def unreleased_assignments(now: datetime.datetime) -> QuerySet[Assignment]:
    """The assignments whose results are not released at ``now``: the queryset form of
    ``Assignment.results_released`` (at the due date: until the last resident's due date,
    extensions included; manual: until the educator's release)."""
    at_due = Q(release=Assignment.Release.AT_DUE) & (Q(due_at__gt=now) | Q(grants__due_at__gt=now))
    manual = Q(release=Assignment.Release.MANUAL) & (
        Q(released_at__isnull=True) | Q(released_at__gt=now)
    )
    return Assignment.objects.filter(at_due | manual).distinct()


def awaiting_release(attempts: QuerySet, now: datetime.datetime) -> QuerySet:
    """Of ``attempts``, those answering an assignment whose results are not released."""
    return attempts.filter(assignment__in=unreleased_assignments(now).values("pk"))


def held_item(user, now: datetime.datetime) -> Q:
    """The condition on AttemptItem of ``user``'s items whose result is held back from
    them at ``now``: items of an assignment attempt not yet released, and items of a
    question an assignment of their cohorts is assessing (other than the item's own
    assignment). Subqueries only: no query of its own, none per item."""
    pending = pending_assessments(user, now)
    by_another = Exists(
        pending.filter(question_id=OuterRef("question_id")).exclude(
            assignment_id=OuterRef("attempt__assignment_id")
        )
    )
    return (
        Q(attempt__assignment__isnull=True, question_id__in=pending.values("question_id"))
        | Q(attempt__assignment__in=unreleased_assignments(now).values("pk"))
        | (Q(attempt__assignment__isnull=False) & Q(by_another))
    )


def without_held(items: QuerySet, user, now: datetime.datetime | None) -> QuerySet:
    """``items`` (AttemptItems of ``user``) without those held back at ``now``; all of them
    when ``now`` is None (an educator's view, which holds nothing back)."""
    if now is None:
        return items
    return items.exclude(held_item(user, now))
