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
from django.db import IntegrityError, transaction
from django.utils import timezone

from questions.models import Assignment, Attempt, AttemptItem, Question, ResidentProfile
from questions.quizzes import drawing, grading
from questions.quizzes.errors import AssignmentNotOpen, EngineError, NotInCohort

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from questions.models import Topic


@dataclass(frozen=True)
class QuizConfig:
    """What a resident chose on the quiz builder."""

    question_count: int
    mode: str = Attempt.Mode.TIMED
    pool: str = Attempt.Pool.ALL
    topics: list[Topic] = field(default_factory=list)


def snapshot(question: Question, rng: random.Random) -> dict[str, Any]:
    """What the resident will be shown, frozen: choices shuffled and relettered."""
    choices = [
        {
            "choice_id": c.pk,
            "text": c.text,
            "rationale": c.rationale,
            "is_correct": c.is_correct,
            "image": c.image_data(),
        }
        for c in question.choices.all()
    ]
    return {
        "stem": question.stem,
        "lead_in": question.lead_in,
        "image": question.image_data(),
        "objective": question.objective,
        "explanation": question.explanation,
        "choices": grading.shuffle_choices(choices, rng),
        "citations": [
            {"reference_id": c.reference_id, "locator": c.locator} for c in question.citations.all()
        ],
    }


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


@transaction.atomic
def start_attempt(
    *,
    user: User,
    config: QuizConfig,
    now: datetime.datetime | None = None,
    rng: random.Random | None = None,
    token: uuid.UUID | None = None,
) -> Attempt:
    """Draw the questions, shuffle their order and choices, fix the deadline. Raises
    drawing.PoolTooSmall when the pool holds fewer questions than asked for.

    ``token`` names the builder form the request came from: the same token again (a double
    click, a client retrying after a lost response) returns the attempt it started."""
    now = _now(now)
    if token is not None:
        started = Attempt.objects.filter(user=user, start_token=token).first()
        if started is not None:
            return started
    rng = rng or random.SystemRandom()
    questions = drawing.draw_questions(
        user=user, count=config.question_count, topics=config.topics, pool=config.pool, rng=rng
    )
    limit = grading.time_limit_seconds(
        question_count=len(questions),
        timed=config.mode == Attempt.Mode.TIMED,
        multiplier=_multiplier(user),
        seconds_per_question=settings.QUIZ_SECONDS_PER_QUESTION,
    )
    deadline = now + datetime.timedelta(seconds=limit) if limit else None
    try:
        with transaction.atomic():
            return _create_attempt(
                user=user,
                questions=questions,
                mode=config.mode,
                pool=config.pool,
                topics=config.topics,
                deadline=deadline,
                now=now,
                rng=rng,
                start_token=token,
            )
    except IntegrityError:
        if token is None:
            raise
        # The same form, sent twice at once: the other request committed its attempt first.
        return Attempt.objects.get(user=user, start_token=token)


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
    )
    attempt.topics.set(topics)
    AttemptItem.objects.bulk_create(
        AttemptItem(attempt=attempt, position=i, question=q, shown=snapshot(q, rng))
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
    """The resident's one attempt at an assignment: resumed if it exists, else started with
    the assignment's questions in a shuffled order.

    Timed: the assignment's time limit (or the standard pace) times the resident's
    multiplier, and never past the due date; an untimed setting leaves only the due date.
    Tutor: the due date is the deadline. Questions no longer published are left out.
    Raises NotInCohort, or AssignmentNotOpen when starting outside the open window."""
    now = _now(now)
    rng = rng or random.SystemRandom()
    if not assignment.cohort.residents.filter(pk=user.pk).exists():
        raise NotInCohort
    existing = Attempt.objects.filter(assignment=assignment, user=user).first()
    if existing is not None:
        return existing
    if not assignment.is_open(now):
        raise AssignmentNotOpen(assignment, now)
    # A question retired (or sent back to draft) since the assignment was set is not served.
    questions = list(assignment.questions.published().with_bank_relations())
    if not questions:
        raise EngineError(
            f"None of the questions of “{assignment.title}” is in use any more; "
            "please tell your educator."
        )
    rng.shuffle(questions)
    # Every assignment attempt ends by the due date; a tutor attempt has no other clock.
    deadline = assignment.due_at
    if assignment.mode == Attempt.Mode.TIMED:
        multiplier = _multiplier(user)
        seconds = (
            assignment.time_limit_minutes * 60 * multiplier
            if assignment.time_limit_minutes and multiplier
            else grading.time_limit_seconds(
                question_count=len(questions),
                timed=True,
                multiplier=multiplier,
                seconds_per_question=settings.QUIZ_SECONDS_PER_QUESTION,
            )
        )
        if seconds:
            deadline = min(deadline, now + datetime.timedelta(seconds=round(seconds)))
    try:
        with transaction.atomic():
            return _create_attempt(
                user=user,
                questions=questions,
                mode=assignment.mode,
                pool=Attempt.Pool.ALL,
                topics=[],
                deadline=deadline,
                now=now,
                rng=rng,
                assignment=assignment,
            )
    except IntegrityError:  # a second tab started it first: one attempt per assignment
        return Attempt.objects.get(assignment=assignment, user=user)
