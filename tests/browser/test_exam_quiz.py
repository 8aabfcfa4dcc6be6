"""The quiz as residents move through it in a real browser: no answer lost whatever the way
out, Back showing the server's state, the submit screen, the exam's tools surviving a closed
browser, pause, and the navigator on a phone."""

import datetime
import random
import re

import pytest
from django.urls import reverse

from questions.models import Attempt
from questions.quizzes import starting
from questions.quizzes.starting import QuizConfig
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


@pytest.fixture
def quiz(db):
    """A running 5-question quiz of a resident: (attempt, maker of more quizzes)."""
    PublishableQuestionFactory.create_batch(6)
    user = UserFactory(username="pgy3", password=PASSWORD)

    def make(mode=Attempt.Mode.TIMED, count=5):
        return starting.start_attempt(
            user=user,
            config=QuizConfig(question_count=count, mode=mode),
            rng=random.Random(3),
        )

    return make


def question(live_server, attempt, position):
    return live_server.url + reverse("questions:attempt_question", args=[attempt.pk, position])


def saved(page):
    page.wait_for_selector("#save-status:has-text('saved at')")


def test_a_choice_survives_every_way_out_of_the_question(live_server, page, quiz):
    attempt = quiz()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    # Picked, then the navigator.
    page.check("#choice-B")
    page.click("#nav-3")
    page.wait_for_url(re.compile(r"/questions/3/$"))
    # Picked, then a menu link straight away: saved as it was picked.
    page.check("#choice-D")
    saved(page)
    page.click("nav >> text=Dashboard")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(question(live_server, attempt, 1))
    assert page.is_checked("#choice-B")
    items = {i.position: i.selected_letter for i in attempt.items.all()}
    assert (items[1], items[3]) == ("B", "D")


def test_back_after_answering_shows_the_servers_answer_and_clock(live_server, page, quiz):
    attempt = quiz()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    page.keyboard.press("3")  # C, saved as it is chosen
    saved(page)
    page.keyboard.press("Enter")  # save and next
    page.wait_for_url(re.compile(r"/questions/2/$"))
    before = page.inner_text(".countdown-value")
    page.wait_for_timeout(2100)
    page.go_back()
    page.wait_for_url(re.compile(r"/questions/1/$"))
    page.wait_for_selector("#countdown")
    after = page.inner_text(".countdown-value")

    def seconds(text):
        minutes, secs = text.split(":")
        return int(minutes) * 60 + int(secs)

    assert page.is_checked("#choice-C")
    assert seconds(after) <= seconds(before) - 2  # the server's clock, not the page left


def test_ending_with_unanswered_questions_shows_the_submit_screen(live_server, page, quiz):
    attempt = quiz()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    page.check("#choice-A")
    page.click("#flag-button")
    page.wait_for_selector("#flag-button:has-text('Remove flag')")
    page.click("#quiz-navigator >> text=End quiz")
    page.wait_for_url(re.compile(r"/submit/$"))
    lead = page.inner_text("p.lead")
    assert "4 unanswered" in lead and "1 flagged" in lead
    assert page.locator("tr.is-unanswered").count() == 4
    assert_accessible(page, "submit screen")
    attempt.refresh_from_db()
    assert not attempt.is_finished  # nothing is scored until the one button is pressed
    page.click("text=Go to the first unanswered")
    page.wait_for_url(re.compile(r"/questions/2/$"))
    page.click("#quiz-navigator >> text=End quiz")
    page.click("text=Submit and see results")
    page.wait_for_url(re.compile(r"/results/"))
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.finish_reason == "submitted"


