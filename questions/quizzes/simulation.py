"""Exam simulations: blocks of questions with a timed break between them and a start
screen per block, as the computer-based board exams run.

A simulation is a sequence of ordinary timed attempts, its *blocks*
(``Attempt.simulation``, ``Attempt.block_number``), so everything the engine holds for a
timed quiz holds for each block unchanged: the deadline fixed on the server when the block
starts, answers within the grace period, lazy expiry stamped at the deadline, and scoring
(an unanswered question is wrong). The questions are drawn once, when the simulation is
created (``ExamSimulation.question_ids``): no question comes back in a later block, and a
block that starts by itself never finds its pool empty. The pace is fixed then too: the
standard pace times the resident's time setting. An "untimed" setting is refused: the
exam is timed.

Where the resident stands (a ``Phase``) is computed on the server from timestamps, on every
read, like the engine's expiry:
- START: block 1's start screen; nothing runs yet.
- BLOCK: a block in progress (its attempt).
- BREAK: block k is over (submitted, or its time ran out) and the break runs until its
  end + ``break_seconds``; the page shows block k+1's start screen with the break's
  countdown. ``end_break`` skips the rest of the break: block k+1 starts now.
- FINISHED (terminal): the last block is over; stamped as of that block's end.
A break that runs out starts the next block by itself, as of the break's end, as on the
exam: its deadline is the break's end plus the block's time, and a block already overdue
then is finished as of its deadline. A simulation left alone therefore runs its course on
its next read, every block stamped when the exam would have ended it.

Writes lock the simulation's row (SELECT ... FOR UPDATE) before its blocks', and the
database holds one attempt per block number, so a double click on "Start block" starts
one block. All functions take ``now`` so tests control time; it defaults to the server
clock.
"""

from __future__ import annotations

import datetime
import enum
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from questions.models import Attempt, ExamSimulation, ResidentProfile
from questions.quizzes import drawing, engine, starting
from questions.quizzes.errors import EngineError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from questions.models import Topic


class Phase(enum.StrEnum):
    START = "start"
    BLOCK = "block"
    BREAK = "break"
    FINISHED = "finished"


class UntimedSetting(EngineError):
    def __init__(self) -> None:
        super().__init__(
            "An exam simulation is timed, as the exam is, and your settings say untimed. "
            "Choose standard or extended time in your settings to simulate an exam."
        )


class SimulationOver(EngineError):
    def __init__(self, message: str = "This exam simulation is over.") -> None:
        super().__init__(message)


class NotOnBreak(EngineError):
    def __init__(self) -> None:
        super().__init__("There is no break running to end.")


class StaleBlock(EngineError):
    def __init__(self, block_number: int) -> None:
        super().__init__(
            f"Block {block_number} has already been taken; here is where your simulation "
            "stands now."
        )


@dataclass(frozen=True)
class SimulationState:
    """Where a resident stands in a simulation, as of ``now``.

    ``blocks``: the blocks started so far, by number. ``block_number``: at START and BREAK
    the block to start next, at BLOCK the one running, None when FINISHED. ``attempt``: the
    block running (BLOCK). ``break_ends_at``: when the break ends and the next block starts
    by itself (BREAK)."""

    simulation: ExamSimulation
    phase: Phase
    blocks: list[Attempt]
    now: datetime.datetime
    block_number: int | None = None
    attempt: Attempt | None = None
    break_ends_at: datetime.datetime | None = None

    @property
    def remaining_seconds(self) -> int | None:
        """Of the break (BREAK) or of the block's clock (BLOCK), in whole seconds."""
        end = self.break_ends_at if self.phase is Phase.BREAK else None
        if self.phase is Phase.BLOCK and self.attempt is not None:
            end = self.attempt.deadline_at
        if end is None:
            return None
        return max(0, int((end - self.now).total_seconds()))

    @property
    def is_last_block(self) -> bool:
        return self.block_number == self.simulation.block_count


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def pace_seconds(user: User) -> int | None:
    """The resident's pace, in seconds a question: the standard pace
    (settings.QUIZ_SECONDS_PER_QUESTION) times their time setting; None when untimed."""
    profile, _ = ResidentProfile.objects.get_or_create(user=user)
    multiplier = profile.time_multiplier
    if multiplier is None:
        return None
    standard: int = settings.QUIZ_SECONDS_PER_QUESTION
    return round(standard * multiplier)


