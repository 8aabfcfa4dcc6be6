"""The attempt lifecycle: start, answer, flag, move, expire, finish.

An attempt is a state machine with two states: in progress, and finished (terminal).
- The deadline of a timed attempt is fixed on the server when it starts:
  started_at + time_limit_seconds. The page's countdown only displays it. An assignment's
  attempt also ends at the assignment's due date, in tutor mode too.
- An answer that arrives more than GRACE_SECONDS after the deadline is refused, and the
  attempt is finished as of the deadline. Every read expires an overdue attempt the same
  way (lazily), stamped at the deadline, not at the moment it was noticed.
- Timed mode: answers may change until the attempt finishes; they are locked and scored then.
  Tutor mode: an answer is locked and scored at once; the explanation may then be shown.
- Unanswered questions count as wrong.
- Every write locks the attempt row (SELECT ... FOR UPDATE), so duplicate or concurrent
  submissions are applied one after another: the same answer twice is recorded once, and
  finishing twice is harmless.
All functions take ``now`` so tests control time; it defaults to the server clock.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, JSONField, Max, Q, QuerySet, Value, When, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import RowNumber
from django.utils import timezone

from questions.learning import recall
from questions.models import Attempt, AttemptItem, item_totals
from questions.quizzes import grading
from questions.quizzes.errors import (
    AnswerLocked,
    AttemptFinished,
    DeadlinePassed,
    EngineError,
    InvalidChoice,
    InvalidConfidence,
    InvalidPosition,
    NotAMiss,
    QuizPaused,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The largest position a quiz could have (AttemptItem.position is a small integer).
MAX_POSITION = 32767

GRACE_SECONDS = 5  # for network delay: an answer this late after the deadline still counts

# Time on a question is credited when the resident moves on; one visit counts at most this
# long, so a tab left open overnight (tutor mode has no clock) does not count as hours.
MAX_SECONDS_PER_VISIT = 600


def _now(now: datetime.datetime | None) -> datetime.datetime:
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
    now = _now(now)
    attempts = Attempt.objects.all() if attempts is None else attempts
    overdue = attempts.filter(
        status=Attempt.Status.IN_PROGRESS,
        deadline_at__lt=now - datetime.timedelta(seconds=GRACE_SECONDS),
    )
    return sum(_expire(attempt, now) for attempt in overdue)


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
    now = _now(now)
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
            _finish_locked(
                attempt, at=candidate["last_answer"], reason=Attempt.FinishReason.COMPLETED
            )
            finished += 1
    return finished


def _pk(attempt: Attempt | int) -> int:
    return attempt if isinstance(attempt, int) else attempt.pk


def lock_attempt(attempt: Attempt | int, *, user: User | None = None) -> Attempt:
    """The attempt's row, locked; only ``user``'s when given (Attempt.DoesNotExist if not)."""
    attempts = Attempt.objects.select_for_update()
    if user is not None:
        attempts = attempts.filter(user=user)
    return attempts.get(pk=_pk(attempt))


def visit_seconds(attempt: Attempt, until: datetime.datetime) -> int:
    if attempt.position_entered_at is None:
        return 0
    seconds = (until - attempt.position_entered_at).total_seconds()
    return int(min(max(seconds, 0), MAX_SECONDS_PER_VISIT))


def _finish_locked(attempt: Attempt, *, at: datetime.datetime, reason: str) -> Attempt:
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


def expire_if_due(attempt: Attempt, *, now: datetime.datetime | None = None) -> Attempt:
    """Finish an overdue attempt as of its deadline; return the attempt as it now stands.
    Called on every read of an attempt. No query (and no transaction) when not overdue."""
    now = _now(now)
    if not is_overdue(attempt, now):
        return attempt
    _expire(attempt, now)
    return Attempt.objects.get(pk=attempt.pk)


@transaction.atomic
def _expire(attempt: Attempt, now: datetime.datetime) -> bool:
    """Finish an overdue attempt as of its deadline, under its row lock; True only for the
    call that finished it (another process may have got there first)."""
    attempt = lock_attempt(attempt)
    if not is_overdue(attempt, now):
        return False
    _finish_locked(
        attempt,
        at=cast(datetime.datetime, attempt.deadline_at),  # overdue, so it has one
        reason=Attempt.FinishReason.DEADLINE,
    )
    return True


def open_item(
    attempt: Attempt | int, position: int, now: datetime.datetime, *, user: User | None = None
) -> tuple[Attempt, AttemptItem | None]:
    """Inside a transaction: lock the attempt, then read the item at ``position`` (after the
    lock, so that it is what a concurrent request committed), and finish the attempt as of
    its deadline if it is overdue. The item is None when the attempt is finished: the
    caller raises ``_refusal`` once that finish is committed. Raises InvalidPosition, or
    Attempt.DoesNotExist when it is not ``user``'s."""
    attempt = lock_attempt(attempt, user=user)
    item = attempt.items.filter(position=position).first()
    if is_overdue(attempt, now):
        _finish_locked(
            attempt,
            at=cast(datetime.datetime, attempt.deadline_at),  # overdue, so it has one
            reason=Attempt.FinishReason.DEADLINE,
        )
    if attempt.is_finished:
        return attempt, None
    if item is None:
        raise InvalidPosition(position)
    return attempt, item


