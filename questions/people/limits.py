"""Rate limits: how many sign-ups, failed logins, password-reset e-mails, error reports, quiz
starts and imports one client address, account, typed username or typed e-mail address may
send in a window, and the 429 page past that.

Counting is django-ratelimit's (``core.get_usage``: a fixed window per key, its end jittered
per key) in the cache alias named by ``RATELIMIT_USE_CACHE`` ("ratelimit": Redis when there is
one, shared by every app host, else a database table). Each limit's rate is a setting read at
request time ("20/10m": 20 in ten minutes; empty: no limit), so tests and deployments change
it without code. While the cache is away (Redis down) ``RATELIMIT_FAIL_OPEN`` lets every
request through: better an unlimited hour than a site that refuses everyone.

Invariants:
- Only the methods given (POST by default) are counted or refused: a form's page always opens.
- A refused request never reaches the view, so nothing is written: no user, session, lockout
  record, report, quiz, import or e-mail.
- A request is counted at most once, even when the view runs again after a dropped database
  connection (``middleware.ReconnectOnDroppedConnection``); a start sent again with the same
  start token (a double click, which resumes the quiz) is counted once.
- Keys are hashed by django-ratelimit before they reach the cache: typed usernames and
  e-mail addresses are not stored.

Not in INSTALLED_APPS: django-ratelimit's system check calls a database cache an error (its
increments are a read then a write, not atomic). Without Redis two requests at the same
moment may be counted as one, which on a single host only makes a limit a little looser.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

from questions.models import Attempt, ExamSimulation
from questions.people.roles import login_client_ip, login_username

# IPv6 clients are counted by their /64: a single home or phone network holds a whole /64,
# so counting single addresses would let one client rotate past any limit.
IPV6_PREFIX = 64
# Retry-After when the cache cannot count and RATELIMIT_FAIL_OPEN is off (it is on by default).
FAIL_CLOSED_RETRY_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    """One limit: at most the rate in ``setting`` counted requests per ``key`` value.

    ``setting`` names the setting (and environment variable) holding the rate, and is the
    limit's counter group. ``what`` finishes "Too many ..." on the 429 page."""

    setting: str
    key: Callable[[HttpRequest], str]
    what: str


def client_address(request: HttpRequest) -> str:
    """The client's address as django-axes sees it (``roles.login_client_ip``: behind
    PROXY_COUNT trusted proxies, the address the outermost one received the request from),
    IPv6 cut to its /64."""
    address = login_client_ip(request) or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False).network_address)
    return str(ip)


def account(request: HttpRequest) -> str:
    """The logged-in account (the views below ``login_required`` only)."""
    return str(request.user.pk)


def typed_username(request: HttpRequest) -> str:
    """The username typed in the login form, normalised as Django's login form normalises it
    (NFKC) before looking the account up: "ａｎｎ" in fullwidth letters logs in as "ann", so it
    is counted as "ann"."""
    return unicodedata.normalize("NFKC", login_username(request, None)).strip()


def typed_email(request: HttpRequest) -> str:
    """The e-mail address typed in the password-reset form, as Django's reset matches it
    (case-insensitively)."""
    return request.POST.get("email", "").strip().casefold()


SIGNUP_PER_ADDRESS = Limit(
    "RATE_LIMIT_SIGNUP_PER_ADDRESS", client_address, "sign-ups from your network"
)
LOGIN_PER_ADDRESS = Limit(
    "RATE_LIMIT_LOGIN_PER_ADDRESS", client_address, "failed log-ins from your network"
)
LOGIN_PER_USERNAME = Limit(
    "RATE_LIMIT_LOGIN_PER_USERNAME", typed_username, "failed log-ins for this username"
)
PASSWORD_RESET_PER_EMAIL = Limit(
    "RATE_LIMIT_PASSWORD_RESET_PER_EMAIL", typed_email, "password-reset e-mails to this address"
)
PASSWORD_RESET_PER_ADDRESS = Limit(
    "RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS",
    client_address,
    "password-reset requests from your network",
)
ERROR_REPORT_PER_ACCOUNT = Limit(
    "RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT", account, "error reports from your account"
)
QUIZ_START_PER_ACCOUNT = Limit(
    "RATE_LIMIT_QUIZ_START_PER_ACCOUNT", account, "quizzes started from your account"
)
IMPORT_PER_ACCOUNT = Limit("RATE_LIMIT_IMPORT_PER_ACCOUNT", account, "imports from your account")


@dataclass(frozen=True)
class Usage:
    """A limit's count for one key in the current window, and the seconds left in it."""

    count: int
    limit: int
    seconds_left: int


