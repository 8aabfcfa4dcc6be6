"""An assignment's start screen: what it asks, the resident's own time (the educators'
accommodation, never their own practice setting), their due date in the cohort's time zone,
their attempts and when the results come; Begin starts the clock, nothing else does."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    ResidentProfile,
)
from questions.quizzes import assignments, control
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def ann():
    return UserFactory(username="ann")


@pytest.fixture
def cohort(ann):
    cohort = Cohort.objects.create(name="Alpha", time_zone="America/New_York")
    cohort.residents.add(ann)
    return cohort


def make(cohort, **options) -> Assignment:
    now = timezone.now()
    return assignments.create_assignment(
        **{
            "cohort": cohort,
            "created_by": None,
            "title": "Week 1: the cluneal nerves",
            "kind": Assignment.Kind.FIXED,
            "mode": Attempt.Mode.TIMED,
            "opens_at": now - datetime.timedelta(hours=1),
            "due_at": now + datetime.timedelta(days=2),
            "questions": PublishableQuestionFactory.create_batch(4),
            "time_limit_minutes": 30,
        }
        | options
    )


def start_url(assignment) -> str:
    return reverse("questions:assignment_start", args=[assignment.pk])


def screen(client, assignment) -> str:
    response = client.get(start_url(assignment))
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_start_screen_says_everything_and_starts_nothing(client, ann, cohort):
    assignment = make(cohort)
    client.force_login(ann)
    page = screen(client, assignment)
    assert "Week 1: the cluneal nerves" in page
    assert 'id="start-questions">4<' in page
    assert "30 minutes</strong> (30:00)" in page
    assert "One attempt" in page
    local = assignment.due_at.astimezone(NEW_YORK)
    assert f"{local:%H:%M} {local.tzname()}" in page  # the cohort's time zone, named
    assert (
        "Your score and the explanations come when the assignment has closed for everyone" in page
    )
    assert 'id="begin"' in page
    assert not Attempt.objects.exists()


def test_begin_starts_the_clock_and_the_screen_then_offers_resume(client, ann, cohort):
    assignment = make(cohort)
    client.force_login(ann)
    response = client.post(start_url(assignment))
    attempt = Attempt.objects.get(assignment=assignment, user=ann)
    assert response.url == reverse("questions:attempt_question", args=[attempt.pk, 1])
    assert attempt.clock_seconds == 30 * 60
    page = screen(client, assignment)
    assert 'id="resume"' in page and 'id="begin"' not in page
    client.post(start_url(assignment))  # a second Begin resumes: still one attempt
    assert Attempt.objects.filter(assignment=assignment, user=ann).count() == 1


def test_the_time_is_the_educators_accommodation_never_the_residents_own_setting(
    client, ann, cohort
):
    ResidentProfile.objects.create(user=ann, time_setting="untimed")
    assignment = make(cohort)
    client.force_login(ann)
    assert "30 minutes" in screen(client, assignment)
    Accommodation.objects.create(
        cohort=cohort, resident=ann, time_setting="x2", note="Letter", granted_at=timezone.now()
    )
    assert "60 minutes</strong> (1:00:00)" in screen(client, assignment)
    Accommodation.objects.filter(resident=ann).update(time_setting="untimed")
    page = screen(client, assignment)
    assert "No clock</strong>: only the due date" in page
    # The dashboard row says the same.
    row = client.get(reverse("questions:dashboard")).context["assignments"][0]
    assert row["own_seconds"] is None


def test_grants_show_the_residents_own_due_date_and_attempts(client, ann, cohort):
    educator = UserFactory(username="edu")
    assignment = make(cohort)
    later = assignment.due_at + datetime.timedelta(days=3)
    control.grant_extension(
        assignment=assignment, resident=ann, actor=educator, due_at=later, extra_minutes=10
    )
    client.force_login(ann)
    page = screen(client, assignment)
    local = later.astimezone(NEW_YORK)
    assert f"{local:%H:%M} {local.tzname()}" in page and "your extension" in page
    assert "40 minutes" in page  # 30 + 10 granted
    row = client.get(reverse("questions:dashboard")).context["assignments"][0]
    assert row["due_at"] == control.resident_due_at(assignment=assignment, resident=ann)
    assert row["own_seconds"] == control.assignment_clock_seconds(
        assignment=assignment, resident=ann, question_count=4
    )
    assert row["allowed"] == control.attempts_allowed(assignment=assignment, resident=ann) == 1


@pytest.mark.parametrize(
    ("due", "shown"),
    [
        # Either side of the spring-forward change of 8 March 2026 in New York.
        (datetime.datetime(2026, 3, 7, 23, 59, tzinfo=NEW_YORK), "Sat 7 Mar 2026, 23:59 EST"),
        (datetime.datetime(2026, 3, 9, 23, 59, tzinfo=NEW_YORK), "Mon 9 Mar 2026, 23:59 EDT"),
    ],
)
def test_the_due_date_is_shown_in_the_cohorts_time_zone_across_daylight_saving(
    client, ann, cohort, due, shown
):
    assignment = make(cohort, opens_at=due - datetime.timedelta(days=7), due_at=due)
    client.force_login(ann)
    assert shown.replace("Sat", "Saturday").replace("Mon", "Monday") in screen(client, assignment)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("upcoming", "Not open yet: it opens"),
        ("closed", "This assignment is closed"),
        ("archived", "archived this assignment"),
    ],
)
def test_what_cannot_be_started_says_why_and_begin_changes_nothing(
    client, ann, cohort, when, message
):
    now = timezone.now()
    windows = {
        "upcoming": (now + datetime.timedelta(days=1), now + datetime.timedelta(days=2)),
        "closed": (now - datetime.timedelta(days=2), now - datetime.timedelta(days=1)),
        "archived": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=1)),
    }
    opens_at, due_at = windows[when]
    assignment = make(cohort, opens_at=opens_at, due_at=due_at)
    if when == "archived":
        Assignment.objects.filter(pk=assignment.pk).update(archived_at=now)
    client.force_login(ann)
    page = screen(client, assignment)
    assert message in page and 'id="begin"' not in page
    response = client.post(start_url(assignment), follow=True)
    assert response.redirect_chain[-1][0] == start_url(assignment)
    assert not Attempt.objects.exists()


def test_a_resident_outside_the_cohort_finds_nothing(client, cohort):
    assignment = make(cohort)
    client.force_login(UserFactory(username="outsider"))
    assert client.get(start_url(assignment)).status_code == 404
    assert client.post(start_url(assignment)).status_code == 404


def test_the_dashboard_links_to_the_start_screen_and_hides_archived_assignments(
    client, ann, cohort
):
    shown, archived = make(cohort), make(cohort, title="Old week")
    Assignment.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    client.force_login(ann)
    page = client.get(reverse("questions:dashboard")).content.decode()
    assert f'href="{start_url(shown)}"' in page
    assert f'action="{start_url(shown)}"' not in page  # a link, not a one-click start
    assert "Old week" not in page
    local = shown.due_at.astimezone(NEW_YORK)
    assert f"{local:%H:%M} {local.tzname()}" in page


def test_a_further_attempt_granted_is_offered_after_the_first(client, ann, cohort):
    assignment = make(cohort)  # results at the due date: not out yet, so one may be granted
    client.force_login(ann)
    client.post(start_url(assignment))
    attempt = Attempt.objects.get()
    client.post(reverse("questions:attempt_finish", args=[attempt.pk]))
    page = screen(client, assignment)
    assert "You have finished this assignment" in page and 'id="begin"' not in page
    control.grant_attempt(assignment=assignment, resident=ann, actor=UserFactory())
    page = screen(client, assignment)
    assert "Begin attempt 2" in page and "2 attempts: 1 used, 1 left" in page
    assert AssignmentGrant.objects.get().extra_attempts == 1
    row = client.get(reverse("questions:dashboard")).context["assignments"][0]
    assert row["can_start"] and row["allowed"] == 2
