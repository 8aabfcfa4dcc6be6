"""The site's URLs plus the floor: a view that returns a fixed response through the same
middleware and server, the fastest any page of this site can be (bench/run.py)."""

from django.http import HttpResponse
from django.urls import include, path

FLOOR_BODY = b"floor\n"


def floor(request):
    return HttpResponse(FLOOR_BODY, content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("quizsite.urls")),
]
