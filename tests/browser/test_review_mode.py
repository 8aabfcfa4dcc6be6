"""The results of a finished quiz in a real browser: the summary table, its "incorrect"
filter, each question's result page stepped through with next and previous (by mouse and by
keyboard), a miss tagged there, My notes; axe on every page, and no sideways scroll at 375 px.

The quiz is taken and finished on the server (the quiz pages have journeys of their own)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt
from questions.quizzes import engine, starting
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory, shown_letter

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


@pytest.fixture
def finished_quiz(db):
    """pgy2's finished quiz of 5: 1 and 5 right, 2 and 4 wrong (2 with a note), 3 unanswered."""
    topic = TopicFactory(name="Superior cluneal nerves")
    for question in PublishableQuestionFactory.create_batch(5):
        question.topics.add(topic)
    user = UserFactory(username="pgy2", password=PASSWORD)
    attempt = starting.start_attempt(user=user, config=starting.QuizConfig(question_count=5))
    for position, correct in ((1, True), (2, False), (4, False), (5, True)):
        item = attempt.items.get(position=position)
        engine.answer(
            attempt=attempt,
            position=position,
            letter=shown_letter(item, correct=correct),
            confidence="sure" if position == 2 else "unsure",
        )
    attempt.items.filter(position=2).update(
        note="Medial branch crosses the crest 7 cm from the midline.",
        note_updated_at=timezone.now(),
    )
    return engine.finish_attempt(attempt=attempt)


def results_path(attempt: Attempt) -> str:
    return reverse("questions:attempt_results", args=[attempt.pk])


def item_path(attempt: Attempt, position: int, query: str = "") -> str:
    return reverse("questions:attempt_result_item", args=[attempt.pk, position]) + query


def assert_no_sideways_scroll(page, label: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{label}: {width} px wide"


def test_the_incorrect_filter_and_stepping_through_its_questions(live_server, page, finished_quiz):
    attempt = finished_quiz
    log_in(page, live_server.url, "pgy2", PASSWORD)
    page.goto(live_server.url + results_path(attempt))
    assert page.locator("#score").inner_text() == "2 / 5 (40.0%)"
    assert page.locator("#results-table tbody tr").count() == 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert_accessible(page, "results summary")

    page.get_by_role("link", name=re.compile(r"^Incorrect")).click()
    page.wait_for_url(re.compile(r"\?filter=incorrect$"))
    rows = page.locator("#results-table tbody tr")
    assert [rows.nth(n).locator("th a").inner_text() for n in range(rows.count())] == [
        "Question 2",
        "Question 3",
        "Question 4",
    ]
    assert (
        page.locator(".results-filters a[aria-current=page]").inner_text().startswith("Incorrect")
    )
    assert_accessible(page, "results, incorrect only")

    rows.first.locator("th a").click()
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 2, "?filter=incorrect")) + "$"))
    assert page.locator("h1").inner_text().startswith("Question 2")
    assert "1 of 3" in page.locator("#result-position").inner_text()
    assert page.locator(".explanation").first.is_visible()
    assert "Medial branch crosses the crest" in page.input_value("#result-note")
    assert page.locator("a[rel=prev]").count() == 0
    assert_accessible(page, "a question's result page")

    page.locator("a[rel=next]").first.click()
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 3, "?filter=incorrect")) + "$"))
    assert "Unanswered" in page.locator(".result-answer").inner_text()
    # By keyboard: the next link is a plain link that Enter follows.
    page.locator("a[rel=next]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 4, "?filter=incorrect")) + "$"))
    assert page.locator("a[rel=next]").count() == 0  # the last incorrect one
    assert "3 of 3" in page.locator("#result-position").inner_text()

    # A miss tagged here comes back here, the filter kept.
    page.select_option("#miss-type-4", "knowledge")
    page.click("form.miss-type button")
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 4, "?filter=incorrect")) + "$"))
    assert page.get_by_text("Question 4: knowledge gap.").is_visible()
    assert "Knowledge gap" in page.locator("#result-miss-type").inner_text()
    assert attempt.items.get(position=4).miss_type == "knowledge"

    page.locator("a[rel=prev]").first.click()
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 3, "?filter=incorrect")) + "$"))

    page.locator("main").get_by_role("link", name="My notes").click()
    page.wait_for_url(re.compile(r"/notes/$"))
    assert "Medial branch crosses the crest" in page.locator(".note-list").inner_text()
    assert_accessible(page, "my notes")
    page.get_by_role("link", name=re.compile(r"^Open the explanation")).click()
    page.wait_for_url(re.compile(re.escape(item_path(attempt, 2)) + "$"))

    page.goto(live_server.url + reverse("questions:attempt_results_all", args=[attempt.pk]))
    assert page.locator("article.result-item").count() == 5
    assert_accessible(page, "every question, for printing", also=("landmark-unique",))
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator("form.miss-type").first.is_visible()


def test_the_results_pages_fit_a_phone(live_server, phone, finished_quiz):
    attempt = finished_quiz
    log_in(phone, live_server.url, "pgy2", PASSWORD)
    pages = {
        "results summary": results_path(attempt),
        "results, incorrect only": results_path(attempt) + "?filter=incorrect",
        "a question's result page": item_path(attempt, 2, "?filter=incorrect"),
        "every question, for printing": reverse("questions:attempt_results_all", args=[attempt.pk]),
        "my notes": reverse("questions:note_list"),
    }
    for label, path in pages.items():
        phone.goto(live_server.url + path)
        assert_no_sideways_scroll(phone, label)
        assert_accessible(phone, f"{label} at 375 px")
    # The table is wider than the phone: it scrolls inside its own box.
    phone.goto(live_server.url + results_path(attempt))
    box = phone.locator(".table-responsive:has(#results-table)")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    assert_no_sideways_scroll(phone, "results summary")
