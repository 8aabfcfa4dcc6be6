"""The quiz builder's live counts, the dashboard's quizzes in progress and discarding one, in
a real browser: the counts follow the choices without leaving the page, the count cannot go
past them, a discarded quiz leaves the dashboard; on a 375 px phone nothing scrolls
sideways; axe finds no serious or critical violation."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from questions.models import Assignment, Attempt, Cohort
from questions.quizzes import assignments, engine, starting
from tests.browser.conftest import assert_accessible, log_in
from tests.browser.test_phone_sweep import CULPRITS_JS
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory, finished_attempts

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"  # the factories' password
PHONE_WIDTH = 375
# A word that does not break by itself, as authors and educators sometimes type them.
LONG_WORD = "Thoracolumbarfasciaosteofibroustunnelsuperiorclunealneuropathy"


@pytest.fixture
def world():
    """A resident with history (two misses in Anatomy two days ago, so due now), a cohort
    with two assignments (one started), and a timed practice quiz in progress."""
    anatomy = TopicFactory(name="Superior cluneal nerves: anatomy and variants", order=1)
    imaging = TopicFactory(name=f"Ultrasound-guided blocks in {LONG_WORD}", order=2)
    questions = PublishableQuestionFactory.create_batch(14)
    for question in questions[:6]:
        question.topics.add(anatomy)
    for question in questions[6:]:
        question.topics.add(imaging)
    resident = UserFactory(username="pgy2")
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    finished_attempts(
        [(resident, [(questions[0], "A", 40), (questions[1], "B", 50), (questions[2], "C", 70)])],
        started_at=two_days_ago,
    )
    cohort = Cohort.objects.create(name="Physical Medicine and Rehabilitation, class of 2027")
    cohort.residents.add(resident)
    now = timezone.now()
    for title, chosen in [
        ("Week 3: entrapment at the iliac crest and the thoracolumbar fascia", questions[6:8]),
        (f"Week 4: {LONG_WORD}", questions[8:10]),
    ]:
        assignment = assignments.create_assignment(
            cohort=cohort,
            created_by=None,
            title=title,
            kind=Assignment.Kind.FIXED,
            mode=Attempt.Mode.TIMED,
            time_limit_minutes=20,
            opens_at=now - datetime.timedelta(hours=1),
            due_at=now + datetime.timedelta(days=3),
            questions=chosen,
        )
    starting.start_assignment(user=resident, assignment=assignment)
    practice = starting.start_attempt(
        user=resident,
        config=starting.QuizConfig(question_count=2, topics=[imaging], pool="unused"),
    )
    engine.answer(attempt=practice, position=1, letter="B")
    return {"resident": resident, "anatomy": anatomy, "imaging": imaging, "practice": practice}


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_builder_counts_follow_the_choices_and_bound_the_number(live_server, page, world):
    log_in(page, live_server.url, "pgy2", PASSWORD)
    page.goto(live_server.url + reverse("questions:attempt_new"))
    summary = page.locator("#builder-summary")
    count = page.locator("#id_question_count")
    # Typed at once, before the counts asked for on loading arrive: kept.
    count.fill("3")
    count.press("Tab")
    summary.get_by_text("4:30 for 3 questions").wait_for()
    assert count.input_value() == "3"
    # The labels count each pool for this resident.
    # 14 questions, 4 held back for the assignments: 3 answered before, 2 in the practice quiz.
    assert page.locator("label[for=id_pool_1]").inner_text() == "Unused (5)"
    assert "4 questions are held back" in summary.inner_text()
    assert re.sub(r"\s+", " ", summary.inner_text()).startswith(
        "This selection holds 10 questions."
    )
    assert "Time: 1:30 a question (your pace), 4:30 for 3 questions." in summary.inner_text()
    assert_accessible(page, "quiz builder")

    page.check("input[name=pool][value=incorrect]")
    summary.get_by_text("This selection holds 2 questions.").wait_for()
    # builder.js sets the bound when htmx settles the swap, a moment after the text shows.
    expect(count).to_have_attribute("max", "2")
    anatomy = page.locator(f"#topic-count-{world['anatomy'].pk}")
    assert anatomy.inner_text() == "(2)"  # Anatomy's count in the chosen pool
    assert "Choose 2 or fewer." in summary.inner_text()
    # The number cannot go past the selection: the browser refuses to send it.
    assert count.evaluate("el => el.validity.rangeOverflow")
    page.click("#submit-id-submit")
    assert page.url.endswith(reverse("questions:attempt_new"))  # still here, nothing sent
    assert not Attempt.objects.filter(pool="incorrect").exists()

    # Topics narrow every pool's count; the address stays the builder's.
    page.check(f"input[name=topics][value='{world['imaging'].pk}']")
    summary.get_by_text("No question matches these settings").wait_for()
    assert page.locator("#pool-count-all").inner_text() == "(4)"
    assert page.url == live_server.url + reverse("questions:attempt_new")
    page.uncheck(f"input[name=topics][value='{world['imaging'].pk}']")
    summary.get_by_text("This selection holds 2 questions.").wait_for()

    # A new number: the block's time follows; the field is never redrawn under the typing.
    count.fill("2")
    count.press("Tab")  # the number is committed (a change) as the field is left
    summary.get_by_text("3:00 for 2 questions").wait_for()
    assert count.input_value() == "2"
    assert not count.evaluate("el => el.validity.rangeOverflow")
    assert_accessible(page, "quiz builder with its live counts")
    page.click("#submit-id-submit")
    page.wait_for_url(re.compile(r"/questions/1/$"))
    quiz = Attempt.objects.get(pool="incorrect")
    assert quiz.question_count == 2


def test_a_quiz_in_progress_is_resumed_or_discarded_from_the_top_of_the_dashboard(
    live_server, page, world
):
    log_in(page, live_server.url, "pgy2", PASSWORD)
    page.wait_for_url(re.compile(r"/dashboard/$"))
    first = page.locator("main section").first
    assert first.get_attribute("aria-labelledby") == "in-progress-heading"
    assert "2 quizzes in progress" in first.inner_text()
    card = page.locator(f"#in-progress-{world['practice'].pk}")
    assert "Answered 1 of 2" in card.inner_text()
    assert re.search(r"Time left: \d+:\d\d at", card.inner_text())
    assert_accessible(page, "dashboard with quizzes in progress")

    card.get_by_role("link", name=re.compile("^Discard")).click()
    page.wait_for_url(re.compile(r"/discard/$"))
    assert "This cannot be undone." in page.locator("#discard-warning").inner_text()
    assert_accessible(page, "discard confirmation")
    page.get_by_role("button", name="Discard the quiz").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert "Quiz discarded." in page.locator("main").inner_text()
    assert page.locator(f"#in-progress-{world['practice'].pk}").count() == 0
    assert not Attempt.objects.filter(pk=world["practice"].pk).exists()
    assert "Quiz in progress" in page.locator("#in-progress-heading").inner_text()  # the assignment

    page.get_by_role("link", name=re.compile("^Resume the assignment")).click()
    page.wait_for_url(re.compile(r"/questions/1/$"))


def test_no_page_of_the_builder_and_dashboard_scrolls_sideways_on_a_phone(
    live_server, phone, world
):
    log_in(phone, live_server.url, "pgy2", PASSWORD)
    pages = {
        "dashboard": reverse("questions:dashboard"),
        "quiz builder": reverse("questions:attempt_new"),
        "quiz list": reverse("questions:attempt_list"),
        "discard": reverse("questions:attempt_discard", args=[world["practice"].pk]),
    }
    widths = {}
    for name, url in pages.items():
        phone.goto(live_server.url + url)
        phone.wait_for_load_state("load")
        if name == "quiz builder":
            phone.locator("#builder-summary").get_by_text("This selection holds").wait_for()
        width = scroll_width(phone)
        # What widens a page too wide, named in the failure.
        widths[name] = (width, phone.evaluate(CULPRITS_JS, 3) if width > PHONE_WIDTH else [])
    print(f"scrollWidth at {PHONE_WIDTH} px:", widths)
    assert all(width <= PHONE_WIDTH for width, _ in widths.values()), widths
    phone.goto(live_server.url + pages["dashboard"])
    assert_accessible(phone, "dashboard on a phone")
