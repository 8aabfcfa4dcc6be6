"""Aggregate reads behind pages. Each function states the shape it returns."""

from django.db.models import Count, Q

from .models import Question, Topic


def topics_with_published_counts():
    """Topics in curriculum order, each annotated with ``published_count``: one query.

    The order is explicit because Django ignores Meta.ordering in GROUP BY queries."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    ).order_by("order", "name")
