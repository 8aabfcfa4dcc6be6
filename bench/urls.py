"""The site's URLs plus three of the benchmark's own (bench/run.py):

- the fixed floor, a view that returns a fixed response through the same middleware and
  server: the fastest any page of this site can be;
- the realistic floor, the least an answer can cost: a login-required, CSRF-checked POST that
  updates one row in a transaction (the requesting resident's ``User.last_login``: a column
  of their own that nothing in the quiz reads, and not part of the session's auth hash, so
  the session stays valid) and answers with a few bytes;
- the item analysis with its cached statistics dropped first, so that the run also times what
  an educator waits for when the cache is cold.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from questions.analytics import item_stats
from questions.views import authoring

FLOOR_BODY = b"floor\n"
REALISTIC_FLOOR_BODY = b"saved\n"


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="text/plain")


@require_POST
@login_required
def realistic_floor(request):
    # CsrfViewMiddleware has checked the token by now (the view is not exempt).
    with transaction.atomic():
        get_user_model().objects.filter(pk=request.user.pk).update(last_login=timezone.now())
    return HttpResponse(REALISTIC_FLOOR_BODY, content_type="text/plain")


def item_analysis_uncached(request):
    cache.delete(item_stats.BANK_ITEM_STATS_KEY)
    return authoring.item_analysis(request)


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/realistic-floor/", realistic_floor),
    path("bench/item-analysis-uncached/", item_analysis_uncached),
    path("", include("quizsite.urls")),
]
