"""Pages anyone may read: the bank's overview, its reference list, its diagrams, and the
health check."""

from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from questions import health, observability
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
    """For the load balancer and monitoring: the database and Redis, each reported. 200 when
    the database answers ("ok", or "degraded" while Redis is away: the host still serves
    everything, so it stays in the pool); 503 when it does not."""
    report = health.site_status()
    return JsonResponse(report, status=503 if report["status"] == "unavailable" else 200)


def _error_page(status: int) -> HttpResponse:
    """``<status>.html`` with the request's id, so that a resident's report can be matched to
    the log lines. Rendered without a request context: nothing on it may query the
    database, which may be what failed."""
    context = {"request_id": observability.current_request_id()}
    return HttpResponse(render_to_string(f"{status}.html", context), status=status)


def server_error(request):
    """The 500 page (``handler500``)."""
    return _error_page(500)


def bad_request(request, exception):
    """The 400 page (``handler400``): a request refused before any view (a NUL in the query
    string, a filter the admin does not allow)."""
    return _error_page(400)
