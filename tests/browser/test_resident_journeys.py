"""Residents' journeys through the site in a real browser, as a person takes them: by mouse,
by keyboard alone, on a phone, closing the page mid-quiz. axe-core checks every distinct
page a journey visits.

Clocks are short. Where a journey has to wait for a timed quiz to run out, the attempt's
deadline is moved a few seconds ahead on the server (which owns the clock) instead of
sleeping through a real block, and the grace period is cut to one second.
"""

import datetime
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt
from questions.quizzes import engine
from tests.browser.conftest import assert_accessible
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Records, with a timestamp, every change to the text of an element: to watch a live region.
WATCH_TEXT = """([selector, name]) => {
  const element = document.querySelector(selector);
  const log = (window[name] = [{t: performance.now(), text: element.textContent.trim()}]);
  new MutationObserver(() => log.push({t: performance.now(), text: element.textContent.trim()}))
    .observe(element, {childList: true, characterData: true, subtree: true});
}"""

# The focused element and whether it shows a focus ring (an outline or a box shadow).
FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    tag: element.tagName, id: element.id, text: (element.innerText || element.value || "").trim(),
    ring: outline || style.boxShadow !== "none",
  };
}"""


@pytest.fixture(autouse=True)
def _short_grace(monkeypatch):
    """One second of grace after a deadline instead of five: the live server shares this
    process, so the page's reload and the server's expiry both use it."""
    monkeypatch.setattr(engine, "GRACE_SECONDS", 1)


@pytest.fixture
def resident_with_bank(db):
    PublishableQuestionFactory.create_batch(5)
    return UserFactory(username="pgy3", password=PASSWORD)


def log_in_checked(page, base_url: str) -> None:
    page.goto(base_url + reverse("login"))
    assert_accessible(page, "login")
    page.fill("#id_username", "pgy3")
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/$"))


def build_quiz(page, *, count: int, mode: str, check: bool = False) -> None:
    """From any page, through the main menu's "New quiz" and the builder form."""
    page.click("nav >> text=New quiz")
    page.wait_for_url(re.compile(r"/quizzes/new/$"))
    if check:
        assert_accessible(page, "quiz builder")
    page.fill("#id_question_count", str(count))
    page.check(f"input[name=mode][value={mode}]")
    page.click("input[type=submit][value='Start quiz']")
    page.wait_for_url(re.compile(r"/questions/1/$"))


def question_url(position: int):
    return re.compile(rf"/quizzes/\d+/questions/{position}/$")


def checked_letter(page) -> str | None:
    return page.evaluate(
        "() => document.querySelector('input[name=letter][form=answer-form]:checked')"
        "?.value ?? null"
    )


def assert_markers_carry_text(page) -> None:
    """Correct and incorrect are never told by colour alone: each green or red marker on the
    page says in words what it means."""
    markers = page.locator(
        ":is(.text-bg-success, .text-bg-danger, .btn-success, .btn-danger, .border-success,"
        " .border-danger):not([aria-hidden=true])"
    ).all()
    assert markers
    for marker in markers:
        text = marker.inner_text()
        assert re.search(r"\b(correct|incorrect|your answer)\b", text, re.IGNORECASE), text


def assert_citations_resolve(page) -> None:
    """Each reference links to doi.org or PubMed, and each numbered citation in the text
    points at an element of this page."""
    links = page.locator(".references a").all()
    assert links
    for link in links:
        href = link.get_attribute("href")
        assert href.startswith(("https://doi.org/", "https://pubmed.ncbi.nlm.nih.gov/")), href
    anchors = page.locator("a.citation-link").all()
    assert anchors
    for anchor in anchors:
        target = anchor.get_attribute("href")
        assert target.startswith("#"), target
        assert page.evaluate("(id) => !!document.getElementById(id)", target[1:]), target


def move_deadline(seconds: float) -> None:
    """The server's clock, brought forward: the only attempt ends ``seconds`` from now."""
    Attempt.objects.update(deadline_at=timezone.now() + datetime.timedelta(seconds=seconds))


