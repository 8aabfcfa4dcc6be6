"""Middleware: query strings holding a NUL, htmx-boosted pages, and requests that lose
their database connection."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, has_vary_header

logger = logging.getLogger(__name__)


class NulInRequest(SuspiciousOperation):
    """A query string holding a NUL character (``%00``)."""


def refuse_nul_in_query(get_response):
    """Answer 400 to a request with a NUL in a key or value of its query string. No link or
    form of the site makes one, and PostgreSQL refuses NUL in a text parameter: the admin's
    change lists pass any filter value (``?stem__contains=%00``) straight to a query, which
    then failed with a 500. Raised as a SuspiciousOperation, Django answers with its 400
    page and logs it to ``django.security.NulInRequest``. Left alone: the path (its
    converters take no NUL where an id or slug is expected) and posted forms, whose fields
    refuse NUL with a message saying what to fix (ProhibitNullCharactersValidator)."""

    def middleware(request):
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            raise NulInRequest(f"NUL character in the query string of {request.path!r}")
        return get_response(request)

    return middleware


def htmx_push_url(get_response):
    """Tell htmx the address of the page it finally received.

    A boosted form posts, the server redirects, and the browser's XHR follows the redirect
    silently: without this header the address bar would keep the form's URL, and a reload
    would open the wrong page."""

    def middleware(request):
        response = get_response(request)
        htmx = getattr(request, "htmx", None)
        # Boosted navigations only: a fragment (the builder's counts) is not a page to push.
        boosted = htmx is not None and bool(htmx) and htmx.boosted
        if boosted and request.method == "GET" and response.status_code == 200:
            response["HX-Push-Url"] = request.get_full_path()
        return response

    return middleware


def retry_safe(view):
    """Mark a POST view as safe to run twice: running it again after a failure gives the same
    result as running it once (the engine's writes are idempotent, a quiz start carries its
    own token). Reads (GET, HEAD) are always retried."""
    view.retry_safe = True
    return view


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
RETRY_AFTER_SECONDS = 2


# PostgreSQL's SQLSTATEs for a connection that is gone: class 08 (connection exception), and
# administrator shutdown, crash shutdown, cannot connect now (a restart or a failover).
LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def _connection_lost(exception) -> bool:
    """True when ``exception`` says the connection is gone (PostgreSQL restarted, the
    connection was terminated, the network dropped), not that a query failed on a live one
    (a lock timeout, a deadlock, a constraint). The connection's state cannot tell: leaving a
    transaction, Django has already opened a new one. An error without a SQLSTATE comes from
    the client library itself: the socket closed, or the server refused the connection."""
    if connection.vendor != "postgresql":
        return False  # SQLite's errors ("database is locked") are not about a connection
    driver_error = exception.__cause__ if _is_djangos(exception) else exception
    state = getattr(driver_error, "sqlstate", None)
    return state is None or state.startswith(LOST_CONNECTION_STATES)


def _is_djangos(exception) -> bool:
    return isinstance(exception, (OperationalError, InterfaceError))


def _is_connection_error(exception) -> bool:
    """Django's OperationalError or InterfaceError, or the driver's own: a server-side
    cursor's ``close()`` (the end of a ``QuerySet.iterator()``) is not wrapped by Django, so
    a connection lost just before it raises psycopg's error as it is."""
    driver = connection.Database  # type: ignore[attr-defined]  # the DB-API module in use
    return _is_djangos(exception) or isinstance(
        exception, (driver.OperationalError, driver.InterfaceError)
    )


def unavailable(request) -> HttpResponse:
    """503 with Retry-After, from a template that needs no database."""
    response = HttpResponse(
        render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS}), status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ReconnectOnDroppedConnection:
    """Run a view once more on a fresh connection when the database dropped its connection.

    A connection the database terminated mid-request (a failover, a restart,
    ``pg_terminate_backend``) raises OperationalError in whatever query was running; the
    transaction it was in is rolled back by the database. The view is then run again, once,
    on a new connection when that cannot change the result: a read, or a POST marked
    ``retry_safe``. Anything else, or a second failure, gets a 503 that says to try again,
    never a 500. Errors on a live connection (a constraint, a lock timeout) are not touched.
    Inside a transaction the caller opened (ATOMIC_REQUESTS, a test) nothing is retried."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not _is_connection_error(exception):
            return None
        if connection.in_atomic_block or not _connection_lost(exception):
            return None
        connection.close()
        match = request.resolver_match
        safe = request.method in SAFE_METHODS or getattr(match.func, "retry_safe", False)
        if getattr(request, "_reconnected", False) or not safe:
            logger.warning("Database connection lost during %s %s", request.method, request.path)
            return unavailable(request)
        request._reconnected = True
        logger.warning("Database connection lost; running %s %s again", request.method,
                       request.path)  # fmt: skip
        try:
            response = match.func(request, *match.args, **match.kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()
        except Exception as again:
            if (
                not _is_connection_error(again)
                or connection.in_atomic_block
                or not _connection_lost(again)
            ):
                raise
            connection.close()
            logger.warning("Database still unreachable for %s %s", request.method, request.path)
            return unavailable(request)
        return response


def no_store_personal_pages(get_response):
    """``Cache-Control: no-store`` on every response whose content depended on who asked.

    A page that read the session (anything signed in: a score, a cohort's CSV, a question's
    key in the preview) must not be kept by a browser's back-forward cache on a shared ward
    computer, nor by any proxy between. Django marks such responses ``Vary: Cookie``; this
    middleware sits outside SessionMiddleware to see that mark. A response that chose its
    own caching (a versioned diagram, a static file) is left as it is."""

    def middleware(request):
        response = get_response(request)
        if not response.has_header("Cache-Control") and has_vary_header(response, "Cookie"):
            add_never_cache_headers(response)
        return response

    return middleware
