"""Setting an assignment for a cohort: a fixed set of questions, or a rule (topics and a
count) drawn once, when the assignment is created, so every resident gets the same quiz."""

from __future__ import annotations

import datetime
import random

from django.core.exceptions import ValidationError
from django.db import transaction

from questions.models import Assignment, Attempt, Cohort, CohortLogEntry, Question
from questions.notifications import events
from questions.quizzes import drawing


@transaction.atomic
def create_assignment(
    *,
    cohort: Cohort,
    created_by,
    title: str,
    kind: str,
    mode: str,
    opens_at: datetime.datetime,
    due_at: datetime.datetime,
    questions=(),
    topics=(),
    question_count: int | None = None,
    time_limit_minutes: int | None = None,
    release: str = Assignment.Release.AT_DUE,
    rng: random.Random | None = None,
) -> Assignment:
    """Create an assignment. A fixed set takes ``questions`` (published ones only); a rule
    draws ``question_count`` published questions from ``topics`` (all when empty).
    Raises ValidationError (nothing saved) or drawing.PoolTooSmall."""
    if kind == Assignment.Kind.FIXED:
        chosen = list(questions)
        unpublished = [q.key for q in chosen if q.status != Question.Status.PUBLISHED]
        if unpublished:
            raise ValidationError(
                "Only published questions can be assigned: " + ", ".join(unpublished),
                code="unpublished",
            )
        if not chosen:
            raise ValidationError("Choose at least one question.", code="no_questions")
    else:
        chosen = drawing.draw_questions(
            user=created_by,
            count=question_count or 0,
            topics=list(topics),
            pool=Attempt.Pool.ALL,
            rng=rng,
        )
    assignment = Assignment(
        cohort=cohort,
        created_by=created_by,
        title=title,
        kind=kind,
        mode=mode,
        opens_at=opens_at,
        due_at=due_at,
        question_count=len(chosen),
        time_limit_minutes=time_limit_minutes,
        release=release,
    )
    assignment.full_clean()
    assignment.save()
    assignment.questions.set(chosen)
    if kind == Assignment.Kind.RULE:
        assignment.topics.set(topics)
    CohortLogEntry.objects.create(
        cohort=cohort,
        assignment=assignment,
        actor=created_by,
        at=assignment.created_at,
        action=CohortLogEntry.Action.SET,
        summary=f"set “{title}”: {len(chosen)} questions",
    )
    events.assignment_set(assignment)  # its residents are told, by a job of this transaction
    return assignment
