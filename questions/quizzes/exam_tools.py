"""The exam's tools on a question: strike-out, highlights, notes, and pausing a quiz.

All of them live on the server, so they survive a reload, a resume on another device and
the end of the quiz:
- Strike-out marks choices by letter; a struck choice stays selectable. In progress only.
- Highlights are character ranges ``[start, end)`` of the frozen stem (``shown["stem"]``),
  kept sorted and disjoint; highlighting inside a highlight removes that part. In progress
  only (they mark the reading of a question being answered).
- A note belongs to the question as it was shown; it may be written during the quiz and
  after it (the "My notes" page), up to NOTE_MAX_LENGTH characters.
- Pause: a practice quiz with a clock (no assignment, not a simulation's block) stops its
  clock for at most PAUSE_LIMIT_SECONDS in all. While paused, ``deadline_at`` already
  holds the allowance left, so a pause nobody ends ends by itself and expiry needs no
  special case; resuming sets the deadline to the one before the pause plus the time
  paused. A paused quiz refuses answers and shows no question.
Functions take ``now`` (default: the server clock); ``user`` limits them to that
resident's attempts (Attempt.DoesNotExist otherwise).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from questions.models import Attempt, AttemptItem
from questions.quizzes import engine
from questions.quizzes.errors import AttemptFinished, CannotPause, EngineError, InvalidChoice

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PAUSE_LIMIT_SECONDS = 10 * 60
NOTE_MAX_LENGTH = 2000


def _change_item(
    attempt: Attempt | int,
    position: int,
    now: datetime.datetime,
    user: User | None,
    change: Callable[[AttemptItem], None],
) -> AttemptItem:
    """Apply ``change`` to the item at ``position`` under the attempt's row lock, while the
    attempt is in progress. An overdue attempt is finished (committed) before the refusal
    is raised, as the engine's own writes do."""
    with transaction.atomic():
        attempt, item = engine.open_item(attempt, position, now, user=user)
        if item is not None:
            change(item)
            return item
    raise engine.refusal(attempt)


def _change_attempt(
    attempt: Attempt | int,
    now: datetime.datetime,
    user: User | None,
    change: Callable[[Attempt], None],
) -> Attempt:
    """Apply ``change`` to the attempt under its row lock, while it is in progress."""
    with transaction.atomic():
        locked = engine.lock_attempt(attempt, user=user)
        attempt, item = engine.open_item(locked, locked.current_position, now)
        if item is not None:
            change(attempt)
            return attempt
    raise engine.refusal(attempt)


