"""The admin's question import: the checked file waits in the cache under the confirm form's
token, not in the session; an expired or unknown token imports nothing and says so."""

import json

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from questions.models import Question
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:questions_question_import")
EXPIRED = "That check has expired: choose the file again."


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_checked_file_is_not_kept_in_the_session(educator_client, json_bank_upload):
    checked = educator_client.post(URL, {"file": json_bank_upload})
    assert checked.context["token"]
    session = educator_client.session
    assert "question-import" not in session
    assert "imported-question" not in json.dumps(dict(session.items()))


def test_an_expired_check_imports_nothing_and_says_so(educator_client, json_bank_upload):
    checked = educator_client.post(URL, {"file": json_bank_upload})
    caches["staging"].clear()  # the staged file expired
    applied = educator_client.post(
        URL, {"token": checked.context["token"], "apply": "1"}, follow=True
    )
    assert applied.redirect_chain[-1][0] == URL
    assert EXPIRED in messages_of(applied)
    assert not Question.objects.filter(key="imported-question").exists()


def test_another_users_token_imports_nothing(educator_client, json_bank_upload):
    token = educator_client.post(URL, {"file": json_bank_upload}).context["token"]
    other = Client()
    other.force_login(UserFactory(is_staff=True, is_superuser=True))
    applied = other.post(URL, {"token": token, "apply": "1"}, follow=True)
    assert EXPIRED in messages_of(applied)
    assert not Question.objects.filter(key="imported-question").exists()
    # The educator who checked it still can.
    done = educator_client.post(URL, {"token": token, "apply": "1"}, follow=True)
    assert any(m.startswith("Imported: 1 created") for m in messages_of(done))
