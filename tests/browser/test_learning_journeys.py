"""Confidence, calibration, miss reasons and spaced review in a real browser: confidence
with one key press, a miss tagged on the results page, the due questions reviewed from the
dashboard. axe-core checks each page the journey adds."""

import datetime
import re

import pytest
from django.utils import timezone

from questions.models import Attempt, RecallCard
from tests.browser.conftest import assert_accessible
from tests.browser.test_resident_journeys import build_quiz, log_in_checked, question_url
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def resident(db):
    PublishableQuestionFactory.create_batch(3)
    return UserFactory(username="pgy3", password="a-long-test-password")


def test_confidence_by_key_a_tagged_miss_and_a_review_of_the_due_questions(
    live_server, page, resident
):
    log_in_checked(page, live_server.url)
    build_quiz(page, count=2, mode="tutor")
    attempt = Attempt.objects.get()
    assert_accessible(page, "question with confidence")
    for position, (right, key) in enumerate([(False, "s"), (True, "u")], start=1):
        shown = attempt.items.get(position=position).shown
        letter = next(c["letter"] for c in shown["choices"] if c["is_correct"] == right)
        page.keyboard.press(letter.lower())
        page.keyboard.press(key)  # one key press: S sure, U unsure, G guess
        assert page.is_checked(f"#confidence-{'sure' if key == 's' else 'unsure'}")
        page.locator(f"#choice-{letter}").focus()
        page.keyboard.press("Enter")
        page.locator(".explanation").wait_for()
        if position == 1:
            page.click("text=Next question")
            page.wait_for_url(question_url(2))
    assert [i.confidence for i in attempt.items.order_by("position")] == ["sure", "unsure"]

    page.click("#quiz-navigator >> text=End quiz")  # the submit screen, then its button
    page.click("text=Submit and see results")
    page.wait_for_url(re.compile(r"/results/$"))
    calibration = page.locator("table.calibration").inner_text()
    assert "Sure\t0 / 1\t0.0%" in calibration and "Unsure\t1 / 1\t100.0%" in calibration
    misconceptions = page.locator(".confident-misses").inner_text()
    assert "No topic: question 1" in misconceptions  # the factory's questions have none
    assert_accessible(page, "results with calibration")
    # The miss is tagged on its result page, one link away.
    page.locator(".confident-misses a", has_text="question 1").click()
    page.wait_for_url(re.compile(r"/results/1/$"))
    assert page.locator("form.miss-type").count() == 1
    page.select_option("#miss-type-1", "reasoning")
    page.click("form.miss-type button")
    page.locator(".alert", has_text="Question 1: reasoning error.").wait_for()
    assert page.url.endswith("/results/1/")  # back where the miss was tagged
    assert attempt.items.get(position=1).miss_type == "reasoning"
    assert_accessible(page, "a result page with its miss reason")
    page.locator("a[rel=next]").first.click()
    page.wait_for_url(re.compile(r"/results/2/$"))
    assert page.locator("form.miss-type").count() == 0  # only a miss can be tagged

    # Both questions are on the schedule, due tomorrow; the server's clock moves them to now.
    page.goto(live_server.url + "/dashboard/")
    assert page.locator("#review-due").inner_text() == "0"
    assert "2 on the schedule" in page.locator(".spaced-review").inner_text()
    RecallCard.objects.update(due=timezone.now() - datetime.timedelta(minutes=1))
    page.reload()
    assert page.locator("#review-due").inner_text() == "2"
    assert "Reasoning error" in page.locator("table.miss-mix").inner_text()
    assert_accessible(page, "dashboard with spaced review")
    page.click("text=Review due questions (2)")
    page.wait_for_url(question_url(1))
    review = Attempt.objects.latest("started_at")
    assert (review.pool, review.mode, review.question_count) == ("due", "tutor", 2)
    assert {i.question_id for i in review.items.all()} == {
        i.question_id for i in attempt.items.all()
    }