def refusal(attempt: Attempt) -> AttemptFinished:
    if attempt.finish_reason == Attempt.FinishReason.DEADLINE:
        return DeadlinePassed()
    return AttemptFinished()


def answer(
    *,
    attempt: Attempt | int,
    position: int,
    letter: str,
    confidence: str = "",
    lock: bool = True,
    now: datetime.datetime | None = None,
    user: User | None = None,
) -> AttemptItem:
    """Record the resident's choice for the question at ``position``, with how sure they
    are (``confidence``: an AttemptItem.Confidence value, or "" for not said); the item's
    ``attempt`` is the attempt as locked. ``attempt`` may be its id; with ``user``, only
    their attempt is found (Attempt.DoesNotExist otherwise).

    Timed: replaces any earlier choice and confidence; locked at finish. Tutor: with
    ``lock`` (the resident pressed Submit), locked and scored now; without it (the choice
    saved as it was picked, or before leaving the question), kept unlocked like a timed
    answer, to be submitted later or scored when the quiz finishes. Once locked, the same
    letter again is a no-op (the confidence too: it was given before the key was seen),
    a different one raises AnswerLocked. A paused quiz refuses answers (QuizPaused). An
    overdue attempt is finished (committed) before DeadlinePassed is raised."""
    now = _now(now)
    with transaction.atomic():
        attempt, item = open_item(attempt, position, now, user=user)
        if item is not None:
            if is_paused(attempt, now):
                raise QuizPaused
            return _record(attempt, item, position, letter, confidence, lock, now)
    raise refusal(attempt)  # after the transaction: an expiry it made is committed


def _record(
    attempt: Attempt,
    item: AttemptItem,
    position: int,
    letter: str,
    confidence: str,
    lock: bool,
    now: datetime.datetime,
) -> AttemptItem:
    """Inside answer's transaction, the attempt locked and in progress."""
    fields = _choose(attempt, item, letter, confidence, lock, now)
    if fields:
        item.save(update_fields=fields)
    _remember_position(attempt, position, now)
    return item


def _choose(
    attempt: Attempt,
    item: AttemptItem,
    letter: str,
    confidence: str,
    lock: bool,
    now: datetime.datetime,
) -> list[str]:
    """Set the choice and confidence on ``item`` (not saved); the fields changed. The
    attempt locked and in progress."""
    letter = (letter or "").strip().upper()
    if letter not in {c["letter"] for c in item.shown["choices"]}:
        raise InvalidChoice(letter)
    confidence = (confidence or "").strip().lower()
    if confidence and confidence not in AttemptItem.Confidence.values:
        raise InvalidConfidence
    if item.is_locked:
        if item.selected_letter == letter:
            return []
        raise AnswerLocked
    fields = []
    if item.selected_letter != letter:
        item.selected_letter = letter
        item.selected_choice_pk = next(
            c["choice_id"] for c in item.shown["choices"] if c["letter"] == letter
        )
        item.answered_at = now
        fields += ["selected_letter", "selected_choice_pk", "answered_at"]
    if attempt.mode == Attempt.Mode.TUTOR and lock:
        item.locked_at = now
        item.is_correct = grading.is_correct(selected_letter=letter, choices=item.shown["choices"])
        fields += ["locked_at", "is_correct"]
    if item.confidence != confidence:
        item.confidence = confidence
        fields.append("confidence")
    return fields


