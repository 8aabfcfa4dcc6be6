"""An exam simulation in a real browser: the builder, block 1's start screen, the block, the
break with its countdown, the next block started by the break's end, the summary. axe-core
checks each new page; at 375 px none scrolls sideways.

No sleeping through real clocks: the break is shortened on the server (which owns the
clock) by moving the finished block's end back, and the page's own countdown then reloads
it into the next block."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Attempt, ExamSimulation
from questions.quizzes import engine, simulation
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"
SIMULATION_PAGE = re.compile(r"/simulations/\d+/$")
QUESTION_PAGE = re.compile(r"/quizzes/\d+/questions/\d+/$")


@pytest.fixture
def examinee(db):
    PublishableQuestionFactory.create_batch(12)
    return UserFactory(username="examinee", password=PASSWORD)


def end_block(page) -> None:
    """End the block from its question page as a resident does: "End quiz", then on the
    review screen (when there is one) the button that submits."""
    page.get_by_role("button", name=re.compile(r"^End (quiz|block)")).first.click()
    page.wait_for_load_state("load")
    if not SIMULATION_PAGE.search(page.url):
        page.get_by_role("button", name=re.compile(r"^Submit")).first.click()
    page.wait_for_url(SIMULATION_PAGE)


def test_a_simulated_exam_of_two_blocks_with_a_break(live_server, page, examinee):
    log_in(page, live_server.url, "examinee", PASSWORD)
    page.goto(live_server.url + reverse("questions:attempt_new"))
    page.get_by_role("link", name="Simulate an exam (blocks with breaks)").click()

    # The builder: the total time follows the settings as they are typed.
    page.wait_for_url(re.compile(r"/simulations/new/$"))
    assert_accessible(page, "simulation builder")
    page.fill("#id_block_count", "2")
    page.fill("#id_block_size", "5")
    page.select_option("#id_break_minutes", "1")
    # 2 blocks of 5 at 1:30 (7:30 each) and a 1-minute break.
    assert page.locator(".simulation-block-time").inner_text() == "7:30"
    assert page.locator(".simulation-total-time").inner_text() == "16:00"
    page.get_by_role("button", name="Create the simulation").click()

    # Block 1's start screen: the block, its time, the rules.
    page.wait_for_url(SIMULATION_PAGE)
    sim = ExamSimulation.objects.get(user=examinee)
    assert page.get_by_role("heading", level=1).inner_text() == "Block 1 of 2"
    assert page.locator("#block-questions").inner_text() == "5"
    assert page.locator("#block-time").inner_text().startswith("7:30")
    rules = page.locator(".simulation-rules").inner_text()
    assert "You cannot go back to an earlier block" in rules
    assert_accessible(page, "block 1's start screen")
    page.get_by_role("button", name="Start block 1").click()

    # Block 1: an ordinary timed quiz.
    page.wait_for_url(QUESTION_PAGE)
    one = Attempt.objects.get(simulation=sim, block_number=1)
    assert page.locator("#countdown").is_visible()
    page.locator("input[name=letter]").first.check()
    end_block(page)

    # The break: the server's time left, and the next block's start screen.
    one.refresh_from_db()
    assert one.finish_reason == Attempt.FinishReason.SUBMITTED
    assert one.items.get(position=1).selected_letter != ""
    assert page.get_by_role("heading", level=1).inner_text() == "Break"
    assert re.fullmatch(r"0:[0-5]\d|1:00", page.locator("#break-countdown").inner_text())
    assert page.get_by_role("button", name="Start block 2 now").is_visible()
    assert_accessible(page, "the break")

    # The break ends in two seconds: the countdown reaches zero and reloads the page, and
    # the server, which started block 2 as of the break's end, sends the resident to it.
    Attempt.objects.filter(pk=one.pk).update(
        finished_at=timezone.now() - datetime.timedelta(seconds=58)
    )
    page.reload()
    page.wait_for_url(QUESTION_PAGE, timeout=15_000)
    two = Attempt.objects.get(simulation=sim, block_number=2)
    assert page.url.endswith(reverse("questions:attempt_question", args=[two.pk, 1]))
    one.refresh_from_db()
    assert two.started_at == one.finished_at + datetime.timedelta(minutes=1)
    assert not set(two.items.values_list("question", flat=True)) & set(
        one.items.values_list("question", flat=True)
    )
    end_block(page)

    # The summary: each block's score and time, the total, each block's results.
    assert page.get_by_role("heading", level=1).inner_text() == "Your exam simulation is over"
    rows = page.locator("#simulation-blocks tbody tr")
    assert rows.count() == 2
    assert re.fullmatch(r"[01] / 10 \(\d+\.\d%\)", page.locator("#simulation-score").inner_text())
    assert_accessible(page, "the summary")
    rows.nth(0).get_by_role("link", name=re.compile("Results")).click()
    page.wait_for_url(re.compile(rf"/quizzes/{one.pk}/results/$"))


def _fits(phone, url: str) -> int:
    phone.goto(url)
    phone.wait_for_load_state("load")
    return phone.evaluate("document.documentElement.scrollWidth")


def test_the_simulation_pages_fit_a_phone(live_server, phone, examinee):
    """Each stage's page at 375 px, with a long user name in the menu and a 3-block
    simulation listed in every state on the builder."""
    log_in(phone, live_server.url, "examinee", PASSWORD)
    now = timezone.now()
    start = simulation.create_simulation(
        user=examinee, block_count=2, block_size=5, break_seconds=600, now=now
    )
    on_break = simulation.create_simulation(
        user=examinee, block_count=2, block_size=5, break_seconds=900, now=now
    )
    block = simulation.start_block(simulation=on_break, user=examinee)
    engine.finish_attempt(attempt=block)
    over = simulation.create_simulation(
        user=examinee, block_count=2, block_size=5, break_seconds=60, now=now
    )
    simulation.start_block(simulation=over, user=examinee, now=now - datetime.timedelta(hours=2))

    pages = {
        "builder": reverse("questions:simulation_new"),
        "start screen": start.get_absolute_url(),
        "break": on_break.get_absolute_url(),
        "summary": over.get_absolute_url(),
    }
    widths = {name: _fits(phone, live_server.url + url) for name, url in pages.items()}
    assert all(width <= 375 for width in widths.values()), widths
    phone.goto(live_server.url + pages["summary"])
    assert phone.locator("#simulation-blocks tbody tr").count() == 2
