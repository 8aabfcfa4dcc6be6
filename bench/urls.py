"""The site's URLs plus two of the benchmark's own (bench/run.py): the floor, a view that
returns a fixed response through the same middleware and server, the fastest any page of
this site can be; and the item analysis with its cached statistics dropped first, so that
the run also times what an educator waits for when the cache is cold."""

from django.core.cache import cache
from django.http import HttpResponse
from django.urls import include, path

from questions.analytics import item_stats
from questions.views import authoring

FLOOR_BODY = b"floor\n"


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="text/plain")


def item_analysis_uncached(request):
    cache.delete(item_stats.BANK_ITEM_STATS_KEY)
    return authoring.item_analysis(request)


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/item-analysis-uncached/", item_analysis_uncached),
    path("", include("quizsite.urls")),
]
