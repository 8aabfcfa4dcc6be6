"""Finishing an attempt: scoring, expiry at the deadline, and what a finish records.

The lower half of the attempt's state machine (``engine`` is the upper): the row lock every
write takes, the deadline and its grace, the finish that locks and scores every answer, marks
first encounters (with the item statistics' running sums) and schedules reviews, and the
sweeps that finish overdue and idle completed quizzes. ``engine`` re-exports the public
names, so callers keep writing ``engine.finish_attempt``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, Max, Q, QuerySet, Value, When, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import RowNumber
from django.utils import timezone

from questions.learning import recall
from questions.models import Attempt, AttemptItem, item_totals
from questions.quizzes import grading

if TYPE_CHECKING:
    from django.contrib.auth.models import User

GRACE_SECONDS = 5  # for network delay: an answer this late after the deadline still counts

# Time on a question is credited when the resident moves on; one visit counts at most this
# long, so a tab left open overnight (tutor mode has no clock) does not count as hours.
MAX_SECONDS_PER_VISIT = 600


def now_or(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def is_overdue(attempt: Attempt, now: datetime.datetime) -> bool:
    return (
        not attempt.is_finished
        and attempt.deadline_at is not None
        and now > attempt.deadline_at + datetime.timedelta(seconds=GRACE_SECONDS)
    )


def expire_overdue(
    attempts: QuerySet[Attempt] | None = None, *, now: datetime.datetime | None = None
) -> int:
    """Finish every overdue attempt among ``attempts`` (all when None), each as of its
    deadline, so that statistics count quizzes their residents abandoned. One query when
    none is overdue; returns how many were finished."""
    now = now_or(now)
    attempts = Attempt.objects.all() if attempts is None else attempts
    overdue = attempts.filter(
        status=Attempt.Status.IN_PROGRESS,
        deadline_at__lt=now - datetime.timedelta(seconds=GRACE_SECONDS),
    )
    return sum(expire(attempt, now) for attempt in overdue)


# A tutor quiz whose every question is answered, left this long without being ended, is
# finished by expire_attempts (as of its last answer), so that its answers reach the
# resident's review schedule and statistics although nobody pressed "End quiz".
COMPLETED_IDLE = datetime.timedelta(hours=1)


def finish_completed(
    attempts: QuerySet[Attempt] | None = None, *, now: datetime.datetime | None = None
) -> int:
    """Finish each tutor attempt among ``attempts`` (all when None) that has every item
    answered and no answer for COMPLETED_IDLE, as of its last answer (reason COMPLETED).
    One query when there is none; returns how many were finished."""
    now = now_or(now)
    attempts = Attempt.objects.all() if attempts is None else attempts
    idle = (
        attempts.filter(status=Attempt.Status.IN_PROGRESS, mode=Attempt.Mode.TUTOR)
        .exclude(items__locked_at__isnull=True)
        .annotate(last_answer=Max("items__locked_at"))
        .filter(last_answer__lte=now - COMPLETED_IDLE)
    )
    finished = 0
    for candidate in list(idle.values("pk", "last_answer")):
        with transaction.atomic():
            attempt = lock_attempt(candidate["pk"])
            if attempt.is_finished:  # by its resident since: answers are never unlocked
                continue
            finish_locked(
                attempt, at=candidate["last_answer"], reason=Attempt.FinishReason.COMPLETED
            )
            finished += 1
    return finished


def pk_of(attempt: Attempt | int) -> int:
    return attempt if isinstance(attempt, int) else attempt.pk


def lock_attempt(attempt: Attempt | int, *, user: User | None = None) -> Attempt:
    """The attempt's row, locked; only ``user``'s when given (Attempt.DoesNotExist if not)."""
    attempts = Attempt.objects.select_for_update()
    if user is not None:
        attempts = attempts.filter(user=user)
    return attempts.get(pk=pk_of(attempt))


def lock_item(
    attempt: Attempt | int,
    position: int,
    *,
    user: User | None = None,
    rows: QuerySet[AttemptItem] | None = None,
) -> AttemptItem:
    """The item at ``position`` of the attempt, its row locked; only ``user``'s when given.
    ``rows``: AttemptItem's rows as the caller wants them read and locked (a column
    deferred, another annotated, ``select_for_update(of=...)``); by default every column,
    with ``select_for_update()``. Attempt.DoesNotExist when there is none."""
    items = AttemptItem.objects.select_for_update() if rows is None else rows
    items = items.filter(attempt__pk=pk_of(attempt), position=position)
    if user is not None:
        items = items.filter(attempt__user=user)
    item = items.first()
    if item is None:
        raise Attempt.DoesNotExist
    return item


def visit_seconds(attempt: Attempt, until: datetime.datetime) -> int:
    if attempt.position_entered_at is None:
        return 0
    seconds = (until - attempt.position_entered_at).total_seconds()
    return int(min(max(seconds, 0), MAX_SECONDS_PER_VISIT))


def finish_at_deadline(attempt: Attempt) -> Attempt:
    """``finish_locked`` as of the deadline of an overdue attempt (reason DEADLINE)."""
    return finish_locked(
        attempt,
        at=cast(datetime.datetime, attempt.deadline_at),  # overdue, so it has one
        reason=Attempt.FinishReason.DEADLINE,
    )


def finish_locked(attempt: Attempt, *, at: datetime.datetime, reason: str) -> Attempt:
    """Lock and score the unlocked items, credit the question the resident was on, and
    finish the attempt; then first encounters and the recall schedule. Inside a
    transaction, the attempt locked. The items are read once (their frozen choices only,
    not the whole wording) and written in one UPDATE whose size does not grow with the
    quiz: bulk_update's CASE per row and field was over half of a 40-question finish."""
    items = list(
        attempt.items.select_for_update()
        .defer("shown")
        .annotate(frozen_choices=KeyTransform("choices", "shown"))
        .order_by("position")
    )
    position = attempt.current_position
    credit = visit_seconds(attempt, at) if 1 <= position <= len(items) else 0
    unlocked = [item for item in items if item.locked_at is None]
    for item in unlocked:
        item.locked_at = at
        # An unanswered item ("" matches no letter) scores as wrong.
        item.is_correct = grading.is_correct(
            selected_letter=item.selected_letter,
            choices=item.frozen_choices,  # type: ignore[attr-defined]  # annotated above
        )
    if credit:
        items[position - 1].seconds_spent += credit
    if unlocked or credit:
        unlocked_ids = [item.pk for item in unlocked]
        changed = Q(pk__in=unlocked_ids)
        if credit:
            changed |= Q(attempt=attempt, position=position)
        # Each column's CASE tests ids or the position, never a column this UPDATE sets.
        AttemptItem.objects.filter(changed).update(
            locked_at=Case(When(pk__in=unlocked_ids, then=Value(at)), default=F("locked_at")),
            is_correct=Case(
                When(pk__in=[item.pk for item in unlocked if item.is_correct], then=Value(True)),
                When(pk__in=unlocked_ids, then=Value(False)),
                default=F("is_correct"),
            ),
            seconds_spent=F("seconds_spent")
            + Case(When(position=position, then=Value(credit)), default=Value(0)),
        )
    attempt.status = Attempt.Status.FINISHED
    attempt.finished_at = at
    attempt.finish_reason = reason
    attempt.correct_count = grading.score(item.is_correct for item in items).correct
    # A pause ends with the quiz (the deadline already holds the pause it allowed).
    attempt.paused_at = attempt.deadline_before_pause = None
    attempt.save(
        update_fields=[
            "status",
            "finished_at",
            "finish_reason",
            "correct_count",
            "paused_at",
            "deadline_before_pause",
        ]
    )
    # The resident's row lock serialises their finishes, so two quizzes finishing at once
    # cannot both claim a question's first encounter.
    list(get_user_model().objects.select_for_update().filter(pk=attempt.user_id).values("pk"))
    refresh_first_encounters(
        user_ids=[attempt.user_id], question_ids=[item.question_id for item in items]
    )
    recall.schedule_attempt(attempt, items)
    return attempt


