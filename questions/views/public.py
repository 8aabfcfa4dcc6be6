"""Pages anyone may read: the bank's overview, its reference list, its diagrams, and the
health check."""

from django.db import DatabaseError, connection
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from questions.analytics import progress
from questions.models import Diagram, Question, Reference

# A diagram is an image: nothing in it may run or load, whether it is shown in a page or
# opened on its own ("open full size").
DIAGRAM_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


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


@require_safe
def diagram_svg(request, slug: str):
    """A diagram's SVG. Its URL carries its version (``Diagram.get_absolute_url``), so a
    browser may keep it for a day. It is not tied to any question: it gives nothing away."""
    diagram = get_object_or_404(Diagram, slug=slug)
    response = HttpResponse(diagram.svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = DIAGRAM_CSP
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, public=True, max_age=86400)
    return response


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
