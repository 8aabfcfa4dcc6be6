"""Pages anyone may read: the bank's overview, its reference list, and the health check."""

from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from questions.analytics import progress
from questions.models import Question, Reference


def home(request):
    topics = list(progress.topics_with_published_counts())
    return render(
        request,
        "questions/home.html",
        {
            "topics": topics,
            "published_total": Question.objects.published().count(),
        },
    )


def reference_list(request):
    """Every reference a published question cites, and the source documents."""
    references = (
        Reference.objects.annotate(
            published_citations=Count(
                "citations", filter=Q(citations__question__status=Question.Status.PUBLISHED)
            )
        )
        .filter(Q(published_citations__gt=0) | Q(kind=Reference.Kind.DOCUMENT))
        .order_by("kind", "authors", "year")
    )
    return render(request, "questions/reference_list.html", {"references": references})


@never_cache
def healthz(request):
    """For the load balancer: 200 when this app host can query the database, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
