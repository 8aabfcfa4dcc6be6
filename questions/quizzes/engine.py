"""The attempt lifecycle: answer, flag, move, read; expiry and the finish are in
``finishing`` (whose public names this module re-exports).

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
from typing import TYPE_CHECKING

from django.core import signing
from django.db import transaction
from django.db.models import Case, F, JSONField, When

from questions.models import Attempt, AttemptItem
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

# The finish's half of the state machine; its public names are the engine's too.
from questions.quizzes.finishing import COMPLETED_IDLE as COMPLETED_IDLE
from questions.quizzes.finishing import GRACE_SECONDS as GRACE_SECONDS
from questions.quizzes.finishing import MAX_SECONDS_PER_VISIT as MAX_SECONDS_PER_VISIT
from questions.quizzes.finishing import expire, finish_at_deadline, now_or, pk_of
from questions.quizzes.finishing import expire_overdue as expire_overdue
from questions.quizzes.finishing import finish_attempt as finish_attempt
from questions.quizzes.finishing import finish_completed as finish_completed
from questions.quizzes.finishing import is_overdue as is_overdue
from questions.quizzes.finishing import lock_attempt as lock_attempt
from questions.quizzes.finishing import lock_item as lock_item
from questions.quizzes.finishing import refresh_first_encounters as refresh_first_encounters
from questions.quizzes.finishing import visit_seconds as visit_seconds

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The largest position a quiz could have (AttemptItem.position is a small integer).
MAX_POSITION = 32767


def expire_if_due(attempt: Attempt, *, now: datetime.datetime | None = None) -> Attempt:
    """Finish an overdue attempt as of its deadline; return the attempt as it now stands.
    Called on every read of an attempt. No query (and no transaction) when not overdue."""
    now = now_or(now)
    if not is_overdue(attempt, now):
        return attempt
    expire(attempt, now)
    return Attempt.objects.get(pk=attempt.pk)


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
        finish_at_deadline(attempt)
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
    now = now_or(now)
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
    read_at: datetime.datetime | None = None,
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

    ``read_at``: when the page sending this was served (``page_read_at``). A page read moves
    nothing, so a resident who went Back (or reloaded, or opened another question by its
    address) is still on the question they left; the move that read stood for is made now,
    as of ``read_at``: the question left is credited up to it, and ``position`` from it. A
    page served before the last move (another tab's) changes nothing.

    Returns the attempt (its resident's profile loaded) and its items in position order,
    with the frozen wording of ``position`` and ``to`` only: what the next page needs, so
    that it is rendered from this request without reading again. Queries: the locked
    attempt, its items, and one UPDATE per row changed. Without ``page`` (a save answered
    by a status line) only the items written are read: the one at ``position`` and the one
    whose time is credited. An overdue attempt is finished as
    of its deadline (committed) before DeadlinePassed is raised; Attempt.DoesNotExist when
    it is not ``user``'s."""
    now = now_or(now)
    if to is not None and not 0 <= to <= MAX_POSITION:
        to = None  # a URL's number may be any size; past the column's it is no question
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("user__resident_profile", "simulation")
            .filter(pk=pk_of(attempt))
            .filter(**({} if user is None else {"user": user}))
            .get()
        )
        items = _items_showing(
            attempt,
            {position, to or position},
            only=None if page else {position, attempt.current_position},
        )
        if is_overdue(attempt, now):
            finish_at_deadline(attempt)
        elif not attempt.is_finished:
            if not 1 <= position <= attempt.question_count:
                raise InvalidPosition(position)
            _save_and_move(
                attempt, items, position, letter, confidence, note, lock, to, read_at, now
            )
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
    read_at: datetime.datetime | None,
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
    entered = attempt.position_entered_at
    if (
        read_at is not None
        and not paused
        and read_at <= now
        and (position != attempt.current_position or entered is None)
        and (entered is None or read_at >= entered)
    ):
        _move(attempt, position, read_at, at, changed)  # the move the page's read stood for
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
        _move(attempt, target, now, at, changed)
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
        item = lock_item(attempt, position, user=user)
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
        attempt, item = open_item(attempt, position, now_or(now), user=user)
        if item is not None:
            if item.is_flagged != flagged:
                item.is_flagged = flagged
                item.save(update_fields=["is_flagged"])
            return item
    raise refusal(attempt)