def refresh_first_encounters(
    *, user_ids: Iterable[int] | None = None, question_ids: Iterable[int] | None = None
) -> int:
    """Mark each resident's first finished encounter with each question
    (``AttemptItem.first_encounter``): of their finished attempts that drew it, the one
    started first (then the lowest id), so that item statistics read one row per resident
    and question instead of ranking every answer on each read. Limited to ``user_ids`` and
    ``question_ids`` when given. Called as each attempt finishes (an attempt started before
    a finished one but finished after it takes the mark over); migration 0013 marked the
    history before it. The rows whose mark flips go to ``item_totals.count_encounters``
    (those gaining it added, those losing it taken out), in the caller's transaction, so
    the running totals behind the item analysis move with the marks. Only finished
    attempts' rows are read or changed (one in progress holds no mark). One query when no
    mark changes, five when some do; returns the rows changed."""
    scope = AttemptItem.objects.filter(attempt__status=Attempt.Status.FINISHED)
    if user_ids is not None:
        scope = scope.filter(attempt__user__in=list(user_ids))
    if question_ids is not None:
        scope = scope.filter(question__in=list(question_ids))
    ranked = scope.annotate(
        encounter=Window(
            RowNumber(),
            partition_by=[F("attempt__user"), F("question")],
            order_by=[F("attempt__started_at"), F("attempt_id")],
        )
    ).annotate(is_first=Case(When(encounter=1, then=True), default=False))
    # Only the rows whose mark is wrong: those of this finish, and any it takes over.
    changes = list(
        ranked.exclude(is_first=F("first_encounter"))
        .order_by()
        .values_list("pk", "first_encounter", *item_totals.ENCOUNTER_FIELDS)
    )
    if not changes:
        return 0
    AttemptItem.objects.filter(pk__in=[pk for pk, *_ in changes]).update(
        first_encounter=Case(When(first_encounter=True, then=False), default=True)
    )
    item_totals.count_encounters((-1 if was_first else 1, row) for _, was_first, *row in changes)
    return len(changes)


@transaction.atomic
def expire(attempt: Attempt, now: datetime.datetime) -> bool:
    """Finish an overdue attempt as of its deadline, under its row lock; True only for the
    call that finished it (another process may have got there first)."""
    attempt = lock_attempt(attempt)
    if not is_overdue(attempt, now):
        return False
    finish_at_deadline(attempt)
    return True


@transaction.atomic
def finish_attempt(
    *, attempt: Attempt | int, now: datetime.datetime | None = None, user: User | None = None
) -> Attempt:
    """Lock and score every answer. Idempotent: finishing a finished attempt changes nothing.
    An overdue attempt is finished as of its deadline, not now. ``attempt`` and ``user`` as
    for ``answer``."""
    now = now_or(now)
    attempt = lock_attempt(attempt, user=user)
    if attempt.is_finished:
        return attempt
    if is_overdue(attempt, now):
        return finish_at_deadline(attempt)
    return finish_locked(attempt, at=now, reason=Attempt.FinishReason.SUBMITTED)