def save_and_go(
    *,
    attempt: Attempt | int,
    position: int,
    letter: str = "",
    confidence: str = "",
    note: str | None = None,
    lock: bool = False,
    to: int | None = None,
    page: bool = True,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> tuple[Attempt, list[AttemptItem]]:
    """The question form's write, in one transaction: record what was picked on the question
    at ``position`` (a ``letter``, if any, with its confidence, as ``answer`` does; the
    ``note`` when not None, already cleaned by exam_tools.clean_note), then move to ``to``:
    another position, 0 for the submit screen (on no question), None to stay at
    ``position``. Moving credits the time since the last move to the question left; a
    position the quiz does not have is staying. A paused quiz neither moves nor takes
    answers (QuizPaused).

    Returns the attempt (its resident's profile loaded) and its items in position order,
    with the frozen wording of ``position`` and ``to`` only: what the next page needs, so
    that it is rendered from this request without reading again. Queries: the locked
    attempt, its items, and one UPDATE per row changed. Without ``page`` (a save answered
    by a status line) only the items written are read: the one at ``position`` and the one
    whose time is credited. An overdue attempt is finished as
    of its deadline (committed) before DeadlinePassed is raised; Attempt.DoesNotExist when
    it is not ``user``'s."""
    now = _now(now)
    if to is not None and not 0 <= to <= MAX_POSITION:
        to = None  # a URL's number may be any size; past the column's it is no question
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("user__resident_profile", "simulation")
            .filter(pk=_pk(attempt))
            .filter(**({} if user is None else {"user": user}))
            .get()
        )
        items = _items_showing(
            attempt,
            {position, to or position},
            only=None if page else {position, attempt.current_position},
        )
        if is_overdue(attempt, now):
            _finish_locked(
                attempt,
                at=cast(datetime.datetime, attempt.deadline_at),  # overdue, so it has one
                reason=Attempt.FinishReason.DEADLINE,
            )
        elif not attempt.is_finished:
            if not 1 <= position <= attempt.question_count:
                raise InvalidPosition(position)
            _save_and_move(attempt, items, position, letter, confidence, note, lock, to, now)
            return attempt, items
    raise refusal(attempt)  # after the transaction: an expiry it made is committed


def _save_and_move(
    attempt: Attempt,
    items: list[AttemptItem],
    position: int,
    letter: str,
    confidence: str,
    note: str | None,
    lock: bool,
    to: int | None,
    now: datetime.datetime,
) -> None:
    """save_and_go's writes, the attempt locked and in progress. ``items``: all, or at
    least those at ``position`` and at the current position."""
    paused = is_paused(attempt, now)
    if paused and (letter or note is not None):
        raise QuizPaused
    at = {item.position: item for item in items}
    item = at[position]
    changed: dict[int, list[str]] = {}
    if letter:
        changed[position] = _choose(attempt, item, letter, confidence, lock, now)
    if note is not None and item.note != note:
        item.note, item.note_updated_at = note, (now if note else None)
        changed.setdefault(position, []).extend(["note", "note_updated_at"])
    count = attempt.question_count
    target = to if to is not None and 0 <= to <= count else position
    moves = not paused and (
        target != attempt.current_position or attempt.position_entered_at is None
    )
    if moves and not (target == 0 and attempt.position_entered_at is None):
        left = attempt.current_position
        seconds = visit_seconds(attempt, now)
        if seconds and left in at:
            # Every writer of seconds_spent holds the attempt's lock, so the value read
            # after taking it is current.
            at[left].seconds_spent += seconds
            changed.setdefault(left, []).append("seconds_spent")
        if target:
            attempt.current_position, attempt.position_entered_at = target, now
        else:
            attempt.position_entered_at = None  # on the submit screen: on no question
        attempt.save(update_fields=["current_position", "position_entered_at"])
    for at_position, fields in changed.items():
        if fields:
            at[at_position].save(update_fields=fields)


def _items_showing(
    attempt: Attempt, positions: set[int], *, only: set[int] | None = None
) -> list[AttemptItem]:
    """The attempt's items in position order (those at ``only`` when given), each with
    ``attempt`` set; only those at ``positions`` bring their frozen wording (a few KB
    each): the others are the navigator's, which needs their state, not their text. One
    query."""
    positions = {p for p in positions if 1 <= p <= MAX_POSITION}  # a URL's may be any size
    scope = AttemptItem.objects.filter(attempt=attempt)
    if only is not None:
        scope = scope.filter(position__in=sorted(p for p in only if 1 <= p <= MAX_POSITION))
    items = list(
        scope.defer("shown")
        .annotate(
            shown_here=Case(
                When(position__in=sorted(positions), then=F("shown")),
                default=None,
                output_field=JSONField(),
            )
        )
        .order_by("position")
    )
    for item in items:
        item.attempt = attempt
        if item.position in positions:
            # shown_here: the annotation above, which the stubs do not add to the model type.
            item.shown = item.shown_here  # type: ignore[attr-defined]
    return items


