"""An educator's journey through an assignment in a real browser: set it with the fixed-set
picker (search, topic filter, the count of questions chosen), follow the monitor (a resident
who starts shows up at the next poll, with no reload), extend one resident's time, release
the results. axe-core checks each page. Screenshots at 375 and 1280 px go to
ASSIGNMENT_SCREENSHOTS when it names a directory."""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from questions.models import Assignment, AssignmentGrant, Cohort, CohortLogEntry
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import engine, starting
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def _shot(page, name: str) -> None:
    directory = os.environ.get("ASSIGNMENT_SCREENSHOTS")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(Path(directory) / f"{name}-{width}.png"), full_page=True)


def _world():
    anatomy = TopicFactory(name="Anatomy")
    imaging = TopicFactory(name="Imaging")
    for n in range(4):
        PublishableQuestionFactory(
            key=f"crest-{n}", stem=f"Case {n}: pain over the iliac crest on walking."
        ).topics.add(anatomy)
    for n in range(3):
        PublishableQuestionFactory(
            key=f"heel-{n}", stem=f"Case {n}: a runner with heel pain at dawn."
        ).topics.add(imaging if n < 2 else anatomy)
    educator = UserFactory(username="pd", is_staff=True)
    educator.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    cohort = Cohort.objects.create(name="PGY-2", time_zone="America/New_York")
    cohort.educators.add(educator)
    ana, ben = UserFactory(username="ana"), UserFactory(username="ben")
    cohort.residents.add(ana, ben)
    return {"cohort": cohort, "ana": ana, "imaging": imaging}


def test_educator_sets_monitors_extends_and_releases(live_server, browser):
    w = _world()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The page's timers on a clock the test moves: the monitor's 15 s poll without waiting.
    page.clock.install()
    try:
        log_in(page, live_server.url, "pd", PASSWORD)
        page.goto(live_server.url + reverse("questions:cohort_detail", args=[w["cohort"].pk]))
        page.get_by_role("link", name="New assignment").click()
        page.wait_for_url(re.compile(r"/assignments/new/$"))
        assert_accessible(page, "new assignment")
        assert page.locator("#time-zone").inner_text() == "America/New_York"
        assert page.input_value("#id_due_at").endswith("T23:59")

        # The picker: 7 questions; search the stems, then filter by topic; tick; count.
        page.fill("#id_title", "Heel pain block")
        assert page.locator("#picker-shown").inner_text() == "7"
        page.fill("#picker-search", "heel pain")
        assert page.locator("#picker-shown").inner_text() == "3"
        page.select_option("#picker-topic", label="Imaging")
        assert page.locator("#picker-shown").inner_text() == "2"
        page.get_by_role("button", name="Tick the shown").click()
        assert page.locator("#picker-chosen").inner_text() == "2"
        assert page.is_checked("input[name=kind][value=fixed]")  # ticking chose a fixed set
        page.select_option("#picker-topic", label="All topics")
        page.get_by_label(re.compile(r"^heel-2:")).check()
        assert page.locator("#picker-chosen").inner_text() == "3"
        page.get_by_label(re.compile(r"^heel-2:")).uncheck()
        assert page.locator("#picker-chosen").inner_text() == "2"
        page.select_option("#picker-status", value="chosen")
        assert page.locator("#picker-shown").inner_text() == "2"
        _shot(page, "assignment-new")
        page.get_by_label("When an educator releases them").check()
        with page.expect_navigation():
            page.click("#submit-id-submit")
        assignment = Assignment.objects.get(title="Heel pain block")
        assert sorted(q.key for q in assignment.questions.all()) == ["heel-0", "heel-1"]
        assert assignment.release == Assignment.Release.MANUAL
        assert "is set: 2 questions" in page.inner_text("main")

        # The monitor: ana starts and answers one; the next poll shows her, no reload.
        row = page.locator(f"#monitor-{w['ana'].pk}")
        assert "Not started" in row.inner_text()
        attempt = starting.start_assignment(user=w["ana"], assignment=assignment)
        engine.answer(attempt=attempt, position=1, letter="A")
        page.evaluate("window.__sameDocument = true")
        with page.expect_response(re.compile(r"/monitor/$")):
            page.clock.fast_forward(16_000)
        page.wait_for_function(
            f"() => document.querySelector('#monitor-{w['ana'].pk}').innerText.includes('1 of 2')"
        )
        assert page.evaluate("window.__sameDocument") is True  # swapped in place
        assert "left" in row.inner_text()
        assert_accessible(page, "assignment page with the monitor")
        _shot(page, "assignment-detail")

        # One resident's extension: 10 more minutes on ana's clock.
        deadline = attempt.deadline_at
        page.get_by_role("link", name="Extend… ana").click()
        page.wait_for_url(re.compile(rf"/residents/{w['ana'].pk}/$"))
        assert_accessible(page, "one resident on the assignment")
        page.fill("#id_extra_minutes", "10")
        page.fill("#id_note", "Paged to the ward mid-quiz")
        _shot(page, "assignment-resident")
        with page.expect_navigation():
            page.click("#extension-submit")
        assert "Extension granted to ana" in page.inner_text("main")
        assert "+10 min" in page.locator(f"#monitor-{w['ana'].pk}").inner_text()
        attempt.refresh_from_db()
        assert (attempt.deadline_at - deadline).total_seconds() == 600
        assert AssignmentGrant.objects.get(resident=w["ana"]).extra_minutes == 10

        # Release the results: asked first, then done; the log says who and when.
        page.get_by_role("link", name="Release results…").click()
        page.wait_for_url(re.compile(r"/release/$"))
        assert_accessible(page, "release confirmation")
        with page.expect_navigation():
            page.click("#confirm-button")
        assert "are released" in page.inner_text("main")
        assignment.refresh_from_db()
        assert assignment.released_at is not None
        log = page.locator("#assignment-log").inner_text()
        assert "Results released" in log and "pd" in log and "Extension" in log
        actions = set(
            CohortLogEntry.objects.filter(assignment=assignment).values_list("action", flat=True)
        )
        assert {"set", "extension", "released"} <= actions

        # The same pages on a phone.
        page.set_viewport_size({"width": 375, "height": 740})
        for name, url in [
            ("assignment-new", reverse("questions:assignment_new", args=[w["cohort"].pk])),
            (
                "assignment-detail",
                reverse("questions:assignment_detail", args=[w["cohort"].pk, assignment.pk]),
            ),
            (
                "assignment-resident",
                reverse(
                    "questions:assignment_resident",
                    args=[w["cohort"].pk, assignment.pk, w["ana"].pk],
                ),
            ),
            (
                "accommodations",
                reverse("questions:cohort_accommodations", args=[w["cohort"].pk]),
            ),
            (
                "preview",
                reverse("questions:assignment_preview", args=[w["cohort"].pk, assignment.pk]),
            ),
        ]:
            page.goto(live_server.url + url)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
            _shot(page, name)
    finally:
        context.close()
