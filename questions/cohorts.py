"""Cohorts and assignments: who may see whose results, and setting a quiz for a cohort.

- An educator sees the cohorts they are listed on, and only those; a superuser sees all.
  A resident never sees another resident's results (the pages 404 rather than reveal
  that a cohort or a resident exists).
- Residents join a cohort themselves, with its join code: nobody else can put a resident
  in a cohort (and so show their results to its educators), except a superuser.
- An assignment's questions are fixed when it is created: a rule (topics and a count) is
  drawn once, so every resident of the cohort answers the same questions.
"""

from __future__ import annotations

import datetime
import random

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from . import bank
from .models import Assignment, Attempt, Cohort, Question, normalize_join_code


def cohorts_for(user) -> QuerySet[Cohort]:
    """The cohorts whose results ``user`` may follow."""
    if user.is_superuser:
        return Cohort.objects.all()
    return Cohort.objects.filter(educators=user)


class JoinRefused(Exception):
    """Why a resident could not join a cohort; the message is for the resident."""


def join_cohort(*, user, code: str) -> Cohort:
    """Add ``user`` to the residents of the cohort whose join code is ``code`` (any case,
    spaces ignored). Joining is the resident's act: it is what shares their results with
    the cohort's educators. Idempotent. Raises JoinRefused."""
    if user.is_staff:
        raise JoinRefused("Staff accounts follow cohorts as educators; they cannot join one.")
    # A malformed code (a NUL among others, which PostgreSQL refuses in a query) cannot
    # match any cohort, so it is not looked up.
    normalized = normalize_join_code(code)
    cohort = Cohort.objects.filter(join_code=normalized).first() if normalized else None
    if cohort is None:
        raise JoinRefused("No cohort has that code. Check it with your educator.")
    cohort.residents.add(user)
    return cohort


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
    rng: random.Random | None = None,
) -> Assignment:
    """Create an assignment. A fixed set takes ``questions`` (published ones only); a rule
    draws ``question_count`` published questions from ``topics`` (all when empty).
    Raises ValidationError (nothing saved) or bank.PoolTooSmall."""
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
        chosen = bank.draw_questions(
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
    )
    assignment.full_clean()
    assignment.save()
    assignment.questions.set(chosen)
    if kind == Assignment.Kind.RULE:
        assignment.topics.set(topics)
    return assignment