def test_timed_quiz_by_mouse_and_keys_flag_navigator_and_clock_out(
    live_server, page, resident_with_bank
):
    log_in_checked(page, live_server.url)
    assert_accessible(page, "dashboard")
    build_quiz(page, count=5, mode="timed", check=True)
    assert_accessible(page, "question before answering")

    # Question 1 by mouse.
    page.click("label[for=choice-C]")
    page.click("text=Save and next")
    page.wait_for_url(question_url(2))
    assert page.title().startswith("Question 2 of 5")
    # Question 2 by number key, Question 3 by letter key; Enter saves and goes on.
    page.keyboard.press("2")
    assert checked_letter(page) == "B"
    page.keyboard.press("Enter")
    page.wait_for_url(question_url(3))
    page.keyboard.press("d")
    assert checked_letter(page) == "D"
    # Flagging with F keeps the choice just made.
    page.keyboard.press("f")
    page.locator("#flag-button", has_text="Remove flag").wait_for()
    assert page.locator("h1 .badge", has_text="Flagged").is_visible()
    assert checked_letter(page) == "D"
    page.keyboard.press("Enter")
    page.wait_for_url(question_url(4))
    page.click("label[for=choice-A]")
    assert_accessible(page, "question after answering")

    # The navigator jumps back to question 1, which kept its answer, and shows the flag.
    navigator = page.locator("aside[aria-label='Quiz navigation'] ol.navigator")
    assert "flagged" in navigator.locator("li").nth(2).inner_text()
    page.click("text=Save and next")  # question 4 is saved before jumping about
    page.wait_for_url(question_url(5))
    navigator.get_by_role("button", name=re.compile(r"^1\b")).click()
    page.wait_for_url(question_url(1))
    assert checked_letter(page) == "C"
    assert page.locator("ol.navigator button[aria-current=step]").inner_text().startswith("1")
    assert_accessible(page, "navigator")

    # Back to the last question, unanswered, and let the clock run out there.
    move_deadline(3)
    navigator.get_by_role("button", name=re.compile(r"^5\b")).click()
    page.wait_for_url(question_url(5))
    assert page.locator("#countdown").is_visible()
    page.wait_for_url(re.compile(r"/results/$"), timeout=15_000)

    assert re.fullmatch(r"[0-4] / 5 \(\d+\.\d%\)", page.locator("#score").inner_text())
    assert "Time ran out" in page.locator("main").inner_text()
    item_3 = page.locator("#item-3")  # its row in the summary table
    assert item_3.locator(".badge", has_text="Flagged").is_visible()
    assert page.locator("#item-5").inner_text().count("Unanswered") == 1
    assert_accessible(page, "results")

    # Every question with its explanation, on one page for printing.
    page.click("text=Print all explanations")
    page.wait_for_url(re.compile(r"/results/all/$"))
    assert page.locator("#item-5 h3").first.inner_text().count("Unanswered") == 1
    assert_citations_resolve(page)
    assert_markers_carry_text(page)
    # Several questions on one page: their regions are named apart, headings in order.
    assert_accessible(page, "every explanation", also=("landmark-unique", "heading-order"))

    # A citation link takes the reader to its reference on the same page.
    first = page.locator("a.citation-link").first
    target = first.get_attribute("href")
    first.click()
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    assert page.locator(target).is_visible()

    # The dashboard and the list of quizzes, now with a finished quiz in them.
    page.click("main >> text=My dashboard")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.locator("#answered").inner_text() == "5"
    assert_accessible(page, "dashboard with a finished quiz")
    page.click("main >> text=All my quizzes")
    page.wait_for_url(re.compile(r"/quizzes/$"))
    assert_accessible(page, "attempt list with a finished quiz")
    page.click("main >> text=Review")
    page.wait_for_url(re.compile(r"/results/$"))

    attempt = Attempt.objects.get()
    assert (attempt.status, attempt.finish_reason) == ("finished", "deadline")
    letters = dict(attempt.items.values_list("position", "selected_letter"))
    assert letters == {1: "C", 2: "B", 3: "D", 4: "A", 5: ""}