def toggle_strike(
    *,
    attempt: Attempt | int,
    position: int,
    letter: str,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> AttemptItem:
    """Strike out the choice ``letter`` of the question at ``position``, or restore it if
    struck. Striking never touches the selected answer."""
    letter = (letter or "").strip().upper()

    def strike(item: AttemptItem) -> None:
        letters = [c["letter"] for c in item.shown["choices"]]
        if letter not in letters:
            raise InvalidChoice(letter)
        struck = set(item.struck_letters) ^ {letter}
        item.struck_letters = "".join(x for x in letters if x in struck)
        item.save(update_fields=["struck_letters"])

    return _change_item(attempt, position, now or timezone.now(), user, strike)


def merge_highlight(ranges: list[list[int]], start: int, end: int, length: int) -> list[list[int]]:
    """The highlights after marking ``[start, end)`` of a stem ``length`` long: a range
    wholly inside the existing highlights is removed from them (highlighting highlighted
    text clears it); otherwise it is added and overlapping or touching ranges merge."""
    start, end = max(0, start), min(length, end)
    if start >= end:
        return [list(r) for r in ranges]
    covered: set[int] = set()
    for a, b in ranges:
        covered.update(range(a, b))
    wanted = set(range(start, end))
    covered = covered - wanted if wanted <= covered else covered | wanted
    merged: list[list[int]] = []
    for index in sorted(covered):
        if merged and merged[-1][1] == index:
            merged[-1][1] = index + 1
        else:
            merged.append([index, index + 1])
    return merged


def highlight(
    *,
    attempt: Attempt | int,
    position: int,
    start: int,
    end: int,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> AttemptItem:
    """Highlight ``[start, end)`` of the question's frozen stem (or clear it where it was
    already highlighted); see ``merge_highlight``."""

    def mark(item: AttemptItem) -> None:
        item.highlights = merge_highlight(
            item.highlights or [], start, end, len(item.shown["stem"])
        )
        item.save(update_fields=["highlights"])

    return _change_item(attempt, position, now or timezone.now(), user, mark)


def clear_highlights(
    *,
    attempt: Attempt | int,
    position: int,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> AttemptItem:

    def clear(item: AttemptItem) -> None:
        if item.highlights:
            item.highlights = []
            item.save(update_fields=["highlights"])

    return _change_item(attempt, position, now or timezone.now(), user, clear)


def clean_note(text: str | None) -> str:
    """The note as stored: line ends normalised, blank ends trimmed. Raises EngineError,
    saying why, for a note over NOTE_MAX_LENGTH characters."""
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise EngineError(
            f"A note holds at most {NOTE_MAX_LENGTH} characters (this one has {len(text)}); "
            "nothing was saved."
        )
    return text


def set_note(
    *,
    attempt: Attempt | int,
    position: int,
    text: str,
    user: User | None = None,
    now: datetime.datetime | None = None,
    during_quiz: bool = False,
) -> AttemptItem:
    """Write (or, blank, delete) the resident's note on a question, during the quiz or
    after it. Refuses a note over NOTE_MAX_LENGTH characters, saving nothing.
    ``during_quiz``: the question page's form, refused with AttemptFinished once the quiz
    has ended (its late note goes through ``keep_late_note``)."""
    item, _ = _write_note(
        attempt, position, clean_note(text), user, now or timezone.now(), during_quiz=during_quiz
    )
    return item


def keep_late_note(
    *,
    attempt: Attempt,
    position: int,
    text: str,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> AttemptItem | None:
    """A note sent from a question's page after its quiz ended (the clock ran out as it
    was typed): written, as notes may be written after a quiz, unless the note was
    written after the quiz ended (on the results or notes page), which a page still open
    from the quiz has not seen. The item if its note changed, else None. Raises
    EngineError for a note too long, Attempt.DoesNotExist for no such question.

    Its time is the quiz's end, when it was typed: a later page's note is still newer,
    and another late post from the quiz's pages may still change it."""
    ended = attempt.finished_at or now or timezone.now()
    item, changed = _write_note(
        attempt, position, clean_note(text), user, ended, unless_written_after=ended
    )
    return item if changed else None


def _write_note(
    attempt: Attempt | int,
    position: int,
    text: str,
    user: User | None,
    now: datetime.datetime,
    unless_written_after: datetime.datetime | None = None,
    during_quiz: bool = False,
) -> tuple[AttemptItem, bool]:
    with transaction.atomic():
        rows = (
            AttemptItem.objects.select_for_update(of=("self",))
            .defer("shown")
            .annotate(attempt_status=F("attempt__status"))
        )
        item = engine.lock_item(attempt, position, user=user, rows=rows)
        status = item.attempt_status  # type: ignore[attr-defined]  # annotated above
        if during_quiz and status == Attempt.Status.FINISHED:
            raise AttemptFinished
        newer = (
            unless_written_after is not None
            and item.note_updated_at is not None
            and item.note_updated_at > unless_written_after
        )
        if newer or item.note == text:
            return item, False
        item.note = text
        item.note_updated_at = now if text else None
        item.save(update_fields=["note", "note_updated_at"])
        return item, True


def can_pause(attempt: Attempt) -> bool:
    """A practice quiz with a clock, in progress, with pause allowance left."""
    return (
        not attempt.is_finished
        and attempt.assignment_id is None
        and attempt.simulation_id is None
        and attempt.mode == Attempt.Mode.TIMED
        and attempt.deadline_at is not None
        and attempt.paused_seconds < PAUSE_LIMIT_SECONDS
    )


def pause_allowance_left(attempt: Attempt) -> int:
    """Seconds of pause this quiz still has."""
    return max(0, PAUSE_LIMIT_SECONDS - attempt.paused_seconds)


def pause(
    *, attempt: Attempt | int, user: User | None = None, now: datetime.datetime | None = None
) -> Attempt:
    """Stop the clock of a practice timed quiz. Idempotent while paused. Raises CannotPause
    for an assignment, a quiz without a clock or with its allowance spent."""
    now = now or timezone.now()

    def stop(attempt: Attempt) -> None:
        if engine.is_paused(attempt, now):
            return
        if attempt.paused_at is not None:  # the last pause ran out by itself: close it
            _close_pause(attempt, now)
        if attempt.assignment_id is not None:
            raise CannotPause("An assignment's clock cannot be paused.")
        if attempt.simulation_id is not None:
            raise CannotPause("A block of an exam simulation cannot be paused: take the break.")
        if not can_pause(attempt):
            raise CannotPause(
                "This quiz has no pause left."
                if attempt.mode == Attempt.Mode.TIMED
                else "Only a timed quiz has a clock to pause."
            )
        assert attempt.deadline_at is not None  # can_pause
        engine.credit_current_question(attempt, now)
        attempt.deadline_before_pause = attempt.deadline_at
        attempt.deadline_at = attempt.deadline_at + datetime.timedelta(
            seconds=pause_allowance_left(attempt)
        )
        attempt.paused_at = now
        attempt.position_entered_at = None
        attempt.save(update_fields=[*_PAUSE_FIELDS, "position_entered_at"])

    return _change_attempt(attempt, now, user, stop)


def resume(
    *, attempt: Attempt | int, user: User | None = None, now: datetime.datetime | None = None
) -> Attempt:
    """Start the clock again: the deadline moves by the time paused (at most the allowance
    left). Idempotent when running."""
    now = now or timezone.now()

    def restart(attempt: Attempt) -> None:
        if attempt.paused_at is None:
            return
        _close_pause(attempt, now)
        attempt.position_entered_at = now
        attempt.save(update_fields=[*_PAUSE_FIELDS, "position_entered_at"])

    return _change_attempt(attempt, now, user, restart)


_PAUSE_FIELDS = ["deadline_at", "deadline_before_pause", "paused_at", "paused_seconds"]


def _close_pause(attempt: Attempt, now: datetime.datetime) -> None:
    """End the pause (on the instance): the deadline moves by the time paused, capped at
    the allowance, which is what the deadline already held at the cap."""
    assert attempt.paused_at is not None and attempt.deadline_before_pause is not None
    allowed = pause_allowance_left(attempt)
    paused = min(int((now - attempt.paused_at).total_seconds()), allowed)
    attempt.deadline_at = attempt.deadline_before_pause + datetime.timedelta(seconds=paused)
    attempt.paused_seconds += paused
    attempt.paused_at = attempt.deadline_before_pause = None
