"""The site's URLs and one page that reads through a server-side cursor, as a
``QuerySet.iterator()`` on PostgreSQL does: no page of the site does any more, but the
middleware must still recognise the error such a cursor's close raises."""

from django.http import HttpResponse
from django.urls import include, path

from questions.models import Topic


def topics_through_a_cursor(request):
    names = [topic.name for topic in Topic.objects.order_by("pk").iterator(chunk_size=10)]
    return HttpResponse(", ".join(names))


urlpatterns = [
    path("topics-through-a-cursor/", topics_through_a_cursor),
    path("", include("quizsite.urls")),
]