def test_a_choice_not_yet_saved_when_the_clock_runs_out_counts(
    live_server, page, resident_with_bank
):
    """As on the exam, the choice on screen is the answer: the page sends it at 0:00, inside
    the server's grace period, and the results count it."""
    log_in_checked(page, live_server.url)
    build_quiz(page, count=2, mode="timed")
    move_deadline(4)
    page.reload()
    page.click("label[for=choice-E]")  # chosen, never saved
    page.wait_for_url(re.compile(r"/results/$"), timeout=20_000)
    attempt = Attempt.objects.get()
    assert (attempt.status, attempt.finish_reason) == ("finished", "deadline")
    assert attempt.items.get(position=1).selected_letter == "E"
    assert attempt.items.get(position=2).selected_letter == ""


def test_flagging_as_a_plain_form_saves_the_choice_first(live_server, page, resident_with_bank):
    """Before htmx has taken over a new page (or without it), the flag is a plain submit of
    the question form, which saves the choice made before flagging."""
    page.route(re.compile(r"/htmx[^/]*\.js$"), lambda route: route.abort())
    log_in_checked(page, live_server.url)
    build_quiz(page, count=2, mode="timed")
    page.keyboard.press("d")
    assert Attempt.objects.get().items.get(position=1).selected_letter == ""  # no htmx: not yet
    with page.expect_navigation():
        page.keyboard.press("f")
    assert page.locator("#flag-button").inner_text() == "Remove flag"
    assert checked_letter(page) == "D"
    item = Attempt.objects.get().items.get(position=1)
    assert (item.selected_letter, item.is_flagged) == ("D", True)


def test_tutor_quiz_shows_each_explanation_only_after_answering(
    live_server, page, resident_with_bank
):
    log_in_checked(page, live_server.url)
    build_quiz(page, count=2, mode="tutor")
    attempt = Attempt.objects.get()
    for position in (1, 2):
        shown = attempt.items.get(position=position).shown
        wrong = next(c["letter"] for c in shown["choices"] if not c["is_correct"])
        right = next(c["letter"] for c in shown["choices"] if c["is_correct"])
        # Before answering: neither the key, the rationales nor the explanation is in the page.
        html = page.content()
        assert "Rationale for" not in html
        assert "The nerves cross the iliac crest" not in html
        assert page.locator(".explanation").count() == 0
        if position == 1:
            page.click("text=Submit answer")  # nothing chosen: told so, nothing revealed
            page.locator(".alert", has_text="Choose an answer first").wait_for()
            assert page.locator(".explanation").count() == 0
        letter = wrong if position == 1 else right
        page.click(f"label[for=choice-{letter}]")
        page.click("text=Submit answer")
        page.locator(".explanation").wait_for()
        assert page.url.endswith(f"/questions/{position}/")
        main = page.locator("main").inner_text()
        assert "Rationale for" in main
        assert "The nerves cross the iliac crest" in main
        assert page.locator("li", has_text="Correct answer").count() == 1
        chosen = page.locator("li", has_text="Your answer").inner_text()
        assert ("incorrect" in chosen) == (position == 1)
        assert_markers_carry_text(page)
        assert_citations_resolve(page)
        if position == 1:
            assert_accessible(page, "tutor feedback")
            page.click("text=Next question")
            page.wait_for_url(question_url(2))
    page.click("#quiz-navigator >> text=End quiz")  # the submit screen, then its button
    page.click("text=Submit and see results")
    page.wait_for_url(re.compile(r"/results/$"))
    assert page.locator("#score").inner_text().startswith("1 / 2")


