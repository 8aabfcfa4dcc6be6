"""Starting an attempt: a practice quiz from the resident's pool, or an assignment's one
attempt. The questions are drawn, ordered and their choices shuffled (relettered A-E), and
what will be shown is frozen on each ``AttemptItem``, so later edits to a question never
change a quiz already started. The deadline is fixed here, on the server: started_at +
time_limit_seconds (capped by an assignment's due date).
All functions take ``now`` so tests control time; it defaults to the server clock.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import JSONField, Value
from django.utils import timezone

from questions.models import Assignment, Attempt, AttemptItem, Question, ResidentProfile
from questions.quizzes import control, drawing, engine, grading
from questions.quizzes.errors import AssignmentNotOpen, EngineError, NotDiscardable, NotInCohort

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from questions.models import ExamSimulation, Topic


@dataclass(frozen=True)
class QuizConfig:
    """What a resident chose on the quiz builder."""

    question_count: int
    mode: str = Attempt.Mode.TIMED
    pool: str = Attempt.Pool.ALL
    topics: list[Topic] = field(default_factory=list)


def snapshot(question: Question, rng: random.Random) -> dict[str, Any]:
    """What the resident will be shown, frozen: choices shuffled and relettered. The
    question's choices and citations as drawn (``drawing.draw_questions`` lists them), else
    through its relations (prefetch them: ``with_bank_relations``)."""
    drawn_choices = getattr(question, "drawn_choices", None)
    drawn_citations = getattr(question, "drawn_citations", None)
    choices = [
        {
            "choice_id": c.pk,
            "text": c.text,
            "rationale": c.rationale,
            "is_correct": c.is_correct,
            "image": c.image_data(),
        }
        for c in (question.choices.all() if drawn_choices is None else drawn_choices)
    ]
    citations = question.citations.all() if drawn_citations is None else drawn_citations
    return {
        "stem": question.stem,
        "lead_in": question.lead_in,
        "image": question.image_data(),
        "stem_diagram": question.stem_diagram.image_data() if question.stem_diagram else None,
        "objective": question.objective,
        "explanation": question.explanation,
        "explanation_diagram": (
            question.explanation_diagram.image_data() if question.explanation_diagram else None
        ),
        "choices": grading.shuffle_choices(choices, rng),
        "citations": [{"reference_id": c.reference_id, "locator": c.locator} for c in citations],
    }


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def start_attempt(
    *,
    user: User,
    config: QuizConfig,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
    token: uuid.UUID | None = None,
    resume_identical: bool = False,
) -> Attempt:
    """Draw the questions, shuffle their order and choices, fix the deadline. Raises
    drawing.PoolTooSmall when the pool holds fewer questions than asked for.

    ``token`` names the builder form the request came from: the same token again (a double
    click, a client retrying after a lost response) returns the attempt it started.

    ``resume_identical`` (the dashboard's quick starts: "Review due questions", "Quiz me"):
    when the resident already has a practice quiz in progress with exactly this ``config``
    (``identical_in_progress``), that quiz is returned instead of a second, identical one.
    The resident's row is locked first, so two presses at once start one quiz.

    One transaction of six queries whatever the number of questions: the draw, the drawn
    questions' choices and citations, the resident's pace, the attempt, its items (a
    seventh for the topics chosen; before them, the token's check, and for a quick start
    the resident's row lock and their quizzes in progress)."""
    now = _now(now)
    try:
        # No savepoint inside: a start that loses the race for its token rolls back whole.
        with transaction.atomic():
            return _start(
                user=user,
                config=config,
                now=now,
                rng=rng or random.SystemRandom(),
                token=token,
                resume_identical=resume_identical,
            )
    except IntegrityError:
        # The same form, sent twice at once: the other request committed its attempt first.
        started = Attempt.objects.filter(user=user, start_token=token).first() if token else None
        if started is None:
            raise
        return started


def _start(
    *,
    user: User,
    config: QuizConfig,
    now: datetime.datetime,
    rng: random.Random,
    token: uuid.UUID | None,
    resume_identical: bool,
) -> Attempt:
    """``start_attempt``'s work, inside its transaction."""
    if token is not None:
        started = Attempt.objects.filter(user=user, start_token=token).first()
        if started is not None:
            return started
    if resume_identical:
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk"))
        same = identical_in_progress(user=user, config=config, now=now)
        if same is not None:
            return same
    questions = drawing.draw_questions(
        user=user,
        count=config.question_count,
        topics=config.topics,
        pool=config.pool,
        rng=rng,
        now=now,
    )
    limit = grading.time_limit_seconds(
        question_count=len(questions),
        timed=config.mode == Attempt.Mode.TIMED,
        multiplier=_multiplier(user),
        seconds_per_question=settings.QUIZ_SECONDS_PER_QUESTION,
    )
    return _create_attempt(
        user=user,
        questions=questions,
        mode=config.mode,
        pool=config.pool,
        topics=config.topics,
        deadline=now + datetime.timedelta(seconds=limit) if limit else None,
        now=now,
        rng=rng,
        start_token=token,
    )


@dataclass(frozen=True)
class QuizPreview:
    """What the quiz builder says before a quiz starts, for one resident and ``QuizConfig``.

    ``counts``: drawing.pool_counts (each pool's questions in the chosen topics, each
    topic's in each pool); ``available``: what the chosen pool holds in the chosen topics,
    the most questions such a quiz can have; ``held_back``: the questions of these topics
    kept out of practice while an assignment assesses them; ``pace_seconds``: the
    resident's own pace, a question (None: their untimed setting); ``block_seconds``: the
    whole block's clock for the chosen number of questions (None: tutor mode, untimed, or
    no number yet)."""

    counts: dict[str, dict[int | str, int]]
    available: int
    held_back: int
    pace_seconds: int | None
    block_seconds: int | None


def preview(*, user: User, config: QuizConfig, now: datetime.datetime | None = None) -> QuizPreview:
    """The builder's counts and times for ``config`` (its ``question_count`` may be 0: not
    chosen yet). Reads only: two queries, whatever the number of topics or attempts."""
    counts, held_back = drawing.builder_counts(user=user, topics=config.topics, now=now)
    profile = ResidentProfile.objects.filter(user=user).first()
    multiplier = profile.time_multiplier if profile else 1.0  # the profile's default
    pace = settings.QUIZ_SECONDS_PER_QUESTION
    return QuizPreview(
        counts=counts,
        available=counts[config.pool]["total"],
        held_back=held_back,
        pace_seconds=round(pace * multiplier) if multiplier is not None else None,
        block_seconds=grading.time_limit_seconds(
            question_count=config.question_count,
            timed=config.mode == Attempt.Mode.TIMED,
            multiplier=multiplier,
            seconds_per_question=pace,
        )
        if config.question_count > 0
        else None,
    )


def identical_in_progress(
    *, user: User, config: QuizConfig, now: datetime.datetime | None = None
) -> Attempt | None:
    """The resident's most recently started practice quiz still in progress with exactly
    ``config``: the same mode, pool, number of questions and set of topics. One past its
    deadline does not count (it is finished, as of its deadline, when next read); an
    assignment's attempt or an exam simulation's block never does. Two queries."""
    now = _now(now)
    wanted = {topic.pk for topic in config.topics}
    candidates = (
        Attempt.objects.filter(
            user=user,
            status=Attempt.Status.IN_PROGRESS,
            assignment__isnull=True,
            simulation__isnull=True,
            mode=config.mode,
            pool=config.pool,
            question_count=config.question_count,
        )
        .prefetch_related("topics")
        .order_by("-started_at", "-pk")
    )
    for attempt in candidates:
        if {t.pk for t in attempt.topics.all()} == wanted and not engine.is_overdue(attempt, now):
            return attempt
    return None


def discard_refusal(
    attempt: Attempt, *, now: datetime.datetime | None = None
) -> NotDiscardable | None:
    """Why ``attempt`` cannot be discarded (the error ``discard_attempt`` would raise), or
    None when it can: only a practice quiz in progress and within its time, and not a block
    of an exam simulation, can. No query."""
    if attempt.assignment_id is not None:
        return NotDiscardable(NotDiscardable.ASSIGNMENT)
    if attempt.simulation_id is not None:
        return NotDiscardable(NotDiscardable.SIMULATION)
    if attempt.is_finished or engine.is_overdue(attempt, _now(now)):
        return NotDiscardable(NotDiscardable.FINISHED)
    return None


def discard_attempt(*, attempt: Attempt, user: User, now: datetime.datetime | None = None) -> None:
    """Delete a practice quiz in progress with its items, as if it had never been started:
    it then counts nowhere. Nothing of it has reached the statistics that outlive it: first
    encounters, the spaced-recall schedule and stored scores are written when a quiz
    finishes, and the answers it held (tutor answers are scored at once) go with its items.
    Error reports about its questions stay (their item link is set to null).

    Under the attempt's row lock, so an answer or a finish arriving at the same moment is
    applied before (then this refuses, if it finished) or finds no quiz after. Raises
    NotDiscardable for an assignment's attempt, a block of an exam simulation, or a finished
    one (one past its deadline included: it counts as of its deadline), Attempt.DoesNotExist
    when it is not ``user``'s."""
    now = _now(now)
    with transaction.atomic():
        locked = Attempt.objects.select_for_update().get(pk=attempt.pk, user=user)
        refusal = discard_refusal(locked, now=now)
        if refusal is not None:
            raise refusal
        locked.delete()


def _multiplier(user: User) -> float | None:
    profile, _ = ResidentProfile.objects.get_or_create(user=user)
    return profile.time_multiplier


def _create_attempt(
    *,
    user: User,
    questions: Sequence[Question],
    mode: str,
    pool: str,
    topics: Iterable[Topic],
    deadline: datetime.datetime | None,
    now: datetime.datetime,
    rng: random.Random,
    assignment: Assignment | None = None,
    start_token: uuid.UUID | None = None,
    simulation: ExamSimulation | None = None,
    block_number: int | None = None,
    attempt_number: int = 1,
    clock_seconds: int | None = None,
) -> Attempt:
    attempt = Attempt.objects.create(
        user=user,
        start_token=start_token,
        mode=mode,
        pool=pool,
        started_at=now,
        position_entered_at=now,
        time_limit_seconds=int((deadline - now).total_seconds()) if deadline else None,
        deadline_at=deadline,
        question_count=len(questions),
        assignment=assignment,
        simulation=simulation,
        block_number=block_number,
        attempt_number=attempt_number,
        clock_seconds=clock_seconds,
    )
    # A new attempt has no topics yet: no need for the SELECT of those it has that set() runs.
    Attempt.topics.through.objects.bulk_create(
        Attempt.topics.through(attempt=attempt, topic=topic) for topic in topics
    )
    # Each frozen question as a JSON value of its own (Value): given plain dicts, bulk_create
    # on PostgreSQL sends the column as one array of JSON texts, which psycopg escapes quote by
    # quote in Python, a third of the insert's time at 40 questions.
    AttemptItem.objects.bulk_create(
        AttemptItem(
            attempt=attempt,
            position=i,
            question=q,
            shown=Value(snapshot(q, rng), output_field=JSONField()),
        )
        for i, q in enumerate(questions, start=1)
    )
    return attempt


@transaction.atomic
def start_assignment(
    *,
    user: User,
    assignment: Assignment,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
) -> Attempt:
    """The resident's attempt at an assignment: the one in progress if there is one, else
    the latest finished one when they have used every attempt allowed
    (``control.attempts_allowed``), else a new one with the assignment's questions in a
    shuffled order.

    The deadline: the resident's due date (``control.resident_due_at``), and for a timed
    assignment, sooner if their clock (``control.assignment_clock_seconds``: the time limit
    times the educators' accommodation, plus granted minutes; never the resident's own
    practice setting) runs out first. Questions no longer published are left out. Raises
    NotInCohort, or AssignmentNotOpen outside the resident's open window (or archived)."""
    now = _now(now)
    rng = rng or random.SystemRandom()
    if not assignment.cohort.residents.filter(pk=user.pk).exists():
        raise NotInCohort
    # The assignment as it stands, locked: an educator's close or archive either commits
    # first (and is seen here) or waits for this attempt and then moves it too.
    assignment = (
        Assignment.objects.select_for_update().select_related("cohort").get(pk=assignment.pk)
    )
    # One start at a time per resident: a second tab waits here, then finds this attempt.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk"))
    mine = list(Attempt.objects.filter(assignment=assignment, user=user).order_by("attempt_number"))
    in_progress = [a for a in mine if a.status == Attempt.Status.IN_PROGRESS]
    if in_progress:
        return in_progress[-1]
    if mine and len(mine) >= control.attempts_allowed(assignment=assignment, resident=user):
        return mine[-1]
    due = control.resident_due_at(assignment=assignment, resident=user)
    if assignment.archived_at is not None or not (assignment.opens_at <= now <= due):
        raise AssignmentNotOpen(assignment, now, due_at=due)
    # A question retired (or sent back to draft) since the assignment was set is not served.
    questions = list(assignment.questions.published().with_bank_relations())
    if not questions:
        raise EngineError(
            f"None of the questions of “{assignment.title}” is in use any more; "
            "please tell your educator."
        )
    rng.shuffle(questions)
    clock = control.assignment_clock_seconds(
        assignment=assignment, resident=user, question_count=len(questions)
    )
    deadline = due if clock is None else min(due, now + datetime.timedelta(seconds=clock))
    try:
        with transaction.atomic():
            attempt = _create_attempt(
                user=user,
                questions=questions,
                mode=assignment.mode,
                pool=Attempt.Pool.ALL,
                topics=[],
                deadline=deadline,
                now=now,
                rng=rng,
                assignment=assignment,
                attempt_number=len(mine) + 1,
                clock_seconds=clock,
            )
    except IntegrityError:  # started at the same moment elsewhere: one attempt per number
        return Attempt.objects.get(assignment=assignment, user=user, attempt_number=len(mine) + 1)
    return attempt


def start_block(
    *,
    simulation: ExamSimulation,
    block_number: int,
    started_at: datetime.datetime,
    rng: random.Random | None = None,
) -> Attempt:
    """Block ``block_number`` of an exam simulation: a timed practice attempt at the
    questions planned for it when the simulation was created, in the planned order (those
    no longer published, or now held back by an assignment, left out), started at
    ``started_at`` (the end of the break before it, when the break ran out) with the
    simulation's pace: deadline = started_at + questions x
    ``simulation.seconds_per_question``.

    The caller (``quizzes.simulation``) holds the simulation's row lock; the database
    refuses a second attempt with the same block number (IntegrityError). Raises
    EngineError when none of the block's questions is in use any more."""
    rng = rng or random.SystemRandom()
    planned = simulation.block_question_ids(block_number)
    # Planned before an assignment of the resident's cohorts took some of them: those stay
    # held back, as from any practice, until it is over.
    published = (
        Question.objects.published()
        .not_assessed_for(simulation.user, started_at)
        .with_bank_relations()
        .in_bulk(planned)
    )
    questions = [published[pk] for pk in planned if pk in published]
    if not questions:
        raise EngineError(
            f"None of the questions of block {block_number} is in use any more; "
            "this simulation cannot go on."
        )
    seconds = len(questions) * simulation.seconds_per_question
    return _create_attempt(
        user=simulation.user,
        questions=questions,
        mode=Attempt.Mode.TIMED,
        pool=simulation.pool,
        topics=simulation.topics.all(),
        deadline=started_at + datetime.timedelta(seconds=seconds),
        now=started_at,
        rng=rng,
        simulation=simulation,
        block_number=block_number,
    )
