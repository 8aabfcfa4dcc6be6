"""A resident told of a new assignment, in a real browser: the educator sets it, the task
queue's worker (the real `manage.py db_worker --batch`) runs the job it enqueued, the bell
shows one unread; the resident opens it, lands on the assignment's start screen, and the
count is gone. axe-core checks the notifications page."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from questions.models import Assignment, Attempt, Cohort
from questions.quizzes import assignments
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def test_a_resident_sees_the_bell_after_the_worker_ran_and_opens_the_assignment(live_server, page):
    PublishableQuestionFactory.create_batch(4)
    resident = UserFactory(username="pgy2", password=PASSWORD)
    educator = UserFactory(username="teacher", is_staff=True)
    cohort = Cohort.objects.create(name="PGY-2")
    cohort.residents.add(resident)
    cohort.educators.add(educator)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort, created_by=educator, title="Week 3: blocks", kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TUTOR, opens_at=now - datetime.timedelta(minutes=5),
        due_at=now + datetime.timedelta(days=2), question_count=3,
    )  # fmt: skip

    log_in(page, live_server.url, "pgy2", PASSWORD)
    bell = page.locator("a.bell")
    assert bell.text_content().split() == ["Notifications"]  # nothing unread

    call_command(
        "db_worker", batch=True, startup_delay=False, reload=False, verbosity=0
    )  # what `make run` keeps running
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"

    page.reload()
    assert " ".join(bell.text_content().split()) == "Notifications,1 unread"
    assert page.get_by_role("link", name="Notifications, 1 unread").is_visible()
    bell.click()
    page.wait_for_url("**/notifications/")
    assert_accessible(page, "notifications")
    item = page.locator("li.notification").first
    assert "New assignment: Week 3: blocks" in item.inner_text()

    with page.expect_navigation():
        item.get_by_role("button", name="New assignment: Week 3: blocks").click()

    assert page.url == f"{live_server.url}/assignments/{assignment.pk}/start/"
    assert "unread" not in page.locator("a.bell").text_content()


def test_marking_read_with_htmx_updates_the_bell_without_a_reload(live_server, page):
    resident = UserFactory(username="pgy1", password=PASSWORD)
    for n in range(2):
        resident.notifications.create(
            kind="report_answered", key=f"k{n}", title=f"Report {n} answered",
            url="/reports/", created_at=timezone.now(),
        )  # fmt: skip
    log_in(page, live_server.url, "pgy1", PASSWORD)
    page.goto(live_server.url + "/notifications/")
    assert "2 unread" in page.locator("a.bell").text_content()

    page.get_by_role("button", name="Mark read").first.click()

    page.wait_for_function("() => document.querySelector('#bell-count').innerText.includes('1')")
    assert page.get_by_role("button", name="Mark read").count() == 1
    assert page.url.endswith("/notifications/")  # no navigation: htmx swapped the item