def test_closing_the_page_mid_quiz_and_coming_back_resumes_with_answers(
    live_server, browser, resident_with_bank
):
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    page = first.new_page()
    page.set_default_timeout(15_000)
    log_in_checked(page, live_server.url)
    build_quiz(page, count=3, mode="timed")
    for letter, position in (("A", 2), ("E", 3)):
        page.click(f"label[for=choice-{letter}]")
        page.click("text=Save and next")
        page.wait_for_url(question_url(position))
    state = first.storage_state()
    first.close()  # the tab, and the browser window, are gone

    second = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=state)
    try:
        page = second.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + reverse("questions:dashboard"))
        page.click("nav >> text=My quizzes")
        page.wait_for_url(re.compile(r"/quizzes/$"))
        assert page.locator("tbody tr").count() == 1
        assert page.locator("tbody", has_text="in progress").is_visible()
        assert_accessible(page, "attempt list")
        headers = page.locator("thead th").all_text_contents()
        assert all(text.strip() for text in headers), headers  # each column is named
        page.click("text=Resume")
        page.wait_for_url(question_url(3))
        assert_accessible(page, "resumed question")
        assert checked_letter(page) is None
        answered = page.locator("ol.navigator li").all_inner_texts()
        assert ["unanswered" in t for t in answered] == [False, False, True]
        page.locator("ol.navigator").get_by_role("button", name=re.compile(r"^1\b")).click()
        page.wait_for_url(question_url(1))
        assert checked_letter(page) == "A"
        page.keyboard.press("n")
        page.wait_for_url(question_url(2))
        assert checked_letter(page) == "E"
    finally:
        second.close()


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 60) -> dict:
    """Press Tab (or Shift+Tab) until the focus is on ``selector``; the focus must be
    visible there. Returns what FOCUS_RING reports."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            focus = page.evaluate(FOCUS_RING)
            assert focus["ring"], f"no visible focus on {focus}"
            return focus
    raise AssertionError(f"{key} never reached {selector}")


def test_a_quiz_from_builder_to_results_by_keyboard_alone(live_server, page, resident_with_bank):
    page.goto(live_server.url + reverse("login"))
    tab_to(page, "#id_username")
    page.keyboard.type("pgy3")
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    focus = tab_to(page, "nav a[href$='/quizzes/new/']")
    assert focus["text"] == "New quiz"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/quizzes/new/$"))
    tab_to(page, "#id_question_count")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, "input[name=mode]")
    page.keyboard.press("ArrowDown")  # from Timed to Tutor
    assert page.is_checked("input[name=mode][value=tutor]")
    tab_to(page, "input[type=submit]")
    tab_to(page, "#id_question_count", backwards=True)  # Shift+Tab goes back through the form
    assert page.input_value("#id_question_count") == "2"
    tab_to(page, "input[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(question_url(1))

    # Question 1: a shortcut picks a choice, arrows move it, Enter submits.
    page.keyboard.press("1")
    page.keyboard.press("ArrowDown")
    assert checked_letter(page) == "B"
    assert page.evaluate(FOCUS_RING)["ring"]
    page.keyboard.press("Enter")
    page.locator(".explanation").wait_for()
    page.keyboard.press("f")  # flag it for later review
    page.locator("#flag-button", has_text="Remove flag").wait_for()
    page.keyboard.press("n")  # on to the next question
    page.wait_for_url(question_url(2))

    # Question 2: Tab into the choices, Space picks, then Space on the submit button.
    tab_to(page, "input[name=letter][form=answer-form]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert checked_letter(page) == "B"
    tab_to(page, ".question-card button[value=stay]")
    page.keyboard.press("Space")
    page.locator(".explanation").wait_for()
    focus = tab_to(page, "#quiz-navigator button[value=submit]", limit=80)
    assert focus["text"] == "End quiz…"
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/submit/$"))  # the submit screen, then its one button
    focus = tab_to(page, "form[action$='/finish/'] button", limit=80)
    assert focus["text"] == "Submit and see results"
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/results/$"))
    assert page.locator("#score").inner_text().startswith(("0 / 2", "1 / 2", "2 / 2"))
    # The table leads to each question's result page; next and previous are plain links.
    tab_to(page, "#results-table a[href$='/results/1/']", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/results/1/$"))
    tab_to(page, "a.citation-link")
    tab_to(page, "a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/results/2/$"))
    assert Attempt.objects.get().items.get(position=1).is_flagged


def test_countdown_is_announced_politely_at_two_minutes_and_at_zero(
    live_server, page, resident_with_bank, settings
):
    settings.QUIZ_SECONDS_PER_QUESTION = 123  # one question: the clock starts above 2 minutes
    log_in_checked(page, live_server.url)
    build_quiz(page, count=1, mode="timed")
    clock = page.locator("#countdown")
    assert clock.get_attribute("aria-live") == "off" or clock.get_attribute("aria-hidden")
    assert page.locator("#countdown-announcer").get_attribute("aria-live") == "polite"

    page.evaluate(WATCH_TEXT, ["#countdown .countdown-value", "clockLog"])
    page.evaluate(WATCH_TEXT, ["#countdown-announcer", "announcerLog"])
    page.wait_for_function(
        "() => document.getElementById('countdown-announcer').textContent !== ''", timeout=8_000
    )
    page.wait_for_timeout(2_000)  # and then nothing more for two seconds
    clock_log = page.evaluate("window.clockLog")
    announcer_log = page.evaluate("window.announcerLog")
    assert len({entry["text"] for entry in clock_log}) >= 3  # the visible clock ticks
    assert [entry["text"] for entry in announcer_log] == ["", "Two minutes left."]

    move_deadline(3)
    page.reload()
    page.evaluate(WATCH_TEXT, ["#countdown-announcer", "announcerLog"])
    page.wait_for_function(
        "() => document.getElementById('countdown-announcer').textContent !== ''", timeout=8_000
    )
    assert [entry["text"] for entry in page.evaluate("window.announcerLog")] == [
        "",
        "Time is up.",
    ]
    page.wait_for_url(re.compile(r"/results/$"), timeout=10_000)


def phone_screenshot(phone, name: str, tmp_path) -> None:
    """Always taken (so the code runs); kept in docs/ with SAVE_SCREENSHOTS=1."""
    phone.screenshot(path=tmp_path / name, full_page=True)
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=SCREENSHOTS / name, full_page=True)


def assert_fits_phone(phone, *selectors: str) -> None:
    """No sideways scrolling at 375 px, and each element lies within the screen's width."""
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    for selector in selectors:
        for element in phone.locator(selector).all():
            assert element.is_visible(), selector
            box = element.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (selector, box)


def test_question_and_results_pages_fit_a_phone(live_server, phone, resident_with_bank, tmp_path):
    log_in_checked(phone, live_server.url)
    phone.goto(live_server.url + reverse("questions:attempt_new"))
    phone.fill("#id_question_count", "2")
    phone.check("input[name=mode][value=timed]")
    phone.click("input[type=submit][value='Start quiz']")
    phone.wait_for_url(question_url(1))
    assert_fits_phone(phone, ".choice .form-check", "text=Save and next", "#countdown")
    phone_screenshot(phone, "phone-question.png", tmp_path)
    assert_accessible(phone, "question at 375 px")

    phone.click("label[for=choice-B]")
    phone.click("text=Save and next")
    phone.wait_for_url(question_url(2))
    phone.click("label[for=choice-A]")
    assert_fits_phone(phone, ".choice .form-check", "text=Save and review answers")
    phone.click("text=Save and review answers")  # the last question: to the submit screen
    phone.click("text=Submit and see results")
    phone.wait_for_url(re.compile(r"/results/$"))
    assert_fits_phone(phone, "#score", ".references")
    phone_screenshot(phone, "phone-results.png", tmp_path)
    assert_accessible(phone, "results at 375 px")
