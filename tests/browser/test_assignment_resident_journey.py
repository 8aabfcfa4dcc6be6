"""A resident's assignment in a real browser: from the dashboard to the start screen (their
own time, from the educators' accommodation; the due date in the cohort's time zone; one
attempt; results at release), Begin, answers, the finish, "results at release", and the
results once the educator releases them. The start screen fits a 375 px phone. axe-core
checks each page."""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Accommodation, Assignment, Attempt, Cohort, ResidentProfile
from questions.quizzes import assignments, control
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.views.test_dashboards import make_educator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def week(db):
    cohort = Cohort.objects.create(name="PM&R 2026", time_zone="America/New_York")
    ann = UserFactory(username="ann", password=PASSWORD)
    # Her own setting is for practice only: the assignment follows the educator's grant.
    ResidentProfile.objects.create(user=ann, time_setting="untimed")
    educator = make_educator("pd")
    cohort.residents.add(ann)
    cohort.educators.add(educator)
    Accommodation.objects.create(
        cohort=cohort, resident=ann, time_setting="x1.5", note="Letter", granted_at=timezone.now()
    )
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 3: entrapment",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(hours=1),
        due_at=now + datetime.timedelta(days=2),
        questions=PublishableQuestionFactory.create_batch(3),
        time_limit_minutes=20,
    )
    return {"ann": ann, "educator": educator, "assignment": assignment}


def test_a_resident_opens_begins_finishes_and_sees_the_results_at_release(
    page, phone, live_server, week
):
    assignment = week["assignment"]
    start_url = live_server.url + reverse("questions:assignment_start", args=[assignment.pk])

    # On a phone, the start screen fits: nothing scrolls sideways.
    log_in(phone, live_server.url, "ann", PASSWORD)
    phone.goto(start_url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    log_in(page, live_server.url, "ann", PASSWORD)
    page.goto(live_server.url + reverse("questions:dashboard"))
    row = page.locator(f"#assignment-{assignment.pk}")
    assert "Timed, 30:00" in row.inner_text()  # 20 minutes x 1.5
    row.get_by_role("link", name=re.compile(r"^Open")).click()
    page.wait_for_url(start_url)
    assert_accessible(page, "assignment start screen")
    assert "30 minutes" in page.locator("#start-time").inner_text()
    due = assignment.due_at.astimezone(NEW_YORK)
    assert f"{due:%H:%M} {due.tzname()}" in page.locator("#start-due").inner_text()
    assert page.locator("#start-attempts").inner_text() == "One attempt"
    assert "closed for everyone" in page.locator("#start-results").inner_text()
    assert not Attempt.objects.exists()  # opening it started nothing

    page.click("#begin")
    page.wait_for_url(re.compile(r"/questions/1/$"))
    attempt = Attempt.objects.get(user=week["ann"])
    assert attempt.clock_seconds == 30 * 60
    for position in (1, 2, 3):
        page.locator("#choice-A").check()
        button = "Save and next" if position < 3 else "Save and review answers"
        with page.expect_navigation():
            page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/submit/$"))
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Submit my only attempt")).click()
    page.wait_for_url(re.compile(r"/results/$"))
    awaiting = page.locator("#awaiting-release").inner_text()
    assert "Finished — results at release" in awaiting and "3 of 3" in awaiting
    assert page.locator("#score").count() == 0
    assert_accessible(page, "finished, results at release")
    page.goto(live_server.url + reverse("questions:dashboard"))
    assert "Finished — results at release" in row.inner_text()

    # The educator releases the results: the same pages now show them.
    control.release_results(assignment=assignment, actor=week["educator"])
    page.goto(live_server.url + reverse("questions:attempt_results", args=[attempt.pk]))
    attempt.refresh_from_db()
    assert page.locator("#score").inner_text().startswith(f"{attempt.correct_count} / 3")
    assert_accessible(page, "results after release")
    page.goto(live_server.url + reverse("questions:dashboard"))
    assert f"Finished: {attempt.correct_count}/3" in row.inner_text()
