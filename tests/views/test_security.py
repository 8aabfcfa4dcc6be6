"""Security with production settings: the deploy check, headers, cookies, HTTPS, CSRF,
login lockout, escaping of everything authors and residents type, and uploads."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from questions import engine
from questions.models import Cohort, ErrorReport, Topic
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
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


def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("questions:home"), secure=True)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"  # no inline, no third-party script
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_template_holds_an_inline_script_or_event_handler():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for start in range(len(text)):
            if text.startswith("<script", start):
                tag = text[start : text.index(">", start)]
                assert "src=" in tag or 'type="application/json"' in tag, path
        assert " onclick=" not in text and " onload=" not in text, path


def test_session_and_csrf_cookies_are_secure_and_http_only(client):
    UserFactory(username="ann")
    client.get(reverse("login"), secure=True)
    response = client.post(
        reverse("login"),
        {"username": "ann", "password": "a-long-test-password"},
        secure=True,
    )
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    csrf = client.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"]


def test_plain_http_is_redirected_to_https_except_the_health_check(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a new client, so the middleware reads the setting
    response = client.get(reverse("questions:home"))
    assert response.status_code == 301
    assert response.url.startswith("https://")
    assert client.get(reverse("healthz")).status_code == 200


def test_health_check_reports_the_database(client):
    response = client.get(reverse("healthz"))
    assert response.json() == {"status": "ok", "database": "ok"}


def test_repeated_failed_logins_lock_the_account_from_that_address(client):
    UserFactory(username="ann")
    for _ in range(5):
        client.post(reverse("login"), {"username": "ann", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "ann", "password": "a-long-test-password"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.9.8.7")
    ok = elsewhere.post(reverse("login"), {"username": "ann", "password": "a-long-test-password"})
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
        {"username": "ann", "password": "a-long-test-password"},
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
            {"username": "ann", "password": "a-long-test-password"},
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


@pytest.fixture
def finished_attempt(resident):
    PublishableQuestionFactory.create_batch(2)
    attempt = engine.start_attempt(user=resident, config=engine.QuizConfig(question_count=2))
    return engine.finish_attempt(attempt=attempt)


def post_endpoints(attempt, cohort_pk):
    return [
        reverse("questions:attempt_new"),
        reverse("questions:attempt_answer", args=[attempt.pk, 1]),
        reverse("questions:attempt_flag", args=[attempt.pk, 1]),
        reverse("questions:attempt_finish", args=[attempt.pk]),
        reverse("questions:item_report", args=[attempt.pk, 1]),
        reverse("questions:cohort_join"),
        reverse("questions:profile"),
        reverse("questions:signup"),
        reverse("questions:assignment_new", args=[cohort_pk]),
        reverse("logout"),
        reverse("password_change"),
    ]


def test_every_form_needs_its_csrf_token(resident, finished_attempt):
    cohort = Cohort.objects.create(name="C")
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    for url in post_endpoints(finished_attempt, cohort.pk):
        assert client.post(url, {"letter": "A", "code": "X"}).status_code == 403, url
    assert not ErrorReport.objects.exists()


PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_everything_typed_is_rendered_escaped(resident, educator_client):
    question = PublishableQuestionFactory(stem=PAYLOAD, lead_in=PAYLOAD + "?", objective=PAYLOAD)
    question.explanation = PAYLOAD + " " + question.explanation
    question.save()
    question.choices.filter(letter="A").update(text=PAYLOAD, rationale=PAYLOAD)
    question.topics.add(Topic.objects.create(slug="evil", name=PAYLOAD, order=1))
    attempt = engine.start_attempt(user=resident, config=engine.QuizConfig(question_count=1))
    engine.finish_attempt(attempt=attempt)
    item = attempt.items.get()
    ErrorReport.objects.create(
        question=question, attempt_item=item, reporter=resident, kind="typo", comment=PAYLOAD
    )
    client = Client()
    client.force_login(resident)
    pages = [
        client.get(reverse("questions:attempt_results", args=[attempt.pk])),
        client.get(reverse("questions:dashboard")),
        client.get(reverse("questions:report_list")),
        client.get(reverse("questions:home")),
        educator_client.get(reverse("questions:question_preview", args=[question.pk])),
        educator_client.get(reverse("admin:questions_errorreport_changelist")),
        educator_client.get(reverse("questions:item_analysis")),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in html, response.request["PATH_INFO"]
        assert "<img src=x onerror" not in html, response.request["PATH_INFO"]


def test_a_page_disguised_as_an_image_is_refused(educator_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.views.test_images import add_with_image

    for name in ["page.html", "page.png"]:
        upload = SimpleUploadedFile(name, b"<html><script>alert(1)</script></html>", "text/html")
        response = add_with_image(educator_client, upload, image_alt="x", image_credit="y")
        assert response.status_code == 200
        assert "Upload a valid image" in response.content.decode() or "not allowed" in (
            response.content.decode()
        )
