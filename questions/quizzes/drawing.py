"""Which questions a resident can draw (their pool) and drawing a quiz's questions from it."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.expressions import OrderBy
from django.db.models.functions import FirstValue
from django.utils import timezone

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


def _last_of_each_question(field: str, order: list[OrderBy]) -> Window:
    """On each item: ``field`` of the first item, by ``order``, with the same question."""
    return Window(FirstValue(field), partition_by=[F("question")], order_by=order)


def pool_conditions(user: User, now: datetime.datetime | None = None) -> dict[str, Q]:
    """What places a question in each pool for ``user``: a condition on Question per pool,
    one definition for drawing and for the builder's counts. Each is an uncorrelated
    subquery over the user's own items (or recall cards), so the database reads them once
    per query, not once per question: the other residents' answers to a question are never
    read."""
    mine = AttemptItem.objects.filter(attempt__user=user)
    newest_first = [F("locked_at").desc(), F("id").desc()]
    last_locked = mine.filter(locked_at__isnull=False).annotate(
        last_correct=_last_of_each_question("is_correct", newest_first)
    )
    latest_shown = [F("attempt__started_at").desc(), F("id").desc()]
    last_shown = mine.annotate(last_flag=_last_of_each_question("is_flagged", latest_shown))
    return {
        Attempt.Pool.ALL: Q(),
        Attempt.Pool.UNUSED: ~Q(pk__in=mine.values("question")),
        Attempt.Pool.INCORRECT: Q(pk__in=last_locked.filter(last_correct=False).values("question")),
        Attempt.Pool.FLAGGED: Q(pk__in=last_shown.filter(last_flag=True).values("question")),
        Attempt.Pool.DUE: Q(pk__in=recall.due_question_ids(user, now)),
    }


def _in_topics(questions: QuerySet[Question], topics: Sequence[Topic] | None) -> QuerySet[Question]:
    if not topics:
        return questions
    # A subquery, not a join: a question in two of the topics is counted and drawn once.
    return questions.filter(pk__in=Question.objects.filter(topics__in=topics).values("pk"))


def pool_questions(
    *,
    user: User,
    topics: Sequence[Topic] | None = None,
    pool: str = Attempt.Pool.ALL,
    now: datetime.datetime | None = None,
) -> QuerySet[Question]:
    """Published questions in ``topics`` (all when empty) that belong to ``pool`` for ``user``:

    - all: every published question;
    - unused: never shown to the user in any attempt;
    - incorrect: the user's most recent locked answer to it was wrong (or left unanswered);
    - flagged: flagged in the user's most recent attempt that showed it;
    - due: on the user's spaced-recall schedule and due now (``recall``).

    Never a question that an assignment of the user's cohorts assesses and that is not yet
    due (``QuestionQuerySet.assessed_for``).
    """
    now = now or timezone.now()
    questions = _in_topics(Question.objects.published().not_assessed_for(user, now), topics)
    return questions.filter(pool_conditions(user, now)[pool])


def pool_counts(
    *,
    user: User,
    topics: Sequence[Topic] | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, dict[int | str, int]]:
    """How many questions each pool holds for ``user``, for the quiz builder:
    ``{pool: {topic_id: n, ..., "total": n}}`` for every pool of ``Attempt.Pool``.

    ``topic_id``: that topic's published questions in the pool (a topic with none is
    absent), whatever ``topics`` says; ``"total"``: the distinct questions of the pool in
    ``topics`` (every topic when empty), which is what a quiz with these settings can draw
    from (``draw_questions``). Counts only: nothing about which questions, or how they were
    answered beyond what the pool itself means. Questions held back for an assignment not
    yet due are in no pool (``held_back_count`` counts them). Two queries, whatever the
    number of topics, questions or attempts."""
    now = now or timezone.now()
    aggregates = {
        pool: Count("pk", filter=condition) if condition else Count("pk")
        for pool, condition in pool_conditions(user, now).items()
    }
    published = Question.objects.published().not_assessed_for(user, now)
    by_topic = (
        published.filter(topics__isnull=False).values("topics").annotate(**aggregates).order_by()
    )
    totals = _in_topics(published, topics).aggregate(**aggregates)
    counts: dict[str, dict[int | str, int]] = {pool: {"total": totals[pool]} for pool in aggregates}
    for row in by_topic:
        for pool in aggregates:
            if row[pool]:
                counts[pool][row["topics"]] = row[pool]
    return counts


def held_back_count(
    *,
    user: User,
    topics: Sequence[Topic] | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """How many published questions in ``topics`` (all when empty) are held back from
    ``user``'s practice while an assignment of their cohorts assesses them: one query."""
    held = Question.objects.published().assessed_for(user, now or timezone.now())
    return _in_topics(held, topics).count()


def held_back_by_topic(*, user: User, now: datetime.datetime | None = None) -> dict[int, int]:
    """``{topic_id: n}``: how many published questions of each topic are held back from
    ``user``'s practice at ``now`` (a topic with none is absent), so that a quick quiz on a
    topic asks for no more than practice can draw. One query."""
    held = Question.objects.published().assessed_for(user, now or timezone.now())
    return {
        row["topics"]: row["n"]
        for row in held.filter(topics__isnull=False)
        .values("topics")
        .annotate(n=Count("pk"))
        .order_by()
    }


def draw_questions(
    *,
    user: User,
    count: int,
    topics: Sequence[Topic] | None = None,
    pool: str = Attempt.Pool.ALL,
    rng: random.Random | None = None,
    now: datetime.datetime | None = None,
) -> list[Question]:
    """``count`` distinct questions from the pool in random order, with what rendering and
    snapshotting them needs prefetched. Raises PoolTooSmall."""
    rng = rng or random.SystemRandom()
    questions = pool_questions(user=user, topics=topics, pool=pool, now=now)
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
