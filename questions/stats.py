"""Aggregate reads behind pages. Each function states the shape it returns."""

from django.db.models import Count, Q

from .models import Question, Topic


def topics_with_published_counts():
    """Topics in display order, each annotated with ``published_count``: one query."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    )