def tag_miss(
    *, attempt: Attempt | int, position: int, miss_type: str, user: User | None = None
) -> AttemptItem:
    """Tag why the question at ``position`` was missed (an AttemptItem.MissType value; ""
    removes the tag). Only a locked item that is not correct: NotAMiss otherwise.
    ``attempt`` and ``user`` as for ``answer``; Attempt.DoesNotExist when it is not
    ``user``'s or has no such position."""
    miss_type = (miss_type or "").strip().lower()
    if miss_type and miss_type not in AttemptItem.MissType.values:
        raise EngineError("Choose one of the reasons listed.")
    with transaction.atomic():
        items = AttemptItem.objects.select_for_update().filter(
            attempt__pk=_pk(attempt), position=position
        )
        if user is not None:
            items = items.filter(attempt__user=user)
        item = items.first()
        if item is None:
            raise Attempt.DoesNotExist
        if not item.is_locked or item.is_correct:
            raise NotAMiss
        if item.miss_type != miss_type:
            item.miss_type = miss_type
            item.save(update_fields=["miss_type"])
    return item


def set_flag(
    *,
    attempt: Attempt | int,
    position: int,
    flagged: bool,
    now: datetime.datetime | None = None,
    user: User | None = None,
) -> AttemptItem:
    """Flag or unflag a question (idempotent) while the attempt is in progress. ``attempt``
    and ``user`` as for ``answer``."""
    with transaction.atomic():
        attempt, item = open_item(attempt, position, _now(now), user=user)
        if item is not None:
            if item.is_flagged != flagged:
                item.is_flagged = flagged
                item.save(update_fields=["is_flagged"])
            return item
    raise refusal(attempt)


def go_to(*, attempt: Attempt, position: int, now: datetime.datetime | None = None) -> Attempt:
    """Remember where the resident is, so closing the browser resumes there."""
    now = _now(now)
    with transaction.atomic():
        attempt, item = open_item(attempt, position, now)
        if item is not None:
            _remember_position(attempt, position, now)
            return attempt
    raise refusal(attempt)


def visit(
    *,
    attempt: Attempt | int,
    position: int,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> tuple[Attempt, list[AttemptItem]]:
    """The question page's read: the attempt (with its resident's profile), then its items in
    position order, the frozen wording of ``position``'s only: two queries, and no write.
    The resident's position moves with what they send (``save_and_go``), never with a
    page read, so a reload, Back or a second tab changes nothing. An overdue attempt is
    finished as of its deadline (the one write a read may make) and returned finished.
    Raises Attempt.DoesNotExist when it is not ``user``'s.

    Two queries rather than one join: joined, each of the items' rows repeated the attempt,
    the user and the profile, and building those 3 x 40 instances and their dates took
    about a third of the page's time at 40 questions."""
    now = _now(now)
    attempt = (
        Attempt.objects.select_related("user__resident_profile", "simulation")
        .filter(pk=_pk(attempt))  # a pk past 64 bits finds nothing: a 404
        .filter(**({} if user is None else {"user": user}))
        .get()
    )
    items = _items_showing(attempt, {position})
    if is_overdue(attempt, now):
        _expire(attempt, now)
        attempt = Attempt.objects.get(pk=attempt.pk)
    return attempt, items


def is_paused(attempt: Attempt, now: datetime.datetime) -> bool:
    """Paused, and the pause allowance not yet spent (after it the clock runs again by
    itself: the deadline already holds the allowance)."""
    ends_at = attempt.pause_ends_at
    return ends_at is not None and now < ends_at


def credit_current_question(attempt: Attempt, now: datetime.datetime) -> None:
    """Credit the time since the resident entered the current question to it (the caller
    then moves ``position_entered_at``). Inside the caller's transaction, attempt locked."""
    seconds = visit_seconds(attempt, now)
    if seconds:
        AttemptItem.objects.filter(attempt=attempt, position=attempt.current_position).update(
            seconds_spent=F("seconds_spent") + seconds
        )


def _remember_position(attempt: Attempt, position: int, now: datetime.datetime) -> None:
    """Move to ``position``, crediting the time since the last move to the question left."""
    if attempt.current_position == position and attempt.position_entered_at is not None:
        return
    credit_current_question(attempt, now)
    attempt.current_position = position
    attempt.position_entered_at = now
    attempt.save(update_fields=["current_position", "position_entered_at"])


@transaction.atomic
def finish_attempt(
    *, attempt: Attempt | int, now: datetime.datetime | None = None, user: User | None = None
) -> Attempt:
    """Lock and score every answer. Idempotent: finishing a finished attempt changes nothing.
    An overdue attempt is finished as of its deadline, not now. ``attempt`` and ``user`` as
    for ``answer``."""
    now = _now(now)
    attempt = lock_attempt(attempt, user=user)
    if attempt.is_finished:
        return attempt
    if is_overdue(attempt, now):
        return _finish_locked(
            attempt,
            at=cast(datetime.datetime, attempt.deadline_at),  # overdue, so it has one
            reason=Attempt.FinishReason.DEADLINE,
        )
    return _finish_locked(attempt, at=now, reason=Attempt.FinishReason.SUBMITTED)