@dataclass(frozen=True)
class Timing:
    """A simulation's clocks, in seconds: each block's, and the longest the whole can last
    (every block's clock and every break)."""

    block_seconds: int
    total_seconds: int


def timing(*, block_count: int, block_size: int, break_seconds: int, pace_seconds: int) -> Timing:
    """The clocks of a simulation with these settings (pure; what the builder shows)."""
    planned = ExamSimulation(
        block_count=block_count,
        block_size=block_size,
        break_seconds=break_seconds,
        seconds_per_question=pace_seconds,
    )
    return Timing(block_seconds=planned.block_seconds, total_seconds=planned.total_seconds)


@transaction.atomic
def create_simulation(
    *,
    user: User,
    block_count: int,
    block_size: int,
    break_seconds: int,
    pool: str = Attempt.Pool.ALL,
    topics: Sequence[Topic] = (),
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
    token: uuid.UUID | None = None,
) -> ExamSimulation:
    """A new simulation at its first block's start screen: ``block_count`` x
    ``block_size`` distinct questions drawn now from ``pool`` in ``topics`` (all when
    empty), the resident's pace fixed. Raises UntimedSetting for a resident whose setting
    is untimed, drawing.PoolTooSmall when the pool holds fewer questions than every block
    together asks, django's ValidationError for sizes out of range.

    ``token`` names the builder form: the same token again (a double click, a retry)
    returns the simulation it created."""
    now = _now(now)
    if token is not None:
        created = ExamSimulation.objects.filter(user=user, start_token=token).first()
        if created is not None:
            return created
    pace = pace_seconds(user)
    if pace is None:
        raise UntimedSetting
    simulation = ExamSimulation(
        user=user,
        block_count=block_count,
        block_size=block_size,
        seconds_per_question=pace,
        break_seconds=break_seconds,
        pool=pool,
        created_at=now,
        start_token=token,
    )
    simulation.full_clean(exclude=["question_ids"])
    questions = drawing.draw_questions(
        user=user, count=block_count * block_size, topics=list(topics), pool=pool, rng=rng
    )
    simulation.question_ids = [question.pk for question in questions]
    try:
        with transaction.atomic():
            simulation.save()
    except IntegrityError:
        if token is None:
            raise
        # The same form, sent twice at once: the other request committed its simulation.
        return ExamSimulation.objects.get(user=user, start_token=token)
    simulation.topics.set(topics)
    return simulation


def _blocks(simulation: ExamSimulation) -> list[Attempt]:
    return list(simulation.blocks.order_by("block_number"))


def _break_ends_at(simulation: ExamSimulation, block: Attempt) -> datetime.datetime:
    assert block.finished_at is not None  # only a finished block is followed by a break
    return block.finished_at + datetime.timedelta(seconds=simulation.break_seconds)


def _needs_writing(
    simulation: ExamSimulation, blocks: Sequence[Attempt], now: datetime.datetime
) -> bool:
    """Whether time has moved the simulation on since it was last written: its block
    overdue, its last block over, or a break run out."""
    if simulation.is_finished or not blocks:
        return False
    last = blocks[-1]
    if not last.is_finished:
        return engine.is_overdue(last, now)
    return last.block_number == simulation.block_count or now >= _break_ends_at(simulation, last)


def _state(
    simulation: ExamSimulation, blocks: list[Attempt], now: datetime.datetime
) -> SimulationState:
    """The phase of a simulation that time has not moved on (``_needs_writing`` is False)."""
    if simulation.is_finished:
        return SimulationState(simulation, Phase.FINISHED, blocks, now)
    if not blocks:
        return SimulationState(simulation, Phase.START, blocks, now, block_number=1)
    last = blocks[-1]
    if not last.is_finished:
        return SimulationState(
            simulation, Phase.BLOCK, blocks, now, block_number=last.block_number, attempt=last
        )
    return SimulationState(
        simulation,
        Phase.BREAK,
        blocks,
        now,
        block_number=(last.block_number or 0) + 1,
        break_ends_at=_break_ends_at(simulation, last),
    )


