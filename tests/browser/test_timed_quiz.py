"""A resident takes a timed quiz in a real browser and lets the clock run out."""

import re

import pytest
from django.urls import reverse

from questions.models import Attempt
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_timed_quiz_by_keyboard_runs_out_and_lands_on_results(live_server, page, settings):
    settings.QUIZ_SECONDS_PER_QUESTION = 2  # a 3-question block gets a 6-second clock
    PublishableQuestionFactory.create_batch(4)
    UserFactory(username="pgy2", password="a-long-test-password")

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", "pgy2")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    page.goto(live_server.url + reverse("questions:attempt_new"))
    page.fill("#id_question_count", "3")
    page.check("input[name=mode][value=timed]")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/questions/1/$"))
    assert page.locator("#countdown").is_visible()

    page.keyboard.press("2")  # choose B by keyboard
    assert page.is_checked("#choice-B")
    page.keyboard.press("Enter")  # save and go on to question 2
    page.wait_for_url(re.compile(r"/questions/2/$"))

    # Let the countdown run out: the page reloads after the server's grace period and the
    # server, which owns the clock, shows the results.
    page.wait_for_url(re.compile(r"/results/$"), timeout=30_000)
    attempt = Attempt.objects.get(user__username="pgy2")
    assert (attempt.status, attempt.finish_reason) == ("finished", "deadline")
    assert attempt.items.get(position=1).selected_letter == "B"
    assert re.fullmatch(r"[01] / 3 \(\d+\.\d%\)", page.locator("#score").inner_text())
    # Each question's result page explains it with its citations.
    page.click("#results-table a[href$='/results/1/']")
    page.wait_for_url(re.compile(r"/results/1/"))
    assert page.locator("a.citation-link").count() >= 1
    assert page.locator("a[href^='https://doi.org/']").count() >= 1