def test_strike_highlight_and_note_survive_a_closed_browser(live_server, browser, quiz):
    attempt = quiz()
    first = browser.new_context()
    page = first.new_page()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 2))
    page.click("button[value='strike:E']")
    page.wait_for_selector("button[value='strike:E'][aria-pressed=true]")
    page.keyboard.press("Shift+Digit1")  # strikes A
    page.wait_for_selector("button[value='strike:A'][aria-pressed=true]")
    stem = attempt.items.get(position=2).shown["stem"]
    page.locator("#stem [data-at]").first.evaluate(
        "(run) => { const r = document.createRange(); r.setStart(run.firstChild, 2);"
        " r.setEnd(run.firstChild, 12); getSelection().removeAllRanges();"
        " getSelection().addRange(r); }"
    )
    page.click("#highlight-button")
    page.wait_for_selector("#stem mark")
    page.click("details.quiz-note summary")
    page.type("#note", "Landmark: iliac crest")
    page.wait_for_selector("#save-status:has-text('Saved at')")
    assert_accessible(page, "question with the tools in use")
    first.close()

    second = browser.new_context()
    page = second.new_page()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(live_server.url + reverse("questions:attempt_detail", args=[attempt.pk]))
    page.wait_for_url(re.compile(r"/questions/2/$"))  # resumed where it was left
    assert page.get_attribute("button[value='strike:E']", "aria-pressed") == "true"
    assert page.get_attribute("button[value='strike:A']", "aria-pressed") == "true"
    assert page.inner_text("#stem mark") == stem[2:12]
    assert page.input_value("#note") == "Landmark: iliac crest"
    item = attempt.items.get(position=2)
    assert (item.struck_letters, item.highlights) == ("AE", [[2, 12]])
    second.close()


def test_pause_stops_the_clock_and_resume_moves_the_deadline(live_server, page, quiz):
    attempt = quiz()
    deadline = attempt.deadline_at
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    page.click("button[value=pause]")
    page.wait_for_selector("#paused-heading")
    assert page.locator("#stem").count() == 0  # the question is hidden while paused
    assert_accessible(page, "paused quiz")
    page.wait_for_timeout(2500)
    page.click("button[value=resume]")
    page.wait_for_selector("#stem")
    attempt.refresh_from_db()
    moved = attempt.deadline_at - deadline
    assert datetime.timedelta(seconds=2) <= moved <= datetime.timedelta(seconds=10)
    assert attempt.paused_seconds == moved.total_seconds()


def test_without_javascript_every_way_off_the_question_saves_first(live_server, browser, quiz):
    attempt = quiz()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    page.check("#choice-D")
    page.click("#nav-4")
    page.wait_for_url(re.compile(r"/questions/4/$"))
    assert re.search(r"Time left \d+:\d\d", page.inner_text("#countdown"))
    page.check("#choice-A")
    page.click("button[value='strike:C']")
    page.wait_for_url(re.compile(r"/questions/4/$"))
    assert page.is_checked("#choice-A")
    page.check("#choice-B")
    page.click("#flag-button")
    page.wait_for_selector("#flag-button:has-text('Remove flag')")
    page.check("#choice-E")
    page.click("#quiz-navigator >> text=End quiz")  # to the submit screen
    page.wait_for_url(re.compile(r"/submit/$"))
    items = {i.position: i for i in attempt.items.all()}
    assert (items[1].selected_letter, items[4].selected_letter) == ("D", "E")
    assert (items[4].struck_letters, items[4].is_flagged) == ("C", True)
    context.close()


def test_on_a_phone_the_navigator_opens_over_the_question(live_server, phone, quiz):
    attempt = quiz(mode=Attempt.Mode.TUTOR)
    log_in(phone, live_server.url, "pgy3", PASSWORD)
    phone.goto(question(live_server, attempt, 1))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.check("#choice-B")
    saved(phone)
    phone.click("[data-navigator-toggle]")
    phone.wait_for_selector("#quiz-navigator.show")
    box = phone.locator("#nav-3").bounding_box()
    assert box is not None and 0 <= box["y"] < 740  # in view, not 1,200 px below
    phone.click("#nav-3")
    phone.wait_for_url(re.compile(r"/questions/3/$"))
    phone.goto(question(live_server, attempt, 1))
    assert phone.is_checked("#choice-B")  # a tutor choice is kept unsubmitted
    assert not attempt.items.get(position=1).is_locked
    phone.click("text=Submit answer")
    phone.wait_for_selector("text=Explanation")
    for url in (
        question(live_server, attempt, 1),
        live_server.url + reverse("questions:attempt_submit", args=[attempt.pk]),
    ):
        phone.goto(url)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375, url


def test_enter_submits_when_a_swap_has_taken_the_focus(live_server, page, quiz):
    """Flag with F, then Enter: the flag's swap may leave nothing focused, and Enter must
    still save and go on (the keys legend says Enter submits)."""
    attempt = quiz()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    page.goto(question(live_server, attempt, 1))
    page.keyboard.press("c")
    page.keyboard.press("f")
    page.locator("#flag-button", has_text="Remove flag").wait_for()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/questions/2/$"))
    item = attempt.items.get(position=1)
    assert (item.selected_letter, item.is_flagged) == ("C", True)
