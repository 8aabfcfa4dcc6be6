"""The site's own 404, 403 and 500 pages, through Django's handlers, with debug off.

The URLconf of this module is the site's with three views that fail on purpose in front."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path

from quizsite.urls import urlpatterns as site_urlpatterns


def _not_found(request):
    raise Http404("no such thing")


def _forbidden(request):
    raise PermissionDenied


def _broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-errors/404/", _not_found),
    path("test-errors/403/", _forbidden),
    path("test-errors/500/", _broken),
    *site_urlpatterns,
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


@pytest.mark.parametrize("url", ["/no-such-page/", "/test-errors/404/"])
def test_not_found_renders_the_friendly_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert 'aria-label="Main"' in page  # the site's own page, with its navigation
    assert "no such thing" not in page  # the exception's message is not shown


def test_not_found_offers_a_signed_in_resident_their_dashboard(client, resident):
    client.force_login(resident)
    response = client.get("/test-errors/404/")
    assert response.status_code == 404
    assert 'href="/dashboard/"' in response.content.decode()


def test_forbidden_renders_the_friendly_page(client, resident):
    client.force_login(resident)
    response = client.get("/test-errors/403/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is not for your account" in page
    assert "Back to your dashboard" in page


def test_server_error_renders_the_friendly_page():
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "a bug" not in page and "Traceback" not in page
    assert "/static/js/theme.js" in page  # styled and themed like the rest of the site


def test_server_error_page_needs_no_context_and_no_database(django_assert_num_queries):
    """Django renders 500.html with an empty context, and the database may be what failed."""
    with django_assert_num_queries(0):
        page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