def go_to(*, attempt: Attempt, position: int, now: datetime.datetime | None = None) -> Attempt:
    """Remember where the resident is, so closing the browser resumes there."""
    now = now_or(now)
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
    now = now_or(now)
    attempt = (
        Attempt.objects.select_related("user__resident_profile", "simulation")
        .filter(pk=pk_of(attempt))  # a pk past 64 bits finds nothing: a 404
        .filter(**({} if user is None else {"user": user}))
        .get()
    )
    items = _items_showing(attempt, {position})
    if is_overdue(attempt, now):
        expire(attempt, now)
        attempt = Attempt.objects.get(pk=attempt.pk)
    return attempt, items


def is_paused(attempt: Attempt, now: datetime.datetime) -> bool:
    """Paused, and the pause allowance not yet spent (after it the clock runs again by
    itself: the deadline already holds the allowance)."""
    ends_at = attempt.pause_ends_at
    return ends_at is not None and now < ends_at


def credit_current_question(
    attempt: Attempt,
    now: datetime.datetime,
    at: dict[int, AttemptItem] | None = None,
    changed: dict[int, list[str]] | None = None,
) -> None:
    """Credit the time since the resident entered the current question to it (the caller
    then moves ``position_entered_at``). Inside the caller's transaction, attempt locked:
    every writer of seconds_spent holds that lock, so a value read after taking it is
    current. An item in ``at`` is credited in memory, its field noted in ``changed`` for
    the caller's save; otherwise one UPDATE."""
    seconds = visit_seconds(attempt, now)
    if not seconds:
        return
    left = attempt.current_position
    if at is not None and changed is not None and left in at:
        at[left].seconds_spent += seconds
        changed.setdefault(left, []).append("seconds_spent")
    else:
        AttemptItem.objects.filter(attempt=attempt, position=left).update(
            seconds_spent=F("seconds_spent") + seconds
        )


def _move(
    attempt: Attempt,
    target: int,
    when: datetime.datetime,
    at: dict[int, AttemptItem] | None = None,
    changed: dict[int, list[str]] | None = None,
) -> None:
    """Stand on question ``target`` (0: the submit screen, on no question) as of ``when``,
    the time since the last move credited to the question left (see
    credit_current_question for ``at`` and ``changed``)."""
    credit_current_question(attempt, when, at, changed)
    if target:
        attempt.current_position, attempt.position_entered_at = target, when
    else:
        attempt.position_entered_at = None
    attempt.save(update_fields=["current_position", "position_entered_at"])


def _remember_position(attempt: Attempt, position: int, now: datetime.datetime) -> None:
    """Move to ``position``, unless already on it."""
    if attempt.current_position != position or attempt.position_entered_at is None:
        _move(attempt, position, now)


_READ = signing.Signer(salt="questions.quizzes.engine.page-read")


def page_read_token(*, attempt: Attempt, position: int, now: datetime.datetime) -> str:
    """What the question page's form carries back: which question it showed and when, signed
    by the server (``page_read_at`` reads it)."""
    return _READ.sign(f"{attempt.pk}:{position}:{int(now.timestamp() * 1000)}")


def page_read_at(token: str, *, attempt_pk: int, position: int) -> datetime.datetime | None:
    """When the page of ``position`` in attempt ``attempt_pk`` was served, from its form's
    token; None for a missing, altered or another page's token."""
    try:
        pk, shown, millis = _READ.unsign(token[:200]).split(":")
        if (int(pk), int(shown)) != (attempt_pk, position):
            return None
        return datetime.datetime.fromtimestamp(int(millis) / 1000, tz=datetime.UTC)
    except (signing.BadSignature, ValueError, OverflowError, OSError):
        return None