def _finish(simulation: ExamSimulation, at: datetime.datetime) -> None:
    simulation.status = ExamSimulation.Status.FINISHED
    simulation.finished_at = at
    simulation.save(update_fields=["status", "finished_at"])


def _start_block(
    simulation: ExamSimulation, block_number: int, at: datetime.datetime
) -> Attempt | None:
    """Under the simulation's lock: block ``block_number`` started at ``at``. None when
    none of its questions is in use any more: the simulation is then finished as of
    ``at`` (it cannot go on)."""
    try:
        with transaction.atomic():
            return starting.start_block(
                simulation=simulation, block_number=block_number, started_at=at
            )
    except IntegrityError:
        # Started by a concurrent request first (SQLite takes no row lock): that block.
        return Attempt.objects.get(simulation=simulation, block_number=block_number)
    except EngineError:
        _finish(simulation, at)
        return None


def _advance_locked(simulation: ExamSimulation, now: datetime.datetime) -> SimulationState:
    """Under the simulation's row lock: write what time has done since the last write (a
    block overdue finished as of its deadline, a run-out break's block started as of the
    break's end, the simulation finished as of its last block's end), then its state."""
    blocks = _blocks(simulation)
    while _needs_writing(simulation, blocks, now):
        last = blocks[-1]
        if not last.is_finished:
            blocks[-1] = engine.expire_if_due(last, now=now)
        elif last.block_number == simulation.block_count:
            assert last.finished_at is not None
            _finish(simulation, last.finished_at)
        else:
            started = _start_block(
                simulation, (last.block_number or 0) + 1, _break_ends_at(simulation, last)
            )
            if started is not None:
                blocks.append(started)
    return _state(simulation, blocks, now)


def _lock(simulation: ExamSimulation | int, *, user: User | None = None) -> ExamSimulation:
    """The simulation's row, locked; only ``user``'s when given (DoesNotExist if not)."""
    simulations = ExamSimulation.objects.select_for_update()
    if user is not None:
        simulations = simulations.filter(user=user)
    pk = simulation if isinstance(simulation, int) else simulation.pk
    return simulations.get(pk=pk)


def simulation_state(
    *, simulation: ExamSimulation, now: datetime.datetime | None = None
) -> SimulationState:
    """Where the resident stands in ``simulation`` as of ``now``, after writing what time
    has done since the last read (see the module's docstring). One query for its blocks
    when time has done nothing; otherwise its row is locked and the writes are made."""
    now = _now(now)
    blocks = _blocks(simulation)
    if not _needs_writing(simulation, blocks, now):
        return _state(simulation, blocks, now)
    with transaction.atomic():
        return _advance_locked(_lock(simulation), now)


def _start_now(
    simulation: ExamSimulation | int,
    *,
    user: User,
    now: datetime.datetime,
    on_break_only: bool,
    block_number: int | None,
) -> Attempt:
    with transaction.atomic():
        locked = _lock(simulation, user=user)
        state = _advance_locked(locked, now)
        if state.phase is Phase.BLOCK:
            # A double click, a second tab, or a break that ran out: the block already runs.
            assert state.attempt is not None
            return state.attempt
        refusal: EngineError | None = None
        if state.phase is Phase.FINISHED:
            refusal = SimulationOver()
        elif on_break_only and state.phase is not Phase.BREAK:
            refusal = NotOnBreak()
        elif block_number is not None and block_number != state.block_number:
            refusal = StaleBlock(block_number)
        else:
            assert state.block_number is not None
            started = _start_block(locked, state.block_number, now)
            if started is not None:
                return started
            refusal = SimulationOver(
                f"None of the questions of block {state.block_number} is in use any more, "
                "so this simulation ended here."
            )
    raise refusal  # after the transaction: what it wrote (an expiry, the end) is kept


