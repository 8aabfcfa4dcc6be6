"""Security with production settings: the deploy check, the headers of every kind of response,
cookies, HTTPS, CSRF on every form, login lockout, escaping of everything authors, educators
and residents type, the health check, and sessions in Redis.

Uploads, media and static files: tests/views/test_static_and_media.py."""

import datetime
import logging
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import pytest
import redis
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.utils import load_backend
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from questions import health
from questions.interchange import transfer
from questions.models import (
    Assignment,
    Attempt,
    Cohort,
    ErrorReport,
    Question,
    ResidentProfile,
    Topic,
)
from questions.quizzes import assignments, control, engine, starting
from questions.quizzes import error_reports as reports
from questions.quizzes import simulation as simulations
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password"  # the factories' password
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-" + "z" * 20,
    "DJANGO_ALLOWED_HOSTS": "boards.example.org",
}


def test_the_deploy_check_reports_nothing_with_the_documented_production_settings():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean | PRODUCTION_ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- A site with something on every page ----------------------------------------------------


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def site(resident, educator):
    """A cohort with its educator and resident, an open assignment, a finished quiz with a
    report on it, and a quiz in progress."""
    questions = PublishableQuestionFactory.create_batch(3)
    topic = Topic.objects.create(slug="anatomy", name="Anatomy", order=1)
    for question in questions:
        question.topics.add(topic)
    cohort = Cohort.objects.create(name="Class of 2027", program="Anesthesiology")
    cohort.educators.add(educator)
    cohort.residents.add(resident)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(hours=1),
        due_at=now + datetime.timedelta(days=7),
        questions=questions[:1],
    )
    config = starting.QuizConfig(question_count=2)
    finished = engine.finish_attempt(attempt=starting.start_attempt(user=resident, config=config))
    report = reports.report_problem(
        user=resident, item=finished.items.get(position=1), kind="typo", comment="A typo."
    )
    in_progress = starting.start_attempt(user=resident, config=config)
    return SimpleNamespace(
        resident=resident,
        educator=educator,
        questions=questions,
        question=questions[0],
        cohort=cohort,
        assignment=assignment,
        finished=finished,
        in_progress=in_progress,
        report=report,
    )


def signed_in(user=None, **options) -> Client:
    client = Client(**options)
    if user is not None:
        client.force_login(user)
    return client


# --- Headers on every kind of response ------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: sources for name, *sources in (d.split() for d in policy.split(";") if d.strip())}


def _url(name: str, *, cohort: bool = False) -> Callable:
    return lambda site: reverse(name, args=[site.cohort.pk] if cohort else [])


# Who asks for which URL (a function of the site), and the status of the response.
PAGE_KINDS = {
    "public page": (None, _url("questions:home"), 200),
    "resident page": ("resident", _url("questions:dashboard"), 200),
    "educator page": ("educator", _url("questions:cohort_detail", cohort=True), 200),
    "admin page": ("educator", _url("admin:questions_question_changelist"), 200),
    "login form": (None, _url("login"), 200),
    "not found": (None, lambda site: "/no-such-page/", 404),
    "forbidden": ("resident", _url("questions:cohort_list"), 403),
    "redirect": (None, _url("questions:dashboard"), 302),
    "CSV export": ("educator", _url("questions:cohort_export", cohort=True), 200),
    "health check": (None, _url("healthz"), 200),
}


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_every_kind_of_response_carries_the_security_headers(site, kind):
    role, url, status = PAGE_KINDS[kind]
    client = signed_in(getattr(site, role) if role else None)
    response = client.get(url(site), secure=True)
    assert response.status_code == status
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"]  # no inline, eval or third-party script
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_is_sent_only_over_https(client):
    """Browsers ignore HSTS over plain HTTP; production redirects plain HTTP to HTTPS first."""
    assert "Strict-Transport-Security" not in client.get(reverse("questions:home"))


def test_no_template_holds_an_inline_script_or_event_handler():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for start in range(len(text)):
            if text.startswith("<script", start):
                tag = text[start : text.index(">", start)]
                assert "src=" in tag or 'type="application/json"' in tag, path
        assert not re.search(r"\son[a-z]+\s*=", text), path


# --- Cookies and HTTPS ----------------------------------------------------------------------


def test_every_cookie_the_site_sets_is_secure_and_http_only(client):
    """The session, the CSRF token and the messages (a message is kept in a cookie when it
    fits) are never sent over plain HTTP nor readable by a script."""
    UserFactory(username="ann")
    responses = [
        client.get(reverse("login"), secure=True),
        client.post(reverse("login"), {"username": "ann", "password": PASSWORD}, secure=True),
        client.post(reverse("questions:cohort_join"), {"code": "NOSUCH"}, secure=True),
    ]
    cookies = {name: c for r in responses for name, c in r.cookies.items()}
    assert {"sessionid", "csrftoken", "messages"} <= set(cookies)
    for name, cookie in cookies.items():
        assert cookie["secure"] and cookie["httponly"], name
        assert cookie["samesite"] == "Lax", name


