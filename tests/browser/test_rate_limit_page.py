"""A rate limit met inside the quiz page, which htmx boosts: the 429 page is shown in its
place (base.html's htmx-config swaps a 429), not swallowed by htmx."""

import re

import pytest
from django.urls import reverse

from questions.models import Attempt, ErrorReport
from questions.quizzes import engine, starting
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-test-password"  # the factories' password


def test_an_error_report_past_the_limit_shows_the_429_page_in_the_quiz(live_server, page, settings):
    settings.RATE_LIMIT_ERROR_REPORT_PER_ACCOUNT = "0/h"
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory(username="pgy2", password=PASSWORD)
    tutor = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=2, mode=Attempt.Mode.TUTOR)
    )
    engine.answer(attempt=tutor, position=1, letter="A")  # answered: its explanation shows
    log_in(page, live_server.url, "pgy2", PASSWORD)
    question = reverse("questions:attempt_question", args=[tutor.pk, 1])
    page.goto(live_server.url + question)
    page.get_by_text("Report a problem with this question").click()
    page.get_by_label("Details for the educators").fill("Choice C is also right.")
    page.get_by_role("button", name="Send report").click()
    heading = page.get_by_role("heading", name="Too many error reports from your account")
    heading.wait_for()
    assert page.get_by_text(re.compile(r"Try again in \d+ minutes?")).is_visible()
    assert page.url == live_server.url + question  # the address stays the quiz's
    assert_accessible(page, "the 429 page")
    assert not ErrorReport.objects.exists()
