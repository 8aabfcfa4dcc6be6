"""Which questions a resident can draw (their pool) and drawing a quiz's questions from it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery

from questions.learning import recall
from questions.models import (
    Attempt,
    AttemptItem,
    Question,
    RecallCard,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from questions.models import Topic


class PoolTooSmall(Exception):
    def __init__(self, *, available: int, requested: int) -> None:
        super().__init__(
            f"Only {available} question{'s' if available != 1 else ''} match these settings; "
            f"choose {available} or fewer, or widen the topics or pool."
            if available
            else "No question matches these settings: choose other topics or another pool."
        )
        self.available = available
        self.requested = requested


def pool_questions(
    *, user: User, topics: Sequence[Topic] | None = None, pool: str = Attempt.Pool.ALL
) -> QuerySet[Question]:
    """Published questions in ``topics`` (all when empty) that belong to ``pool`` for ``user``:

    - all: every published question;
    - unused: never shown to the user in any attempt;
    - incorrect: the user's most recent locked answer to it was wrong (or left unanswered);
    - flagged: flagged in the user's most recent attempt that showed it;
    - due: on the user's spaced-review schedule and due now (``review``).
    """
    questions = Question.objects.published()
    if topics:
        questions = questions.filter(pk__in=Question.objects.filter(topics__in=topics).values("pk"))
    mine = AttemptItem.objects.filter(question=OuterRef("pk"), attempt__user=user)
    if pool == Attempt.Pool.UNUSED:
        questions = questions.exclude(
            pk__in=AttemptItem.objects.filter(attempt__user=user).values("question")
        )
    elif pool == Attempt.Pool.INCORRECT:
        last = mine.filter(locked_at__isnull=False).order_by("-locked_at", "-id")
        questions = questions.alias(last_correct=Subquery(last.values("is_correct")[:1])).filter(
            last_correct=False
        )
    elif pool == Attempt.Pool.FLAGGED:
        last = mine.order_by("-attempt__started_at", "-id")
        questions = questions.alias(last_flag=Subquery(last.values("is_flagged")[:1])).filter(
            last_flag=True
        )
    elif pool == Attempt.Pool.DUE:
        questions = questions.filter(pk__in=recall.due_question_ids(user))
    return questions


def draw_questions(
    *,
    user: User,
    count: int,
    topics: Sequence[Topic] | None = None,
    pool: str = Attempt.Pool.ALL,
    rng: random.Random | None = None,
) -> list[Question]:
    """``count`` distinct questions from the pool in random order, with what rendering and
    snapshotting them needs prefetched. Raises PoolTooSmall."""
    rng = rng or random.SystemRandom()
    questions = pool_questions(user=user, topics=topics, pool=pool)
    if pool == Attempt.Pool.DUE:
        # The most overdue first, so that none waits behind the others indefinitely.
        due = RecallCard.objects.filter(user=user, question=OuterRef("pk")).values("due")[:1]
        ids = list(
            questions.annotate(card_due=Subquery(due))
            .order_by("card_due", "pk")
            .values_list("pk", flat=True)
        )
    else:
        ids = sorted(questions.values_list("pk", flat=True))
    if count < 1 or len(ids) < count:
        raise PoolTooSmall(available=len(ids), requested=count)
    chosen = rng.sample(ids[:count], count) if pool == Attempt.Pool.DUE else rng.sample(ids, count)
    by_id = Question.objects.with_bank_relations().in_bulk(chosen)
    return [by_id[pk] for pk in chosen]
