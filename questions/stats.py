"""Aggregate reads behind pages. Each function states the shape it returns."""

from django.db.models import Count, OuterRef, Q, Subquery

from .models import AttemptItem, Question, Topic


def topics_with_published_counts():
    """Topics in curriculum order, each annotated with ``published_count``: one query.

    The order is explicit because Django ignores Meta.ordering in GROUP BY queries."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    ).order_by("order", "name")


MIN_RESIDENTS_FOR_SHARES = 5


def first_attempt_choice_counts(question_ids) -> dict[int, dict]:
    """How residents answered each question the first time they met it (locked answers only).

    Returns ``{question_id: {"residents": n, "by_choice": {choice_pk: count}}}``; an
    unanswered first attempt counts towards ``residents`` under the key None. One query."""
    first_item = (
        AttemptItem.objects.filter(
            question=OuterRef("question"),
            attempt__user=OuterRef("attempt__user"),
            locked_at__isnull=False,
        )
        .order_by("locked_at", "id")
        .values("id")[:1]
    )
    rows = (
        AttemptItem.objects.filter(question_id__in=list(question_ids), locked_at__isnull=False)
        .filter(id=Subquery(first_item))
        .values("question_id", "selected_choice_pk")
        .annotate(n=Count("id"))
        .order_by()
    )
    result: dict[int, dict] = {}
    for row in rows:
        entry = result.setdefault(row["question_id"], {"residents": 0, "by_choice": {}})
        entry["residents"] += row["n"]
        entry["by_choice"][row["selected_choice_pk"]] = row["n"]
    return result


def topic_breakdown(attempt) -> list[dict]:
    """Per topic of an attempt's questions: ``{"topic": name, "correct": c, "total": n}``,
    in curriculum order. One query."""
    rows = (
        Topic.objects.filter(questions__attempt_items__attempt=attempt)
        .annotate(
            total=Count("questions__attempt_items"),
            correct=Count(
                "questions__attempt_items", filter=Q(questions__attempt_items__is_correct=True)
            ),
        )
        .order_by("order", "name")
        .values("name", "correct", "total")
    )
    return [{"topic": r["name"], "correct": r["correct"], "total": r["total"]} for r in rows]