def _usage(request: HttpRequest, limit: Limit, *, increment: bool) -> Usage | None:
    """The count of ``limit`` for this request's key, counting the request first when
    ``increment``; None when the limit is off or the cache cannot answer (fail open)."""
    rate = getattr(settings, limit.setting, "")
    if not rate:
        return None
    usage = get_usage(
        request,
        group=limit.setting,
        key=lambda group, request: limit.key(request),
        rate=rate,
        increment=increment,
    )
    if usage is None:  # RATELIMIT_ENABLE off, or the cache failed and RATELIMIT_FAIL_OPEN
        return None
    if usage["time_left"] < 0:  # the cache failed and the limits fail closed: refuse a while
        return Usage(count=1, limit=0, seconds_left=FAIL_CLOSED_RETRY_SECONDS)
    return Usage(usage["count"], usage["limit"], max(1, usage["time_left"]))


def resumes(model: type[Attempt] | type[ExamSimulation]) -> Callable[[HttpRequest], bool]:
    """Whether a start carries a token that already started one of this account's ``model``
    rows: sent again (a double click, a retry after a lost answer), it resumes that one and
    starts nothing, so it is checked but not counted. Only a token the database holds counts
    as seen: a malformed one, or one of a start that was refused, starts a new quiz and is
    counted like any other."""

    def check(request: HttpRequest) -> bool:
        try:
            token = uuid.UUID(request.POST.get("start_token", ""))
        except ValueError:
            return False
        return model.objects.filter(user=request.user, start_token=token).exists()  # type: ignore[misc]

    return check


RESUMES_QUIZ = resumes(Attempt)
RESUMES_SIMULATION = resumes(ExamSimulation)


def mark_logged_in(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """``user_logged_in`` receiver (connected in apps.py): this request logged someone in."""
    if request is not None:
        request._logged_in_now = True  # type: ignore[attr-defined]


def failed_login(request: HttpRequest, response: HttpResponse) -> bool:
    """A login that checked a password and failed: anything but the redirect of a login that
    succeeded (being signed in already proves nothing: an account may try other accounts'
    passwords). A login django-axes refused without checking (the username locked at this
    address) costs nothing and is not counted, so one address cannot use axes' lockout to
    run up a username's count."""
    logged_in = getattr(request, "_logged_in_now", False)
    return not logged_in and not getattr(request, "axes_locked_out", False)


def rate_limited(
    *limits: Limit,
    methods: tuple[str, ...] = ("POST",),
    count_if: Callable[[HttpRequest, HttpResponse], bool] | None = None,
    repeat_if: Callable[[HttpRequest], bool] | None = None,
):
    """Decorate a view (inside ``login_required`` for the per-account limits): refuse a
    request in ``methods`` with a 429 when any of ``limits`` is used up, before the view runs.

    Each request counts against every limit, before the view runs (atomic in Redis), or,
    with ``count_if``, after it and only when ``count_if(request, response)`` holds (failed
    logins: concurrent failures may then pass a limit by the number of workers). A request
    for which ``repeat_if`` holds (a start that resumes) is checked but not counted."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            # A view run again on a new database connection was checked and counted before.
            if request.method not in methods or getattr(request, "_rate_limits_counted", False):
                return view(request, *args, **kwargs)
            counted_now = count_if is None and not (repeat_if and repeat_if(request))
            if counted_now:
                request._rate_limits_counted = True
            # Counted after the view: refused when counting it would pass the limit. Counted
            # now, or a repeat not counted at all: refused only past the limit.
            ahead = 1 if count_if is not None else 0
            for limit in limits:
                usage = _usage(request, limit, increment=counted_now)
                if usage is not None and usage.count + ahead > usage.limit:
                    return too_many_requests(request, limit, usage.seconds_left)
            response = view(request, *args, **kwargs)
            if count_if is not None and count_if(request, response):
                request._rate_limits_counted = True
                for limit in limits:
                    _usage(request, limit, increment=True)
            return response

        return wrapped

    return decorator


# Every login page (the site's and the admin's): limited before the password is checked, and
# only failed logins count.
login_limits = rate_limited(LOGIN_PER_ADDRESS, LOGIN_PER_USERNAME, count_if=failed_login)


def in_words(seconds: int) -> str:
    """``seconds`` as a person says a wait: "40 seconds", "7 minutes", "2 hours" (rounded
    up, so the wait said is never too short)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 60 * 60:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(seconds / 3600)} hours"


def too_many_requests(request: HttpRequest, limit: Limit, seconds_left: int) -> HttpResponse:
    """The 429 page: what was limited and when to try again, with Retry-After in seconds.
    To htmx (the quiz page is boosted) it replaces the page's body, address unchanged."""
    response = render(
        request,
        "429.html",
        {"what": limit.what, "wait": in_words(seconds_left), "retry_after": seconds_left},
        status=429,
    )
    response["Retry-After"] = str(seconds_left)
    if getattr(request, "htmx", False):
        response["HX-Retarget"] = "body"
        response["HX-Reswap"] = "innerHTML"
        response["HX-Push-Url"] = "false"
    return response
