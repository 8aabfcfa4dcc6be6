"""Which questions a resident can draw (their pool) and drawing a quiz's questions from it."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from itertools import compress
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.expressions import OrderBy
from django.db.models.functions import MD5, Cast, Concat, FirstValue
from django.utils import timezone

from questions.learning import recall
from questions.models import (
    Attempt,
    AttemptItem,
    Question,
    RecallCard,
    assessed_condition,
)
from questions.models.prepared import PreparedQuery

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


def pool_condition(user: User | int, pool: str, now: datetime.datetime | None = None) -> Q:
    """What places a question in ``pool`` for ``user``: a condition on Question, one
    definition for drawing and for the builder's counts. Each is an uncorrelated subquery
    over the user's own items (or recall cards), so the database reads it once per query,
    not once per question: the other residents' answers to a question are never read.
    Raises KeyError for a pool that ``Attempt.Pool`` does not have."""
    mine = AttemptItem.objects.filter(attempt__user=user)
    match pool:
        case Attempt.Pool.ALL:
            return Q()
        case Attempt.Pool.UNUSED:
            return ~Q(pk__in=mine.values("question"))
        case Attempt.Pool.INCORRECT:
            newest_first = [F("locked_at").desc(), F("id").desc()]
            last_locked = mine.filter(locked_at__isnull=False).annotate(
                last_correct=_last_of_each_question("is_correct", newest_first)
            )
            return Q(pk__in=last_locked.filter(last_correct=False).values("question"))
        case Attempt.Pool.FLAGGED:
            latest_shown = [F("attempt__started_at").desc(), F("id").desc()]
            last_shown = mine.annotate(last_flag=_last_of_each_question("is_flagged", latest_shown))
            return Q(pk__in=last_shown.filter(last_flag=True).values("question"))
        case Attempt.Pool.DUE:
            return Q(pk__in=recall.due_question_ids(user, now))
    raise KeyError(pool)


def pool_conditions(user: User | int, now: datetime.datetime | None = None) -> dict[str, Q]:
    """Every pool's ``pool_condition`` for ``user``, in the order of ``Attempt.Pool``."""
    return {pool: pool_condition(user, pool, now) for pool in Attempt.Pool.values}


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
    # Only this pool's condition: building the others' subqueries cost a draw about 1.5 ms.
    return questions.filter(pool_condition(user, pool, now))


def _builder_rows(user_id: int, now: datetime.datetime) -> QuerySet[Question]:
    """A row per published question and topic: its id, the topic's (None for a question
    without one), whether an assignment holds it back from ``user_id``'s practice at
    ``now``, then a column per pool other than "all" (``pool_condition``)."""
    columns = {
        pool: ExpressionWrapper(condition, output_field=BooleanField())
        for pool, condition in pool_conditions(user_id, now).items()
        if condition  # Attempt.Pool.ALL: every row
    }
    return (
        Question.objects.published()
        .annotate(
            held=ExpressionWrapper(assessed_condition(user_id, now), output_field=BooleanField()),
            **columns,
        )
        .values_list("pk", "topics", "held", *columns)
        .order_by()
    )


# The pools other than "all", in the order of _builder_rows' columns.
_POOL_COLUMNS = [pool for pool in Attempt.Pool.values if pool != Attempt.Pool.ALL]
BUILDER_ROWS = PreparedQuery(Question, _builder_rows)


def builder_counts(
    *,
    user: User,
    topics: Sequence[Topic] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[dict[str, dict[int | str, int]], int]:
    """How many questions each pool holds for ``user`` (``pool_counts``), and how many of
    ``topics`` an open assignment holds back from practice, from one query.

    ``pool_counts``: how many questions each pool holds for ``user``, for the quiz builder:
    ``{pool: {topic_id: n, ..., "total": n}}`` for every pool of ``Attempt.Pool``.
    ``topic_id``: that topic's published questions in the pool (a topic with none is
    absent), whatever ``topics`` says; ``"total"``: the distinct questions of the pool in
    ``topics`` (every topic when empty), which is what a quiz with these settings can draw
    from (``draw_questions``). Counts only: nothing about which questions, or how they were
    answered beyond what the pool itself means. Questions held back for an assignment not
    yet due are in no pool; the second value counts them, in ``topics``.

    One query, whatever the number of topics, questions or attempts: a row per question
    and topic, with its pools as columns, so that the user's pool subqueries are planned
    and read once for the topics and the totals alike. Its SQL is written once per process
    (``PreparedQuery``): the ORM took longer to write it than the database to run it."""
    now = now or timezone.now()
    chosen = {topic.pk for topic in topics or ()}
    counts: dict[str, dict[int | str, int]] = {pool: {"total": 0} for pool in Attempt.Pool.values}
    in_total: set[int] = set()  # a question in two chosen topics is one question
    held_back: set[int] = set()
    for pk, topic, held, *is_in in BUILDER_ROWS.rows(user_id=user.pk, now=now):
        counted = not chosen or topic in chosen
        if held:
            if counted:
                held_back.add(pk)
            continue
        pools = (Attempt.Pool.ALL, *compress(_POOL_COLUMNS, is_in))
        if topic is not None:
            for pool in pools:
                counts[pool][topic] = counts[pool].get(topic, 0) + 1
        if pk not in in_total and counted:
            in_total.add(pk)
            for pool in pools:
                counts[pool]["total"] += 1
    return counts, len(held_back)


def pool_counts(
    *,
    user: User,
    topics: Sequence[Topic] | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, dict[int | str, int]]:
    """How many questions each pool holds for ``user`` (``builder_counts``). One query."""
    return builder_counts(user=user, topics=topics, now=now)[0]


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
    """``count`` distinct questions from the pool in random order, with what snapshotting
    them (``starting.snapshot``) needs: their diagrams, and their choices and citations as
    the lists ``drawn_choices`` and ``drawn_citations``. Three queries, the draw itself one
    of them. Raises PoolTooSmall.

    The database draws: it orders the pool by a hash of each id salted from ``rng`` (a
    random order, the same again for the same ``rng``) and keeps the first ``count``, so
    that neither the pool's ids nor the questions not drawn leave it. The due pool keeps
    its most overdue questions instead, so that none waits behind the others indefinitely."""
    rng = rng or random.SystemRandom()
    questions = pool_questions(user=user, topics=topics, pool=pool, now=now)
    if count < 1:
        raise PoolTooSmall(available=questions.count(), requested=count)
    if pool == Attempt.Pool.DUE:
        due = RecallCard.objects.filter(user=user, question=OuterRef("pk")).values("due")[:1]
        order: list[Any] = [Subquery(due), "pk"]
    else:
        salt = Value(f"{rng.getrandbits(64):016x}")
        order = [MD5(Concat(Cast("pk", CharField()), salt, output_field=CharField())), "pk"]
    drawn = list(
        Question.objects.filter(pk__in=questions.order_by(*order).values("pk")[:count])
        .select_related("stem_diagram", "explanation_diagram")
        .defer("stem_diagram__svg", "explanation_diagram__svg")
        # As lists (starting.snapshot reads them): prefetched into the relations, each
        # question's two managers and their querysets cost more than reading the rows.
        .prefetch_related(
            Prefetch("choices", to_attr="drawn_choices"),
            Prefetch("citations", to_attr="drawn_citations"),
        )
    )
    if len(drawn) < count:
        raise PoolTooSmall(available=len(drawn), requested=count)
    drawn.sort(key=lambda question: question.pk)  # the rng alone decides the order
    rng.shuffle(drawn)
    return drawn
