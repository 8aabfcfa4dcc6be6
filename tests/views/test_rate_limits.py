"""Rate limits (questions/people/limits.py; the settings in quizsite/settings.py, "Rate
limits"). Past a limit a request gets a 429 page that says what was limited and when to try
again, with Retry-After, and nothing is written: no account, no login, no lockout record, no
report, no quiz, no import, no e-mail. Below it everything works. Logged-in actions are
counted per account, anonymous ones per client address (behind DJANGO_PROXY_COUNT proxies,
the client's own address); logins also per typed username, reset e-mails per typed address.

Each test sets low limits through ``settings``; tests/conftest.py gives every test counters
of its own. The defaults are tested against what they must let through (a cohort behind one
hospital address)."""

import json
import re
import runpy
import time
import uuid
from pathlib import Path

import django_ratelimit.core
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from questions import redis_breaker
from questions.models import Attempt, Cohort, ErrorReport, ExamSimulation, Question
from questions.quizzes import assignments, engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.fuzz.helpers import send
from tests.views.test_reconnect import dropped_before
from tests.views.test_redis_down import REDIS_SERVER, OwnRedis

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
User = get_user_model()
PASSWORD = "a-long-test-password"  # the factories' password
STRONG = "Vq8#pLm2!zXr-Tw4"
SIGNUP = reverse("questions:signup")
LOGIN = reverse("login")
RESET = reverse("password_reset")
BUILDER = reverse("questions:attempt_new")
SIMULATION = reverse("questions:simulation_new")
IMPORT = reverse("admin:questions_question_import")
PROXY = "10.0.0.2"  # the reverse proxy's address, when PROXY_COUNT is 1


def assert_limited(response, what: str, *, window_seconds: int) -> None:
    """A 429 that names what was limited and says when to try again, in words and in
    Retry-After (the seconds left in the limit's window)."""
    assert response.status_code == 429, response.status_code
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= window_seconds
    page = " ".join(response.content.decode().split())
    assert f"Too many {what}" in page, page
    assert "Try again in" in page
    assert "Nothing was saved or sent" in page


def signup_data(name: str) -> dict:
    return {
        "username": name,
        "email": f"{name}@example.org",
        "password1": STRONG,
        "password2": STRONG,
        "program": "Orthopaedics",
        "training_year": "1",
    }


def axes_rows() -> tuple[int, int, int]:
    return (
        AccessAttempt.objects.count(),
        AccessFailureLog.objects.count(),
        AccessLog.objects.count(),
    )


# --- Sign-up ------------------------------------------------------------------------------


def test_sign_ups_past_the_limit_from_one_address_are_refused_and_create_nothing(settings):
    settings.RATE_LIMIT_SIGNUP_PER_ADDRESS = "2/h"
    for name in ("ann", "bob"):
        assert Client().post(SIGNUP, signup_data(name)).status_code == 302
    client = Client()
    sessions = Session.objects.count()
    outcome = send(client, "post", SIGNUP, signup_data("cat"))
    assert_limited(outcome.response, "sign-ups from your network", window_seconds=3600)
    assert not outcome.changed
    assert not User.objects.filter(username="cat").exists()
    assert Session.objects.count() == sessions and "sessionid" not in outcome.response.cookies
    # Only what is sent counts: the form itself still opens.
    assert client.get(SIGNUP).status_code == 200


def test_behind_a_proxy_each_clients_sign_ups_are_counted_apart(settings):
    settings.PROXY_COUNT = 1
    settings.RATE_LIMIT_SIGNUP_PER_ADDRESS = "1/h"
    proxy = Client(REMOTE_ADDR=PROXY)

    def sign_up(name, forwarded_for):
        return proxy.post(SIGNUP, signup_data(name), HTTP_X_FORWARDED_FOR=forwarded_for)

    assert sign_up("ann", "198.51.100.1").status_code == 302
    proxy.logout()
    assert sign_up("bob", "198.51.100.1").status_code == 429
    assert sign_up("cat", "203.0.113.9, 198.51.100.1").status_code == 429  # forged on the left
    assert sign_up("dan", "198.51.100.2").status_code == 302  # another resident's address


def test_a_limit_set_empty_is_off(settings):
    settings.RATE_LIMIT_SIGNUP_PER_ADDRESS = ""
    for name in ("ann", "bob", "cat"):
        assert Client().post(SIGNUP, signup_data(name)).status_code == 302


