"""Forgotten passwords: reset by e-mail when the site can send mail (EMAIL_URL), otherwise a
page that says whom to ask and sends nothing."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mail_on(settings):
    settings.PASSWORD_RESET_BY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_a_reset_link_by_e_mail_sets_a_new_password(client, mail_on):
    user = UserFactory(username="ana", email="ana@example.org")
    response = client.post(reverse("password_reset"), {"email": "ANA@example.org"})
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert "account ana" in message.body
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Set a new password" in form_page.content.decode()
    new_password = "a-Long-new-passphrase-2026"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.url == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(new_password)
    # The link is spent.
    assert "expired or was already used" in client.get(link, follow=True).content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, mail_on):
    UserFactory(email="ana@example.org")
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_weak_new_password_is_refused_by_the_validators(client, mail_on):
    user = UserFactory(email="ana@example.org")
    client.post(reverse("password_reset"), {"email": "ana@example.org"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "123456", "new_password2": "123456"}
    )
    assert response.status_code == 200
    assert "This password is too common" in response.content.decode()
    user.refresh_from_db()
    assert not user.check_password("123456")


def test_without_e_mail_the_page_says_whom_to_ask_and_sends_nothing(client, settings):
    settings.PASSWORD_RESET_BY_EMAIL = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    UserFactory(email="ana@example.org")
    for response in (
        client.get(reverse("password_reset")),
        client.post(reverse("password_reset"), {"email": "ana@example.org"}),
    ):
        assert response.status_code == 200
        assert "does not send e-mail" in response.content.decode()
    assert mail.outbox == []


def test_the_login_page_links_to_the_reset(client):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"EMAIL_URL": "smtp+tls://mailer:s3cret@smtp.example.org:587"},
            "smtp.example.org 587 True mailer True",
        ),
        ({}, "localhost 25 False  False"),
    ],
)
def test_the_mail_server_comes_from_email_url(environment, expected):
    """Production settings (debug off): reset by e-mail only when EMAIL_URL names a server."""
    code = (
        "from django.conf import settings as s; print(s.EMAIL_HOST, s.EMAIL_PORT, "
        "s.EMAIL_USE_TLS, s.EMAIL_HOST_USER, s.PASSWORD_RESET_BY_EMAIL)"
    )
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SECRET_KEY": "x" * 50, "DJANGO_DEBUG": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == expected
