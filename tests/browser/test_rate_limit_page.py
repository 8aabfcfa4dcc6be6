"""The pages a refused request gets. A rate limit met inside the quiz page, which htmx
boosts: the 429 page is shown in its place (base.html's htmx-config swaps a 429), not
swallowed by htmx. A request refused before any view: the site's 400 page."""

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


def test_the_400_page_gives_its_reference_fits_a_phone_and_passes_axe(live_server, page):
    """A request the site refuses before any view (a NUL in the query string): the site's
    own 400 page, standalone like the 500 page that shares its template, with the request
    id to quote."""
    page.set_viewport_size({"width": 375, "height": 800})
    response = page.goto(live_server.url + "/quizzes/?topic=%00")
    assert response.status == 400
    page.get_by_role("heading", name="The site could not read that request").wait_for()
    reference = page.locator("code").inner_text()
    assert reference == response.headers["x-request-id"]
    assert page.evaluate("document.documentElement.scrollWidth") == 375
    assert_accessible(page, "the 400 page")