# --- Log-in -------------------------------------------------------------------------------


def test_failed_logins_for_many_usernames_from_one_address_are_limited(settings):
    """django-axes locks a username and address pair; an attacker trying a new username each
    time from one address is stopped here, before the password is checked."""
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = "3/10m"
    UserFactory(username="ann")
    client = Client()
    for name in ("x1", "x2", "x3"):
        assert client.post(LOGIN, {"username": name, "password": "wrong"}).status_code == 200
    before = axes_rows()
    outcome = send(client, "post", LOGIN, {"username": "ann", "password": PASSWORD})
    assert_limited(outcome.response, "failed log-ins from your network", window_seconds=600)
    assert not outcome.changed  # not even last_login
    assert axes_rows() == before
    assert SESSION_KEY not in client.session
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert elsewhere.post(LOGIN, {"username": "ann", "password": PASSWORD}).status_code == 302


def test_successful_logins_are_not_counted(settings):
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = "2/10m"
    settings.RATE_LIMIT_LOGIN_PER_USERNAME = "2/15m"
    users = UserFactory.create_batch(4)
    for user in [*users, *users]:
        response = Client().post(LOGIN, {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302


def test_failed_logins_for_one_username_from_many_addresses_are_limited(settings):
    settings.PROXY_COUNT = 1
    settings.RATE_LIMIT_LOGIN_PER_USERNAME = "3/15m"
    UserFactory(username="ann")
    UserFactory(username="bob")
    proxy = Client(REMOTE_ADDR=PROXY)

    def log_in(username, password, address):
        data = {"username": username, "password": password}
        return send(proxy, "post", LOGIN, data, HTTP_X_FORWARDED_FOR=address)

    for n in range(1, 4):
        assert log_in("ann", "wrong", f"198.51.100.{n}").status == 200
    before = axes_rows()
    refused = log_in("ann", PASSWORD, "198.51.100.9")
    assert_limited(refused.response, "failed log-ins for this username", window_seconds=900)
    assert not refused.changed and axes_rows() == before
    assert log_in("bob", PASSWORD, "198.51.100.1").status == 302  # another username


def test_logins_django_axes_refused_unchecked_do_not_count_against_the_username(settings):
    """Once axes has locked a username at one address, further tries from there are refused
    without checking the password: they cost nothing and do not count, so one address alone
    cannot lock the account out everywhere."""
    settings.PROXY_COUNT = 1
    settings.RATE_LIMIT_LOGIN_PER_USERNAME = "6/15m"
    UserFactory(username="ann")
    proxy = Client(REMOTE_ADDR=PROXY)
    for _ in range(20):
        proxy.post(
            LOGIN, {"username": "ann", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.5"
        )
    home = proxy.post(
        LOGIN, {"username": "ann", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert home.status_code == 302


@pytest.mark.slow
def test_a_cohort_logging_in_from_one_hospital_address_is_never_refused():
    """The defaults: 150 residents behind the hospital's one NAT address log in within a
    few minutes before an exam, every one of them mistyping once first."""
    residents = [UserFactory(username=f"res{n}") for n in range(150)]
    for resident in residents:
        client = Client(REMOTE_ADDR="192.0.2.10")
        typo = client.post(LOGIN, {"username": resident.username, "password": "Wrong"})
        assert typo.status_code == 200
        done = client.post(LOGIN, {"username": resident.username, "password": PASSWORD})
        assert done.status_code == 302, resident.username


# --- Password reset -----------------------------------------------------------------------


@pytest.fixture
def mail_on(settings):
    settings.PASSWORD_RESET_BY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_reset_mails_to_one_address_are_limited_whoever_asks(settings, mail_on):
    settings.PROXY_COUNT = 1
    settings.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL = "2/h"
    UserFactory(username="ann", email="ann@example.org")
    UserFactory(username="bob", email="bob@example.org")
    proxy = Client(REMOTE_ADDR=PROXY)
    for n, typed in enumerate(["ann@example.org", " ANN@example.org"]):
        sent = proxy.post(RESET, {"email": typed}, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert sent.url == reverse("password_reset_done")
    outcome = send(
        proxy, "post", RESET, {"email": "Ann@Example.org"}, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert_limited(outcome.response, "password-reset e-mails to this address", window_seconds=3600)
    assert not outcome.changed
    assert len(mail.outbox) == 2
    other = proxy.post(RESET, {"email": "bob@example.org"}, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert other.status_code == 302 and len(mail.outbox) == 3


def test_reset_requests_from_one_client_are_limited(settings, mail_on):
    settings.RATE_LIMIT_PASSWORD_RESET_PER_ADDRESS = "2/h"
    users = [UserFactory(email=f"r{n}@example.org") for n in range(3)]
    client = Client()
    for user in users[:2]:
        assert client.post(RESET, {"email": user.email}).status_code == 302
    outcome = send(client, "post", RESET, {"email": users[2].email})
    assert_limited(
        outcome.response, "password-reset requests from your network", window_seconds=3600
    )
    assert len(mail.outbox) == 2
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    assert elsewhere.post(RESET, {"email": users[2].email}).status_code == 302
    assert len(mail.outbox) == 3


# --- Error reports ------------------------------------------------------------------------


def finished_quiz(user) -> Attempt:
    attempt = starting.start_attempt(user=user, config=starting.QuizConfig(question_count=3))
    return engine.finish_attempt(attempt=attempt)


def report_url(attempt, position):
    return reverse("questions:error_report_new", args=[attempt.pk, position])


REPORT = {"kind": "typo", "comment": "Spelling of gluteus."}


def test_error_reports_past_the_limit_are_refused_and_recorded_nowhere(client, settings):
    settings.RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT = "1/h"
    PublishableQuestionFactory.create_batch(3)
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    quiz = finished_quiz(ann)
    client.force_login(ann)
    assert client.post(report_url(quiz, 1), REPORT).status_code == 302
    outcome = send(client, "post", report_url(quiz, 2), REPORT)
    assert_limited(outcome.response, "error reports from your account", window_seconds=3600)
    assert not outcome.changed  # no report, no notification for the educators
    assert ErrorReport.objects.count() == 1
    other = Client()
    other.force_login(bob)
    assert other.post(report_url(finished_quiz(bob), 1), REPORT).status_code == 302
    assert ErrorReport.objects.count() == 2


def test_a_limited_htmx_request_gets_the_429_page_in_place_of_the_page(client, settings):
    """The report form sits in the quiz page, which htmx boosts: the 429 replaces the page's
    body (htmx swaps a 429, base.html's htmx-config), and the address stays."""
    settings.RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT = "0/h"
    PublishableQuestionFactory.create_batch(3)
    ann = UserFactory(username="ann")
    quiz = finished_quiz(ann)
    client.force_login(ann)
    response = client.post(
        report_url(quiz, 1), REPORT, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true"
    )
    assert_limited(response, "error reports from your account", window_seconds=3600)
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("body", "innerHTML")
    assert response["HX-Push-Url"] == "false"
    assert not ErrorReport.objects.exists()


def test_htmx_is_configured_to_show_a_429():
    base = (ROOT / "templates" / "base.html").read_text()
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']*)\'', base).group(1))
    rules = config["responseHandling"]
    first = next(rule for rule in rules if re.fullmatch(rule["code"], "429"))
    assert first["swap"] is True and first["error"] is True
    assert next(rule for rule in rules if re.fullmatch(rule["code"], "404"))["swap"] is False
    assert next(rule for rule in rules if re.fullmatch(rule["code"], "200"))["swap"] is True


# --- Quiz starts --------------------------------------------------------------------------

QUIZ = {"pool": "all", "question_count": 2, "mode": "tutor"}


@pytest.fixture
def bank():
    return PublishableQuestionFactory.create_batch(20)


def start(client, token=None):
    return client.post(BUILDER, QUIZ | {"start_token": token or str(uuid.uuid4())})


def open_assignment(resident, questions):
    """An assignment open now to a cohort of ``resident``."""
    cohort = Cohort.objects.create(name="Alpha", time_zone="America/New_York")
    cohort.residents.add(resident)
    now = timezone.now()
    return assignments.create_assignment(
        cohort=cohort,
        created_by=None,
        title="Week 1",
        kind="fixed",
        mode="timed",
        opens_at=now - timezone.timedelta(hours=1),
        due_at=now + timezone.timedelta(days=2),
        questions=questions,
        time_limit_minutes=30,
    )


def test_quiz_starts_past_the_limit_are_refused_and_start_nothing(client, settings, bank):
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    client.force_login(ann)
    assert start(client).status_code == 302
    assert start(client).status_code == 302
    outcome = send(client, "post", BUILDER, QUIZ | {"start_token": str(uuid.uuid4())})
    assert_limited(outcome.response, "quizzes started from your account", window_seconds=600)
    assert not outcome.changed
    assert Attempt.objects.filter(user=ann).count() == 2
    assert client.get(BUILDER).status_code == 200  # the builder itself still opens
    other = Client()
    other.force_login(bob)
    assert start(other).status_code == 302


def test_a_start_sent_again_with_its_token_counts_once(client, settings, bank):
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann = UserFactory(username="ann")
    client.force_login(ann)
    token = str(uuid.uuid4())
    first = start(client, token)
    assert start(client, token).url == first.url  # a double click: the same quiz
    assert start(client).status_code == 302
    assert start(client).status_code == 429
    assert Attempt.objects.filter(user=ann).count() == 2


def test_simulations_and_assignments_count_as_quiz_starts(client, settings, bank):
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann = UserFactory(username="ann")
    assignment = open_assignment(ann, bank[:4])
    client.force_login(ann)
    assert start(client).status_code == 302
    simulation = {"block_count": 2, "block_size": 5, "break_minutes": 1, "pool": "all"}
    assert client.post(SIMULATION, simulation).status_code == 302
    assert ExamSimulation.objects.filter(user=ann).count() == 1
    begin = reverse("questions:assignment_start", args=[assignment.pk])
    outcome = send(client, "post", begin)
    assert_limited(outcome.response, "quizzes started from your account", window_seconds=600)
    assert not outcome.changed
    assert not Attempt.objects.filter(assignment=assignment).exists()
    assert client.get(begin).status_code == 200  # its start screen still opens
    refused = send(client, "post", SIMULATION, simulation)
    assert refused.status == 429 and not refused.changed


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_a_start_run_again_after_a_dropped_connection_counts_once(client, settings, bank):
    """The middleware runs an assignment's Begin again on a new connection: one start, and
    one count."""
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann = UserFactory(username="ann")
    assignment = open_assignment(ann, bank[:4])
    client.force_login(ann)
    begin = reverse("questions:assignment_start", args=[assignment.pk])
    with connection.execute_wrapper(dropped_before('INSERT INTO "questions_attempt"')):
        assert client.post(begin).status_code == 302
    assert Attempt.objects.filter(assignment=assignment).count() == 1
    assert start(client).status_code == 302  # the second start of two
    assert start(client).status_code == 429


# --- Imports ------------------------------------------------------------------------------


def staged_files() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM questions_import_staging")
        return cursor.fetchone()[0]


def test_imports_past_the_limit_are_refused_and_import_nothing(
    educator_client, settings, json_bank_upload
):
    settings.RATE_LIMIT_IMPORT_PER_ACCOUNT = "1/h"
    token = educator_client.post(IMPORT, {"file": json_bank_upload}).context["token"]
    outcome = send(educator_client, "post", IMPORT, {"token": token, "apply": "1"})
    assert_limited(outcome.response, "imports from your account", window_seconds=3600)
    assert not outcome.changed
    assert not Question.objects.filter(key="imported-question").exists()
    json_bank_upload.seek(0)
    staged = staged_files()
    assert send(educator_client, "post", IMPORT, {"file": json_bank_upload}).status == 429
    assert staged_files() == staged  # a refused upload is not even checked
    assert educator_client.get(IMPORT).status_code == 200
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    json_bank_upload.seek(0)
    assert admin.post(IMPORT, {"file": json_bank_upload}).context["token"]


# --- Settings -----------------------------------------------------------------------------


def test_a_rate_that_is_not_one_stops_the_site_at_start(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_ADDRESS", "lots")
    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT_LOGIN_PER_ADDRESS"):
        runpy.run_path(str(ROOT / "quizsite" / "settings.py"))


def test_the_counts_live_in_the_shared_ratelimit_cache_and_fail_open():
    derived = runpy.run_path(str(ROOT / "quizsite" / "settings.py"))
    assert derived["RATELIMIT_USE_CACHE"] == "ratelimit"
    assert derived["RATELIMIT_FAIL_OPEN"] is True
    backend = derived["CACHES"]["ratelimit"]["BACKEND"]
    assert "locmem" not in backend and "dummy" not in backend


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server (Debian's redis)")
def test_with_redis_the_counts_are_in_redis_and_redis_away_lets_requests_through(
    tmp_path, settings, monkeypatch
):
    """Several app hosts count together in Redis; while Redis is away every limit lets
    requests through (RATELIMIT_FAIL_OPEN) rather than refusing everyone."""
    # A breaker of the test's own: stopping Redis opens it, which must not outlive the test.
    monkeypatch.setattr(redis_breaker, "BREAKER", redis_breaker.Breaker(5.0))
    server = OwnRedis(tmp_path)
    server.start()
    try:
        monkeypatch.setenv("REDIS_URL", server.url)
        derived = runpy.run_path(str(ROOT / "quizsite" / "settings.py"))
        settings.CACHES = derived["CACHES"]
        settings.RATE_LIMIT_SIGNUP_PER_ADDRESS = "1/h"
        assert Client().post(SIGNUP, signup_data("ann")).status_code == 302
        assert server.keys()  # counted in Redis
        assert Client().post(SIGNUP, signup_data("bob")).status_code == 429
        server.stop()
        assert Client().post(SIGNUP, signup_data("cat")).status_code == 302
    finally:
        server.stop()


@pytest.mark.parametrize(("fail_open", "status"), [(True, 302), (False, 429)])
def test_a_cache_that_cannot_count_lets_requests_through_unless_told_otherwise(
    settings, fail_open, status
):
    settings.CACHES = settings.CACHES | {
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: refused at once
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    settings.RATELIMIT_FAIL_OPEN = fail_open
    response = Client().post(SIGNUP, signup_data("ann"))
    assert response.status_code == status
    if not fail_open:
        assert response["Retry-After"] == "60"
        assert not User.objects.filter(username="ann").exists()


# --- Ways around the limits that a review found --------------------------------------------


def test_a_malformed_start_token_sent_again_and_again_is_counted_each_time(client, settings, bank):
    """The form drops a token that is not a UUID and starts a new quiz: such a start is no
    repeat, and counts."""
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann = UserFactory(username="ann")
    client.force_login(ann)
    codes = [client.post(BUILDER, QUIZ | {"start_token": "x"}).status_code for _ in range(5)]
    assert codes == [302, 302, 429, 429, 429]
    assert Attempt.objects.filter(user=ann).count() == 2


def test_tokens_of_refused_starts_are_counted_when_sent_again_later(
    client, settings, bank, monkeypatch
):
    """A start refused past the limit started nothing: its token, sent again in the next
    window, starts a quiz and is counted, not waved through as a repeat."""
    settings.RATE_LIMIT_QUIZ_START_PER_ACCOUNT = "2/10m"
    ann = UserFactory(username="ann")
    client.force_login(ann)
    now = time.time()
    monkeypatch.setattr(django_ratelimit.core.time, "time", lambda: now)
    assert [start(client).status_code for _ in range(2)] == [302, 302]
    refused = [str(uuid.uuid4()) for _ in range(4)]
    assert [start(client, token).status_code for token in refused] == [429] * 4
    monkeypatch.setattr(django_ratelimit.core.time, "time", lambda: now + 601)  # next window
    assert [start(client, token).status_code for token in refused] == [302, 302, 429, 429]
    assert Attempt.objects.filter(user=ann).count() == 4


def test_the_admins_login_page_is_limited_like_the_sites(client, settings):
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = "2/10m"
    attempts = [
        client.post("/admin/login/", {"username": f"u{i}", "password": "nope"}).status_code
        for i in range(3)
    ]
    assert attempts == [200, 200, 429]
    assert client.post(reverse("login"), {"username": "v", "password": "x"}).status_code == 429


def test_look_alike_usernames_count_as_the_account_they_log_in_to(client, settings):
    """The login form normalises a username (NFKC) before it looks the account up:
    fullwidth "ａｎｎ" logs in as "ann", so it counts as "ann"."""
    settings.RATE_LIMIT_LOGIN_PER_USERNAME = "2/15m"
    settings.AXES_FAILURE_LIMIT = 1000
    UserFactory(username="ann")
    codes = [
        client.post(reverse("login"), {"username": typed, "password": "wrong"}).status_code
        for typed in ("ann", "ａnn", "ａｎｎ")
    ]
    assert codes == [200, 200, 429]


def test_failed_logins_of_someone_already_signed_in_are_counted(client, settings):
    """Signed in, a wrong password for another account leaves the session signed in: it is
    still a failed login."""
    settings.RATE_LIMIT_LOGIN_PER_ADDRESS = "2/10m"
    client.force_login(UserFactory(username="mallory"))
    UserFactory(username="ann")
    codes = [
        client.post(reverse("login"), {"username": "ann", "password": f"guess{i}"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