def test_plain_http_is_redirected_to_https_except_the_health_check(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a new client, so the middleware reads the setting
    response = client.get(reverse("questions:home"))
    assert response.status_code == 301
    assert response.url.startswith("https://")
    assert client.get(reverse("healthz")).status_code == 200


# --- CSRF -----------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page, each with what a browser would submit (file inputs and submit
    buttons aside): hidden and text inputs, checked boxes, selected options, text areas."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self._form["fields"].append((attrs["name"], attrs.get("value", default) or ""))
        elif tag == "select":
            self._select = {"name": attrs.get("name"), "multiple": "multiple" in attrs}
            self._select.update(first=None, chosen=False)
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._form["fields"].append((self._select["name"], value))
                self._select["chosen"] = True
        elif tag == "textarea":
            self._textarea = (attrs.get("name"), [])

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea:
            name, text = self._textarea
            self._form["fields"].append((name, "".join(text).removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select:
            select = self._select
            if not (select["chosen"] or select["multiple"] or select["first"] is None):
                self._form["fields"].append((select["name"], select["first"]))
            self._select = None


def post_form(page, action: str) -> dict[str, list[str]]:
    """What the page's POST form to ``action`` submits, as the test client takes it."""
    page_url = page.request["PATH_INFO"]
    for form in _Forms(page.content.decode()).forms:
        target = urlsplit(urljoin(page_url, form["action"])).path
        if form["method"] == "post" and target == action:
            data: dict[str, list[str]] = {}
            for name, value in form["fields"]:
                data.setdefault(name, []).append(value)
            return data
    raise AssertionError(f"{page_url} has no POST form to {action}")


class _Messages(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def csrf_refusals():
    """What the CSRF middleware logs each time it refuses a request: the reason and path."""
    handler, logger = _Messages(), logging.getLogger("django.security.csrf")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


class Form(NamedTuple):
    """A form as a user meets it: who opens which page, and where its POST goes.
    ``page`` is a URL or a function(client) that returns the page; ``data`` is what the
    user types over the form's own fields; ``expect`` is the status once it is accepted, and
    ``shows`` a text of that response (for a 200, which a refused form also answers)."""

    who: str | None
    page: str | Callable
    action: str
    data: dict
    expect: int
    shows: str = ""


def _reset_confirm_url(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def _import_file() -> SimpleUploadedFile:
    text = transfer.export_questions(Question.objects.all(), "json")
    return SimpleUploadedFile("bank.json", text.encode(), "application/json")


def _import_dry_run(client):
    url = reverse("admin:questions_question_import")
    data = post_form(client.get(url), url) | {"file": _import_file(), "format": "json"}
    page = client.post(url, data)
    assert 'name="apply"' in page.content.decode(), "the file passes the dry run"
    return page


def _admin_change(obj) -> str:
    return reverse(f"admin:questions_{obj._meta.model_name}_change", args=[obj.pk])


def _hours_from_now(hours: int) -> str:
    return timezone.localtime(timezone.now() + datetime.timedelta(hours=hours)).strftime(
        "%Y-%m-%d %H:%M"
    )


def _simulation_form(s, name: str, *, on_break: bool = False) -> Form:
    """The button of an exam simulation's page that posts to ``name``: a simulation of the
    resident's (2 blocks of 5: the site's 3 questions, less the one its open assignment
    holds back, and 8 more) at block 1's start screen, or on the break after it."""
    PublishableQuestionFactory.create_batch(8)
    sim = simulations.create_simulation(
        user=s.resident, block_count=2, block_size=5, break_seconds=600
    )
    if on_break:
        engine.finish_attempt(attempt=simulations.start_block(simulation=sim, user=s.resident))
    return Form(
        "resident", sim.get_absolute_url(), reverse(f"questions:{name}", args=[sim.pk]), {}, 302
    )


def _notice_form(s, name: str, *, page: str = "questions:notification_list") -> Form:
    """A button of the notifications page that posts to ``name`` (for the resident's one
    unread notification, made here)."""
    notice, _ = s.resident.notifications.get_or_create(
        key="security", defaults={"kind": "assignment_set", "title": "Hi", "url": "/quizzes/",
                                  "created_at": timezone.now()},
    )  # fmt: skip
    args = [] if name == "notification_read_all" else [notice.pk]
    return Form("resident", reverse(page), reverse(f"questions:{name}", args=args), {}, 302)


def _control_form(s, name: str, data=None, *, more=()) -> Form:
    """The form of an assignment's control page ``name`` (a confirmation, or a form) that
    posts to itself."""
    page = reverse(f"questions:assignment_{name}", args=[s.cohort.pk, s.assignment.pk, *more])
    return Form("educator", page, page, data or {}, 302)


def _archived_page(s, client):
    """The assignment page once archived: its Restore button."""
    control.archive_assignment(assignment=s.assignment, actor=s.educator)
    return client.get(reverse("questions:assignment_detail", args=[s.cohort.pk, s.assignment.pk]))


FORMS: dict[str, Callable] = {
    "login": lambda s: Form(
        None, reverse("login"), reverse("login"),
        {"username": "resident1", "password": PASSWORD}, 302,
    ),
    "signup": lambda s: Form(
        None, reverse("questions:signup"), reverse("questions:signup"),
        {"username": "newbie", "email": "n@example.org", "password1": "x-" + PASSWORD,
         "password2": "x-" + PASSWORD, "program": "X", "training_year": "1"}, 302,
    ),
    "password reset": lambda s: Form(
        None, reverse("password_reset"), reverse("password_reset"),
        {"email": "resident@example.org"}, 302,
    ),
    "password reset confirm": lambda s: Form(
        None,
        lambda client: client.get(_reset_confirm_url(s.resident), follow=True),
        _reset_confirm_url(s.resident).rsplit("/", 2)[0] + "/set-password/",
        {"new_password1": "x-" + PASSWORD, "new_password2": "x-" + PASSWORD}, 302,
    ),
    "logout": lambda s: Form(
        "resident", reverse("questions:dashboard"), reverse("logout"), {}, 302
    ),
    "password change": lambda s: Form(
        "resident", reverse("password_change"), reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "x-" + PASSWORD,
         "new_password2": "x-" + PASSWORD}, 302,
    ),
    "settings": lambda s: Form(
        "resident", reverse("questions:profile"), reverse("questions:profile"),
        {"program": "Y"}, 302,
    ),
    "new quiz": lambda s: Form(
        "resident", reverse("questions:attempt_new"), reverse("questions:attempt_new"),
        {"question_count": "1"}, 302,
    ),
    "answer": lambda s: Form(
        "resident", reverse("questions:attempt_question", args=[s.in_progress.pk, 1]),
        reverse("questions:attempt_answer", args=[s.in_progress.pk, 1]), {"letter": "A"}, 302,
    ),
    "finish": lambda s: Form(
        "resident", reverse("questions:attempt_submit", args=[s.in_progress.pk]),
        reverse("questions:attempt_finish", args=[s.in_progress.pk]), {}, 302,
    ),
    "report": lambda s: Form(
        "resident", reverse("questions:attempt_result_item", args=[s.finished.pk, 2]),
        reverse("questions:error_report_new", args=[s.finished.pk, 2]),
        {"kind": "unclear", "comment": "Which nerve?"}, 302,
    ),
    "note": lambda s: Form(
        "resident", reverse("questions:attempt_result_item", args=[s.finished.pk, 2]),
        reverse("questions:item_note", args=[s.finished.pk, 2]),
        {"note": "Check the iliac crest."}, 302,
    ),
    "tag a miss": lambda s: Form(
        "resident", reverse("questions:attempt_result_item", args=[s.finished.pk, 2]),
        reverse("questions:item_miss_type", args=[s.finished.pk, 2]),
        {"miss_type": "misread"}, 302,
    ),
    "discard a quiz": lambda s: Form(
        "resident", reverse("questions:attempt_discard", args=[s.in_progress.pk]),
        reverse("questions:attempt_discard", args=[s.in_progress.pk]), {}, 302,
    ),
    "join a cohort": lambda s: Form(
        "resident", reverse("questions:dashboard"), reverse("questions:cohort_join"),
        {"code": s.cohort.join_code}, 302,
    ),
    "start an assignment": lambda s: Form(
        "resident", reverse("questions:assignment_start", args=[s.assignment.pk]),
        reverse("questions:assignment_start", args=[s.assignment.pk]), {}, 302,
    ),
    "new assignment": lambda s: Form(
        "educator", reverse("questions:assignment_new", args=[s.cohort.pk]),
        reverse("questions:assignment_new", args=[s.cohort.pk]),
        {"title": "Week 2", "question_count": "2", "opens_at": _hours_from_now(0),
         "due_at": _hours_from_now(48)}, 302,
    ),
    # The site's 3 questions, less the one its open assignment holds back, cannot fill 2
    # blocks of 5: the builder says so, once the token is checked.
    "new exam simulation": lambda s: Form(
        "resident", reverse("questions:simulation_new"), reverse("questions:simulation_new"),
        {"block_count": "2", "block_size": "5", "break_minutes": "1"}, 200,
        "These settings hold 2 questions",
    ),
    # Controlling an assignment (quizzes.control), from its pages.
    "edit an assignment": lambda s: _control_form(s, "edit", {"title": "Week 1 edited"}),
    "close an assignment": lambda s: _control_form(s, "close"),
    "release results": lambda s: _control_form(s, "release"),
    "archive an assignment": lambda s: _control_form(s, "archive"),
    "restore an assignment": lambda s: Form(
        "educator", lambda client: _archived_page(s, client),
        reverse("questions:assignment_unarchive", args=[s.cohort.pk, s.assignment.pk]), {}, 302,
    ),
    "extend for one resident": lambda s: _control_form(
        s, "resident", {"extra_minutes": "10"}, more=[s.resident.pk]
    ),
    "time accommodation": lambda s: Form(
        "educator", reverse("questions:cohort_accommodations", args=[s.cohort.pk]),
        reverse("questions:cohort_accommodations", args=[s.cohort.pk]),
        {"time_setting": "x2", "note": "Letter"}, 302,
    ),
    "start a block": lambda s: _simulation_form(s, "simulation_start_block"),
    "end a break": lambda s: _simulation_form(s, "simulation_end_break", on_break=True),
    "open a notification": lambda s: _notice_form(s, "notification_open"),
    "mark a notification read": lambda s: _notice_form(s, "notification_read"),
    "mark all notifications read": lambda s: _notice_form(s, "notification_read_all"),
    "admin login": lambda s: Form(
        None, reverse("admin:login"), reverse("admin:login"),
        {"username": "educator1", "password": PASSWORD}, 302,
    ),
    "admin question change form": lambda s: Form(
        "educator", _admin_change(s.question), _admin_change(s.question), {}, 302,
    ),
    "admin action": lambda s: Form(
        "educator", reverse("admin:questions_question_changelist"),
        reverse("admin:questions_question_changelist"),
        {"action": "export_csv", "_selected_action": [str(s.question.pk)]}, 200,
        s.question.key,
    ),
    "admin import: check the file": lambda s: Form(
        "educator", reverse("admin:questions_question_import"),
        reverse("admin:questions_question_import"),
        {"file": _import_file(), "format": "json"}, 200, "Dry run: what importing",
    ),
    "admin import: apply it": lambda s: Form(
        "educator", _import_dry_run, reverse("admin:questions_question_import"),
        {"apply": "Import these changes"}, 302,
    ),
    "admin restore": lambda s: Form(
        "educator",
        reverse("admin:questions_question_restore",
                args=[s.question.pk, s.question.history.earliest().history_id]),
        reverse("admin:questions_question_restore",
                args=[s.question.pk, s.question.history.earliest().history_id]),
        {}, 302,
    ),
    "admin error report decision": lambda s: Form(
        "educator", _admin_change(s.report), _admin_change(s.report),
        {"status": "accepted", "reply": "Thank you."}, 302,
    ),
}  # fmt: skip


def _post(client, url, data):
    for value in data.values():
        if hasattr(value, "seek"):
            value.seek(0)  # an upload is read again by the second request
    return client.post(url, data)


@pytest.mark.parametrize("name", FORMS)
def test_every_form_is_refused_without_its_csrf_token_and_accepted_with_it(
    site, settings, csrf_refusals, name
):
    settings.PASSWORD_RESET_BY_EMAIL = True  # the reset form exists only when mail is sent
    form = FORMS[name](site)
    client = signed_in(getattr(site, form.who) if form.who else None, enforce_csrf_checks=True)
    page = form.page(client) if callable(form.page) else client.get(form.page)
    data = post_form(page, form.action) | form.data
    assert data.get("csrfmiddlewaretoken"), "the form carries its token"

    without = {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"}
    refused = _post(client, form.action, without)
    assert refused.status_code == 403
    assert "CSRF verification failed" in refused.content.decode()
    assert csrf_refusals == [f"Forbidden (CSRF token missing.): {form.action}"]

    accepted = _post(client, form.action, data)
    assert csrf_refusals == [f"Forbidden (CSRF token missing.): {form.action}"]
    errors = re.findall(r'class="errorlist[^>]*>(.*?)</ul>', accepted.content.decode(), re.S)
    assert accepted.status_code == form.expect, errors
    assert form.shows in accepted.content.decode()


# Pages of the site (the admin's aside) with no form that posts to them.
WITHOUT_A_FORM = {
    "healthz",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    "questions:home",
    "questions:reference_list",
    "questions:diagram_svg",
    "questions:dashboard",
    "questions:attempt_list",
    "questions:attempt_counts",
    "questions:attempt_detail",
    "questions:attempt_question",
    "questions:attempt_submit",
    "questions:attempt_results",
    "questions:attempt_results_all",
    "questions:attempt_result_item",
    "questions:note_list",
    "questions:error_report_list",
    "questions:flashcards",
    "questions:question_preview",
    "questions:item_analysis",
    "questions:cohort_list",
    "questions:cohort_detail",
    "questions:cohort_export",
    "questions:cohort_resident",
    "questions:cohort_resident_attempt",
    "questions:assignment_detail",
    "questions:assignment_monitor",
    "questions:assignment_preview",
    "questions:simulation_detail",
    "questions:notification_list",
}

# Views that take no CSRF token, and why. Each is checked by its own test instead.
CSRF_EXEMPT = {
    # The signed token in the URL is the only credential (no session is used), and RFC
    # 8058's one-click unsubscribe is a POST from the mail provider, with no CSRF token:
    # tests/views/test_notifications.py.
    "questions:notification_unsubscribe": "notifications/unsubscribe/<str:token>/",
}


def _url_patterns(patterns=None, namespace=""):
    """Every (name, pattern) of the URLconf, the admin's included; unnamed ones as (None, p)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_patterns(pattern.url_patterns, inner)
        else:
            assert isinstance(pattern, URLPattern)
            yield (f"{namespace}{pattern.name}" if pattern.name else None), pattern


def _example_url(name: str, pattern: URLPattern) -> str:
    """The URL named ``name`` with an argument of the right kind for each parameter: the
    CSRF check runs before the view, so the objects need not exist."""
    regex = pattern.pattern.regex
    if not regex.groupindex:  # positional groups (simple-history's version page)
        return reverse(name, args=["1"] * regex.groups)
    converters = getattr(pattern.pattern, "converters", {})
    kwargs = {
        param: "questions"
        if param == "app_label"
        else 1
        if isinstance(converters.get(param), IntConverter)
        else "1"
        for param in regex.groupindex
    }
    return reverse(name, kwargs=kwargs)


def test_every_post_form_of_the_site_is_in_the_table_above(site):
    """A URL added without a row in FORMS or WITHOUT_A_FORM fails here."""
    names = {resolve(FORMS[name](site).action).view_name for name in FORMS}
    with_a_form = {name for name in names if not name.startswith("admin:")}
    site_names = {name for name, _ in _url_patterns() if name and not name.startswith("admin:")}
    assert site_names - with_a_form - WITHOUT_A_FORM - set(CSRF_EXEMPT) == set()
    assert (with_a_form | WITHOUT_A_FORM | set(CSRF_EXEMPT)) - site_names == set()


def test_no_view_is_exempt_from_the_csrf_check():
    exempt = {
        name: str(p.pattern)
        for name, p in _url_patterns()
        if getattr(p.callback, "csrf_exempt", False)
    }
    assert exempt == CSRF_EXEMPT


def test_every_url_refuses_a_post_without_a_csrf_token(csrf_refusals):
    """Every named URL, the admin's included, as the URLconf has them now: a URL added later
    is covered without a row anywhere."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))  # the CSRF cookie, so that only the token is missing
    urls = sorted(
        {_example_url(name, p) for name, p in _url_patterns() if name and name not in CSRF_EXEMPT}
    )
    assert len(urls) > 60  # the admin's URLs are in
    for url in urls:
        response = client.post(url, {"comment": "x"})
        assert response.status_code == 403, url
    assert csrf_refusals == [f"Forbidden (CSRF token missing.): {url}" for url in urls]


def test_every_post_form_in_the_templates_carries_its_token():
    for path in (ROOT / "templates").rglob("*.html"):
        for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", path.read_text(), re.S):
            if 'method="post"' in form.group(1).lower():
                assert "{% csrf_token %}" in form.group(2), path


# --- Escaping: everything typed, on every page that shows it --------------------------------


def typed(field: str) -> str:
    """What a hostile author, educator or resident types into ``field``: a script, and a
    break-out of an HTML attribute. The marker first says which field a page shows, even when
    the page shortens the text."""
    return f'zq{field}zq<script>alert(1)</script>"><img src=x onerror=alert(1)>'


UNESCAPED = ("<script>alert(1)", "<img src=x onerror")


@pytest.fixture
def typed_everywhere(resident, educator, superuser):
    """Every field that someone types and a page shows, holding ``typed(field)``: a
    published question with its choices, image texts, topic, reference and citation; the
    resident's name and program; a cohort and an assignment (created through their forms,
    so the confirmation messages show them too); quizzes finished, in progress and in tutor
    review; an error report with the educator's reply; a failed log-in's user name and user
    agent, which the lockout records keep."""
    topic = Topic.objects.create(
        slug="typed", name=typed("topic"), description=typed("topicdescription"), order=1
    )
    question = PublishableQuestionFactory(
        stem=typed("stem"),
        lead_in=typed("leadin") + "?",
        objective=typed("objective"),
        image="questions/typed.png",
        image_alt=typed("imagealt"),
        image_credit=typed("imagecredit"),
    )
    question.topics.add(topic)
    for choice in question.choices.all():
        choice.text = typed(f"choice{choice.letter}")
        choice.rationale = typed(f"rationale{choice.letter}")
        choice.save()
    citation = question.citations.get()
    citation.locator = typed("locator")
    citation.save()
    question.explanation = typed("explanation") + "\n\n" + question.explanation
    question.save()  # the latest version in the history, with all of the above
    reference = citation.reference
    reference.authors, reference.title = typed("authors"), typed("title")
    reference.journal = typed("journal")
    reference.save()

    resident.first_name, resident.last_name = typed("first"), typed("last")
    resident.save()
    ResidentProfile.objects.create(user=resident, program=typed("program"))
    cohort = Cohort.objects.create(
        name=typed("cohort"), program=typed("cohortprogram"), description=typed("cohortdescr")
    )
    cohort.educators.add(educator)

    # Its quizzes come first: once the assignment below is set, it holds the question back
    # from new practice quizzes.
    def quiz(mode, answer):
        config = starting.QuizConfig(question_count=1, mode=mode, topics=[topic])
        attempt = starting.start_attempt(user=resident, config=config)
        if answer:
            engine.answer(attempt=attempt, position=1, letter="A")
        return attempt

    finished = engine.finish_attempt(attempt=quiz(Attempt.Mode.TIMED, answer=True))
    live = quiz(Attempt.Mode.TIMED, answer=False)
    for attempt in (finished, live):
        attempt.items.update(note=typed("note"), note_updated_at=timezone.now())
    tutor = quiz(Attempt.Mode.TUTOR, answer=True)

    # Anyone may type a user name, and send a user agent, that the lockout records keep.
    Client(HTTP_USER_AGENT=typed("useragent")).post(
        reverse("login"), {"username": typed("username"), "password": "wrong"}
    )
    residents, educators = signed_in(resident), signed_in(educator)
    pages = {
        "joined a cohort": residents.post(
            reverse("questions:cohort_join"), {"code": cohort.join_code}, follow=True
        ),
        "assignment set": educators.post(
            reverse("questions:assignment_new", args=[cohort.pk]),
            {
                "title": typed("assignment"),
                "kind": Assignment.Kind.FIXED,
                "questions": [question.pk],
                "mode": Attempt.Mode.TIMED,
                "opens_at": _hours_from_now(-1),
                "due_at": _hours_from_now(48),
            },
            follow=True,
        ),
    }
    assignment = Assignment.objects.get()
    # It then asks a copy of the question's wording: the question an open assignment asks
    # is held back from the resident's own results pages, which must show (escaped)
    # everything typed here.
    copy = PublishableQuestionFactory(stem=question.stem, lead_in=question.lead_in)
    copy.topics.add(topic)
    assignment.questions.set([copy])

    report = reports.report_problem(
        user=resident, item=finished.items.get(), kind="typo", comment=typed("comment")
    )
    ErrorReport.objects.filter(pk=report.pk).update(
        status=ErrorReport.Status.ACCEPTED, reply=typed("reply"), handled_by=educator
    )
    return SimpleNamespace(
        pages=pages,
        residents=residents,
        educators=educators,
        admins=signed_in(superuser),
        question=question,
        topic=topic,
        reference=reference,
        cohort=cohort,
        assignment=assignment,
        report=report,
        resident=resident,
        finished=finished,
        live=live,
        tutor=tutor,
    )


CHOICES = {f"{field}{letter}" for field in ("choice", "rationale") for letter in "ABCDE"}
QUESTION = {"stem", "leadin", "imagealt", "imagecredit"} | {f"choice{c}" for c in "ABCDE"}
REFERENCE = {"authors", "title", "journal", "locator"}
REVIEW = QUESTION | CHOICES | REFERENCE | {"objective", "explanation"}
RESIDENT = {"first", "last"}


def _site_pages(t) -> dict[str, tuple]:
    """Each page: (response, the fields it shows)."""
    cohort, resident, finished = t.cohort.pk, t.resident.pk, t.finished.pk
    get, educators = t.residents.get, t.educators.get
    return {
        "home": (get(reverse("questions:home")), {"topic", "topicdescription"}),
        "references": (get(reverse("questions:reference_list")), REFERENCE - {"locator"}),
        "live question": (
            get(reverse("questions:attempt_question", args=[t.live.pk, 1])),
            QUESTION,
        ),
        "tutor review": (get(reverse("questions:attempt_question", args=[t.tutor.pk, 1])), REVIEW),
        "results": (get(reverse("questions:attempt_results", args=[finished])), {"topic"}),
        "results, every question": (
            get(reverse("questions:attempt_results_all", args=[finished])),
            REVIEW | {"topic", "note"},
        ),
        "review of a question": (
            get(reverse("questions:attempt_result_item", args=[finished, 1])),
            REVIEW | {"topic", "note"},
        ),
        "my notes": (get(reverse("questions:note_list")), {"note", "topic", "stem"}),
        "quiz list": (get(reverse("questions:attempt_list")), {"topic"}),
        "quiz builder": (get(reverse("questions:attempt_new")), {"topic"}),
        "quiz builder's counts": (
            get(reverse("questions:attempt_counts"), {"topics": t.topic.pk, "pool": "unused"}),
            set(),
        ),
        "discard a quiz": (get(reverse("questions:attempt_discard", args=[t.live.pk])), set()),
        "dashboard": (get(reverse("questions:dashboard")), {"topic", "cohort", "assignment"}),
        "joined a cohort": (t.pages["joined a cohort"], {"topic", "cohort"}),
        "settings": (get(reverse("questions:profile")), {"program"}),
        "my reports": (get(reverse("questions:error_report_list")), {"comment", "reply", "leadin"}),
        "cohort list": (
            educators(reverse("questions:cohort_list")),
            {"cohort", "cohortprogram"},
        ),
        "cohort": (
            educators(reverse("questions:cohort_detail", args=[cohort])),
            RESIDENT | {"cohort", "topic", "assignment"},
        ),
        "resident of a cohort": (
            educators(reverse("questions:cohort_resident", args=[cohort, resident])),
            RESIDENT | {"topic", "cohort", "assignment"},
        ),
        "resident's quiz": (
            educators(
                reverse("questions:cohort_resident_attempt", args=[cohort, resident, finished])
            ),
            REVIEW | RESIDENT | {"cohort", "topic"},
        ),
        "assignment set": (
            t.pages["assignment set"],
            RESIDENT | {"assignment", "cohort", "leadin"},
        ),
        "assignment": (
            educators(reverse("questions:assignment_detail", args=[cohort, t.assignment.pk])),
            RESIDENT | {"assignment", "cohort", "leadin"},
        ),
        "question preview": (
            educators(reverse("questions:question_preview", args=[t.question.pk])),
            REVIEW | {"topic"},
        ),
        "item analysis": (educators(reverse("questions:item_analysis")), {"leadin"}),
    }


# What each model's change list shows.
ADMIN_LISTS = {
    "question": {"leadin", "topic"},
    "reference": {"authors", "title", "journal"},
    "topic": {"topic"},
    "cohort": {"cohort", "cohortprogram"},
    "assignment": {"assignment", "cohort"},
    "errorreport": {"comment"},
    "user": RESIDENT,
    "accessattempt": {"username", "useragent"},
}


def _admin_pages(t) -> dict[str, tuple]:
    """Every model's change list; the change and history pages of each object that holds
    typed text; the question's restore page."""
    pages = {}
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        pages[f"admin {meta.model_name} list"] = (
            t.admins.get(url),
            ADMIN_LISTS.get(meta.model_name, set()),
        )
    # Each object: what its change page shows, then its history page.
    objects = {
        t.question: (QUESTION | CHOICES | {"objective", "explanation", "locator", "topic"},
                     CHOICES | {"explanation", "locator", "topic"}),
        t.topic: ({"topic", "topicdescription"}, {"topic"}),
        t.reference: ({"authors", "title", "journal"}, {"authors", "title", "journal"}),
        t.cohort: ({"cohort", "cohortprogram", "cohortdescr"}, {"cohort"}),
        # Questions and topics are read-only there: a fixed one lists question keys only.
        t.assignment: ({"assignment", "cohort"}, {"assignment"}),
        t.report: ({"comment", "reply", "leadin"} | {f"choice{c}" for c in "ABCDE"}, set()),
        t.resident: (RESIDENT, set()),
        AccessAttempt.objects.get(): ({"username", "useragent"}, set()),
    }  # fmt: skip
    for obj, (change, history) in objects.items():
        meta = obj._meta
        for view, fields in (("change", change), ("history", history)):
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])
            pages[f"admin {meta.model_name} {view}"] = (t.admins.get(url), fields)
    version = t.question.history.latest().history_id
    url = reverse("admin:questions_question_restore", args=[t.question.pk, version])
    pages["admin question restore"] = (
        t.admins.get(url),
        CHOICES | {"stem", "leadin", "objective", "explanation", "locator", "topic"},
    )
    return pages


def _check_pages(pages: dict[str, tuple]) -> list[str]:
    problems = []
    for name, (response, fields) in pages.items():
        html = response.content.decode()
        if response.status_code != 200:
            problems.append(f"{name}: status {response.status_code}")
        problems += [f"{name}: {raw!r} unescaped" for raw in UNESCAPED if raw in html]
        problems += [f"{name}: {field} not shown" for field in fields if f"zq{field}zq" not in html]
    return problems


def test_everything_typed_is_rendered_escaped_on_every_page_that_shows_it(typed_everywhere):
    assert _check_pages(_site_pages(typed_everywhere)) == []


def test_everything_typed_is_rendered_escaped_in_the_admin(typed_everywhere):
    assert _check_pages(_admin_pages(typed_everywhere)) == []


def test_the_cohort_export_is_a_download_never_a_page(typed_everywhere):
    url = reverse("questions:cohort_export", args=[typed_everywhere.cohort.pk])
    response = typed_everywhere.educators.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"  # a browser never sniffs it as HTML
    assert "zqfirstzq" in response.content.decode()


# --- Log-in -----------------------------------------------------------------------------------


def test_repeated_failed_logins_lock_the_account_from_that_address(client):
    UserFactory(username="ann")
    for _ in range(5):
        client.post(reverse("login"), {"username": "ann", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    ok = elsewhere.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert ok.status_code == 302  # another address is not locked out


def _fail_five_times(client, **headers):
    for _ in range(5):
        client.post(reverse("login"), {"username": "ann", "password": "wrong"}, **headers)


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client):
    """Without a proxy in front (DJANGO_PROXY_COUNT=0), X-Forwarded-For is the client's
    own word and is ignored."""
    UserFactory(username="ann")
    _fail_five_times(client, HTTP_X_FORWARDED_FOR="198.51.100.1")
    retry = client.post(
        reverse("login"),
        {"username": "ann", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.2",
    )
    assert retry.status_code == 429


def test_behind_a_proxy_the_lockout_follows_each_clients_address(settings):
    """With DJANGO_PROXY_COUNT=1 every request comes from the proxy's address: locking
    that would lock out the whole hospital, so the lockout follows the address the proxy
    appended to X-Forwarded-For, and what a client wrote there itself is ignored."""
    settings.PROXY_COUNT = 1
    UserFactory(username="ann")
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    _fail_five_times(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")

    def log_in(forwarded_for):
        return proxy.post(
            reverse("login"),
            {"username": "ann", "password": PASSWORD},
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    assert log_in("203.0.113.5, 198.51.100.1") == 429  # a forged entry on the left
    assert log_in("198.51.100.7") == 302  # another resident behind the same proxy


def test_sign_up_applies_the_password_validators(client):
    response = client.post(
        reverse("questions:signup"),
        {
            "username": "newbie",
            "email": "n@example.org",
            "password1": "12345678",
            "password2": "12345678",
            "program": "X",
            "training_year": "1",
        },
    )
    assert "This password is too common." in response.content.decode()


# --- Health check ---------------------------------------------------------------------------


def test_health_check_reports_the_database(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not configured"}
    assert "no-store" in response["Cache-Control"]  # no proxy keeps an old answer


@pytest.fixture
def unreachable_database(tmp_path):
    """A real connection, of the test database's own engine, to a database that cannot be
    reached: SQLite in a directory that does not exist, PostgreSQL on a port nothing
    listens on. The test database itself is left alone."""
    config = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        config["NAME"] = str(tmp_path / "no-such-directory" / "db.sqlite3")
    else:
        config.update(HOST="127.0.0.1", PORT="1", OPTIONS={"connect_timeout": 2})
    unreachable = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias="unreachable")
    yield unreachable
    unreachable.close()


def test_health_check_answers_503_when_the_database_is_unreachable(
    client, monkeypatch, unreachable_database
):
    monkeypatch.setattr(health, "connection", unreachable_database)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "redis": "not configured",
    }
    assert "no-store" in response["Cache-Control"]


# --- Sessions and cache in Redis ------------------------------------------------------------

# Database 15 (14, 13, ... for the other pytest-xdist workers, down to 8): these tests' own,
# flushed before and after.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
REDIS_URL = f"redis://127.0.0.1:6379/{15 - _WORKER % 8}"


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc}); start it to run this test."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def redis_settings(settings, monkeypatch, redis_db):
    """The cache and session settings that quizsite/settings.py derives from REDIS_URL."""
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    derived = runpy.run_path(str(ROOT / "quizsite" / "settings.py"))
    assert derived["CACHES"]["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert "SESSION_ENGINE" not in derived  # Django's default: the database
    settings.CACHES = derived["CACHES"]
    return redis_db


def test_with_redis_the_cache_is_shared_through_redis(redis_settings):
    from django.core.cache import cache

    cache.set("shared", {"answer": 42}, timeout=60)
    assert cache.get("shared") == {"answer": 42}
    assert [key.decode() for key in redis_settings.keys("*shared*")] == [":1:shared"]


def test_with_redis_a_login_session_lives_in_the_database_and_survives_a_redis_restart(
    redis_settings,
):
    UserFactory(username="ann")
    client = Client()  # a new client, so the middleware reads the session engine
    login = client.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert login.status_code == 302
    session_key = client.cookies["sessionid"].value
    assert redis_settings.keys(f"*{session_key}") == []  # not in Redis: in the database
    assert Session.objects.filter(session_key=session_key).exists()

    redis_settings.flushdb()  # Redis restarted empty
    again = client.get(reverse("questions:dashboard"))
    assert again.status_code == 200
    assert again.wsgi_request.user.username == "ann"