def start_block(
    *,
    simulation: ExamSimulation | int,
    user: User,
    block_number: int | None = None,
    now: datetime.datetime | None = None,
) -> Attempt:
    """Start the next block now, from its start screen (or during the break before it,
    which this ends). ``block_number`` is the block the page offered: when that block
    already runs (a double click), it is returned; when it is over, StaleBlock. Returns
    the block in progress; raises SimulationOver when the simulation is over, or
    ExamSimulation.DoesNotExist when it is not ``user``'s."""
    return _start_now(
        simulation, user=user, now=_now(now), on_break_only=False, block_number=block_number
    )


def end_break(
    *,
    simulation: ExamSimulation | int,
    user: User,
    now: datetime.datetime | None = None,
) -> Attempt:
    """Skip the rest of the break: the next block starts now. When it already runs (a
    double click, or the break ran out meanwhile), it is returned. Raises NotOnBreak when
    no break runs (block 1's start screen), SimulationOver when the simulation is over,
    ExamSimulation.DoesNotExist when it is not ``user``'s."""
    return _start_now(simulation, user=user, now=_now(now), on_break_only=True, block_number=None)


@dataclass(frozen=True)
class BlockRow:
    """One block on the summary: its attempt, its score as the resident may see it, and
    the time it took."""

    attempt: Attempt
    time_used_seconds: int
    correct: int
    total: int
    held: int = 0  # answers left out: an assignment set since still assesses them

    @property
    def percent(self) -> float:
        return round(100 * self.correct / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class Summary:
    """A finished simulation's figures, from its blocks' stored scores (no item is read)."""

    rows: list[BlockRow]
    correct: int
    total: int
    time_used_seconds: int
    held: int = 0

    @property
    def percent(self) -> float:
        return round(100 * self.correct / self.total, 1) if self.total else 0.0


def summary(state: SimulationState, *, held: dict[int, dict[str, int]] | None = None) -> Summary:
    """Each finished block's score and time (from its start to its end), and the totals.
    ``held``: per block attempt, the answers held back from the resident and how many of
    them were right (``analytics.progress.held_scores``), taken out of the scores."""
    held = held or {}
    rows = []
    for block in state.blocks:
        if block.finished_at is None:
            continue
        out = held.get(block.pk, {"held": 0, "correct": 0})
        rows.append(
            BlockRow(
                attempt=block,
                time_used_seconds=int((block.finished_at - block.started_at).total_seconds()),
                correct=(block.correct_count or 0) - out["correct"],
                total=block.question_count - out["held"],
                held=out["held"],
            )
        )
    return Summary(
        rows=rows,
        correct=sum(row.correct for row in rows),
        total=sum(row.total for row in rows),
        time_used_seconds=sum(row.time_used_seconds for row in rows),
        held=sum(row.held for row in rows),
    )


@dataclass(frozen=True)
class Builder:
    """What the simulation builder shows: the resident's pace (None: untimed, refused) and
    their simulations, newest first, each with its blocks (by number) prefetched."""

    pace_seconds: int | None
    simulations: list[ExamSimulation]


def builder(*, user: User, now: datetime.datetime | None = None) -> Builder:
    """The builder's figures. A simulation that time has moved on (a break run out, a block
    overdue) is written up to date first, as its own page would; that happens once in its
    life, so the queries do not grow with the simulations listed or their blocks:
    three, plus the profile's."""
    now = _now(now)
    ordered = Attempt.objects.order_by("block_number")
    simulations = list(
        ExamSimulation.objects.filter(user=user).prefetch_related(Prefetch("blocks", ordered))
    )
    for index, simulation in enumerate(simulations):
        if _needs_writing(simulation, list(simulation.blocks.all()), now):
            with transaction.atomic():
                _advance_locked(_lock(simulation), now)
            simulations[index] = (
                ExamSimulation.objects.filter(pk=simulation.pk)
                .prefetch_related(Prefetch("blocks", ordered))
                .get()
            )
    return Builder(pace_seconds=pace_seconds(user), simulations=simulations)
