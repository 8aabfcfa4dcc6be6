"""The educator's control of an assignment on the cohort pages: the new and edit forms
(dates in the cohort's time zone, daylight-saving changes included), the fixed-set picker,
closing, releasing, archiving, one resident's extension or further attempt, the cohort's
time accommodations, the preview, the monitor and the change log. The domain itself
(quizzes.control) is tested in tests/unit; here: who may, what the page does with it, and
that bad input is refused with a message and saves nothing."""

import datetime
import zoneinfo

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    CohortLogEntry,
)
from questions.people.roles import EDUCATORS_GROUP
from questions.quizzes import assignments, control, engine, starting
from tests.factories import PublishableQuestionFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def local_input(moment: datetime.datetime, tz=NEW_YORK) -> str:
    """``moment`` as a datetime-local input holds it, in ``tz``."""
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def next_transitions(after: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The next spring-forward and fall-back days in New York after ``after``."""
    spring = fall = None
    day = after.astimezone(NEW_YORK).date()
    while spring is None or fall is None:
        noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=NEW_YORK)
        before = datetime.datetime.combine(
            day - datetime.timedelta(days=1), datetime.time(12), tzinfo=NEW_YORK
        )
        if noon.utcoffset() > before.utcoffset() and spring is None:
            spring = day
        if noon.utcoffset() < before.utcoffset() and fall is None:
            fall = day
        day += datetime.timedelta(days=1)
    return spring, fall


def make_educator(username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@pytest.fixture
def world():
    """A New York cohort with its educator and three residents, another cohort's educator,
    an open timed fixed-set assignment of 3 questions (due in 2 days), a resident outside
    the cohort."""
    topic = TopicFactory(name="Superior cluneal nerves")
    questions = PublishableQuestionFactory.create_batch(3)
    for question in questions:
        question.topics.add(topic)
    spare = PublishableQuestionFactory(key="spare-question", stem="A runner with heel pain.")
    educator = make_educator("teach")
    other_educator = make_educator("elsewhere")
    cohort = Cohort.objects.create(name="Alpha", time_zone="America/New_York")
    cohort.educators.add(educator)
    Cohort.objects.create(name="Beta").educators.add(other_educator)
    residents = [UserFactory(username=name) for name in ("ann", "bob", "cy")]
    cohort.residents.add(*residents)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.FIXED,
        mode=Attempt.Mode.TIMED,
        opens_at=now - datetime.timedelta(hours=1),
        due_at=now + datetime.timedelta(days=2),
        questions=questions,
    )
    return {
        "educator": educator,
        "other_educator": other_educator,
        "cohort": cohort,
        "residents": residents,
        "ann": residents[0],
        "bob": residents[1],
        "outsider": UserFactory(username="outsider"),
        "assignment": assignment,
        "questions": questions,
        "spare": spare,
        "topic": topic,
    }


def url(name: str, w, *more) -> str:
    if name in ("cohort_accommodations", "assignment_new", "cohort_detail"):
        return reverse(f"questions:{name}", args=[w["cohort"].pk])
    return reverse(f"questions:{name}", args=[w["cohort"].pk, w["assignment"].pk, *more])


def educator_client(client, w):
    client.force_login(w["educator"])
    return client


def log_actions(w) -> list[str]:
    return list(
        CohortLogEntry.objects.filter(cohort=w["cohort"])
        .exclude(action=CohortLogEntry.Action.SET)
        .values_list("action", flat=True)
    )


# --- Who may --------------------------------------------------------------------------------

PAGES = [
    "assignment_edit",
    "assignment_preview",
    "assignment_monitor",
    "assignment_close",
    "assignment_release",
    "assignment_archive",
    "assignment_unarchive",
    "cohort_accommodations",
]


@pytest.mark.parametrize("name", PAGES + ["assignment_resident"])
@pytest.mark.parametrize(
    ("who", "status"), [("other_educator", 404), ("ann", 403), ("educator", 200)]
)
def test_only_the_cohorts_educators_open_the_control_pages(client, world, name, who, status):
    client.force_login(world[who])
    args = [world["ann"].pk] if name == "assignment_resident" else []
    assert client.get(url(name, world, *args)).status_code == status


@pytest.mark.parametrize("name", PAGES + ["assignment_resident"])
@pytest.mark.parametrize("who", ["other_educator", "ann", None])
def test_a_post_from_anyone_else_changes_nothing(client, world, name, who):
    if who:
        client.force_login(world[who])
    args = [world["ann"].pk] if name == "assignment_resident" else []
    data = {
        "title": "Hijacked",
        "opens_at": local_input(timezone.now()),
        "due_at": local_input(timezone.now() + datetime.timedelta(days=9)),
        "release": "immediately",
        "grant": "extension",
        "extra_minutes": "30",
        "resident": world["ann"].pk,
        "time_setting": "untimed",
        "note": "x",
    }
    response = client.post(url(name, world, *args), data)
    assert response.status_code in (302, 403, 404)
    if who is None:
        assert response.url.startswith(reverse("login"))
    world["assignment"].refresh_from_db()
    assert world["assignment"].title == "Week 1"
    assert world["assignment"].archived_at is None
    assert world["assignment"].released_at is None
    assert not AssignmentGrant.objects.exists()
    assert not Accommodation.objects.exists()
    assert log_actions(world) == []


def test_a_resident_of_another_cohort_has_no_page_here(client, world):
    educator_client(client, world)
    page = url("assignment_resident", world, world["outsider"].pk)
    assert client.get(page).status_code == 404
    response = client.post(
        url("cohort_accommodations", world),
        {"resident": world["outsider"].pk, "time_setting": "x2", "note": "Letter"},
    )
    assert response.status_code == 404
    assert not Accommodation.objects.exists()


# --- The new assignment form ----------------------------------------------------------------


def test_the_new_form_opens_now_and_is_due_in_a_week_at_2359_cohort_time(client, world):
    educator_client(client, world)
    before = timezone.now().astimezone(NEW_YORK)
    page = client.get(url("assignment_new", world))
    form = page.context["form"]
    opens = form["opens_at"].value()  # as the input shows it: the cohort's wall time
    shown_due = form["due_at"].value()
    assert abs(opens - before.replace(tzinfo=None)) < datetime.timedelta(minutes=2)
    assert shown_due.time() == datetime.time(23, 59)
    assert shown_due.date() == before.date() + datetime.timedelta(days=7)
    html = page.content.decode()
    assert 'type="datetime-local"' in html
    assert f'value="{shown_due:%Y-%m-%dT%H:%M}"' in html
    assert "America/New_York" in html


def test_dates_typed_are_read_in_the_cohorts_time_zone(client, world):
    educator_client(client, world)
    response = client.post(
        url("assignment_new", world),
        {
            "title": "Summer",
            "kind": "fixed",
            "questions": [world["spare"].pk],
            "mode": "tutor",
            "opens_at": "2027-06-01T09:00",
            "due_at": "2027-06-08T23:59",
            "release": "manual",
        },
    )
    assert response.status_code == 302
    created = Assignment.objects.get(title="Summer")
    # 09:00 in New York in June is 13:00 UTC (EDT, UTC-4).
    assert created.opens_at == datetime.datetime(2027, 6, 1, 13, 0, tzinfo=datetime.UTC)
    assert created.due_at == datetime.datetime(2027, 6, 9, 3, 59, tzinfo=datetime.UTC)
    assert created.release == Assignment.Release.MANUAL
    detail = client.get(response.url).content.decode()
    assert "1 Jun 2027, 09:00 EDT" in detail
    assert "8 Jun 2027, 23:59 EDT" in detail


def test_a_winter_date_is_shown_with_standard_time(client, world):
    educator_client(client, world)
    client.post(
        url("assignment_new", world),
        {"title": "Winter", "kind": "fixed", "questions": [world["spare"].pk], "mode": "tutor",
         "opens_at": "2027-01-10T08:00", "due_at": "2027-01-17T23:59"},
    )  # fmt: skip
    created = Assignment.objects.get(title="Winter")
    assert created.opens_at == datetime.datetime(2027, 1, 10, 13, 0, tzinfo=datetime.UTC)
    cohort_page = client.get(url("cohort_detail", world)).content.decode()
    assert "10 Jan 2027, 08:00 EST" in cohort_page


@pytest.mark.parametrize(
    ("which", "time", "message"),
    [
        ("spring", "02:30", "does not exist in America/New_York"),
        ("fall", "01:30", "happens twice in America/New_York"),
    ],
)
def test_a_time_that_does_not_exist_or_happens_twice_is_refused_on_the_new_form(
    client, world, which, time, message
):
    spring, fall = next_transitions(timezone.now())
    day = spring if which == "spring" else fall
    educator_client(client, world)
    response = client.post(
        url("assignment_new", world),
        {"title": "DST", "kind": "fixed", "questions": [world["spare"].pk], "mode": "tutor",
         "opens_at": local_input(timezone.now()), "due_at": f"{day:%Y-%m-%d}T{time}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["due_at"])
    assert message in response.content.decode()
    assert not Assignment.objects.filter(title="DST").exists()


def test_the_hours_either_side_of_a_daylight_saving_change_are_accepted(client, world):
    spring, fall = next_transitions(timezone.now())
    educator_client(client, world)
    response = client.post(
        url("assignment_edit", world),
        {"title": "Week 1", "opens_at": local_input(world["assignment"].opens_at),
         "due_at": f"{fall:%Y-%m-%d}T02:30", "release": "at_due"},
    )  # fmt: skip
    assert response.status_code == 302
    world["assignment"].refresh_from_db()
    # After the clocks went back: EST, UTC-5.
    expected = datetime.datetime.combine(fall, datetime.time(7, 30), tzinfo=datetime.UTC)
    assert world["assignment"].due_at == expected
    response = client.post(
        url("assignment_edit", world),
        {"title": "Week 1", "opens_at": local_input(world["assignment"].opens_at),
         "due_at": f"{spring:%Y-%m-%d}T03:30", "release": "at_due"},
    )  # fmt: skip
    world["assignment"].refresh_from_db()
    expected = datetime.datetime.combine(spring, datetime.time(7, 30), tzinfo=datetime.UTC)
    assert world["assignment"].due_at == expected  # EDT, UTC-4
    detail = client.get(url("assignment_detail", world)).content.decode()
    assert f"{spring.day} {spring:%b %Y}, 03:30 EDT" in detail


def test_the_picker_lists_every_published_question_with_its_topics_and_status(client, world):
    educator_client(client, world)
    page = client.get(url("assignment_new", world))
    rows = {row["question"].key: row for row in page.context["picker"]}
    assert rows["spare-question"]["status"] == "new"
    assert rows[world["questions"][0].key]["status"] == "current"  # in the open Week 1
    assert rows[world["questions"][0].key]["topic_ids"] == str(world["topic"].pk)
    assert "heel pain" in rows["spare-question"]["search"]
    html = page.content.decode()
    assert html.count('name="questions"') == 4
    assert 'id="picker-search"' in html and 'id="picker-topic"' in html
    assert 'id="picker-status"' in html and 'id="picker-chosen">0<' in html
    assert "js/picker.js" in html


def test_a_closed_assignments_questions_are_marked_used(client, world):
    control.close_assignment(assignment=world["assignment"], actor=world["educator"])
    educator_client(client, world)
    rows = {
        r["question"].key: r for r in client.get(url("assignment_new", world)).context["picker"]
    }
    assert rows[world["questions"][0].key]["status"] == "used"


def test_the_picker_keeps_the_ticked_questions_and_their_count_after_an_error(client, world):
    educator_client(client, world)
    response = client.post(
        url("assignment_new", world),
        {"title": "", "kind": "fixed", "questions": [world["spare"].pk], "mode": "tutor",
         "opens_at": local_input(timezone.now()),
         "due_at": local_input(timezone.now() + datetime.timedelta(days=3))},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="picker-chosen">1<' in html
    assert f'value="{world["spare"].pk}" id="picker-q-{world["spare"].pk}" checked' in html


# --- Editing --------------------------------------------------------------------------------


def test_moving_the_due_date_earlier_carries_attempts_in_progress_and_says_how_many(client, world):
    started = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    educator_client(client, world)
    # Sooner than the end of ann's clock (3 questions at 90 s).
    new_due = timezone.now().replace(second=0, microsecond=0) + datetime.timedelta(minutes=2)
    response = client.post(
        url("assignment_edit", world),
        {"title": "Week 1 (short)", "opens_at": local_input(world["assignment"].opens_at),
         "due_at": local_input(new_due), "release": "manual"},
        follow=True,
    )  # fmt: skip
    assert "1 attempt in progress follows the new due date" in response.content.decode()
    started.refresh_from_db()
    assert started.deadline_at == new_due
    world["assignment"].refresh_from_db()
    assert world["assignment"].title == "Week 1 (short)"
    assert world["assignment"].release == Assignment.Release.MANUAL
    log = response.context["log"]
    assert log[0].actor == world["educator"]
    assert "due" in log[0].summary


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"due_at": "2020-01-01T00:00"}, "after the opening date"),
        ({"title": ""}, "This field is required"),
        ({"due_at": "not a date"}, "Enter a valid date/time"),
        ({"release": "whenever"}, "Select a valid choice"),
    ],
)
def test_bad_edits_are_refused_with_a_message_and_save_nothing(client, world, change, message):
    educator_client(client, world)
    before = Assignment.objects.values().get(pk=world["assignment"].pk)
    assignment = world["assignment"]
    data = {
        "title": "Changed",
        "opens_at": local_input(assignment.opens_at),
        "due_at": local_input(assignment.due_at),
        "release": "at_due",
    } | change
    response = client.post(url("assignment_edit", world), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Assignment.objects.values().get(pk=world["assignment"].pk) == before
    assert log_actions(world) == []


def test_a_due_date_moved_into_the_past_is_refused_by_the_domain_with_its_reason(client, world):
    educator_client(client, world)
    past = timezone.now() - datetime.timedelta(minutes=30)
    response = client.post(
        url("assignment_edit", world),
        {"title": "Week 1", "opens_at": local_input(past - datetime.timedelta(days=1)),
         "due_at": local_input(past), "release": "at_due"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "to end the assignment now, close it" in response.content.decode()
    assert log_actions(world) == []


@pytest.mark.parametrize(("which", "time"), [("spring", "02:30"), ("fall", "01:30")])
def test_the_edit_form_refuses_a_time_lost_or_repeated_by_a_clock_change(
    client, world, which, time
):
    spring, fall = next_transitions(timezone.now())
    day = spring if which == "spring" else fall
    educator_client(client, world)
    response = client.post(
        url("assignment_edit", world),
        {"title": "Week 1", "opens_at": local_input(world["assignment"].opens_at),
         "due_at": f"{day:%Y-%m-%d}T{time}", "release": "at_due"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "clocks go" in response.content.decode()
    assert log_actions(world) == []


def test_the_edit_form_shows_the_dates_in_the_cohorts_time(client, world):
    educator_client(client, world)
    html = client.get(url("assignment_edit", world)).content.decode()
    assert f'value="{local_input(world["assignment"].due_at)}"' in html
    assert "America/New_York" in html


# --- Close, release, archive ----------------------------------------------------------------


def test_closing_early_asks_first_then_ends_attempts_in_progress(client, world):
    started = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    educator_client(client, world)
    confirm = client.get(url("assignment_close", world)).content.decode()
    assert "1 resident is answering it now" in confirm
    assert Assignment.objects.get(pk=world["assignment"].pk).due_at > timezone.now()

    response = client.post(url("assignment_close", world), follow=True)
    assert "is closed: 1 attempt(s) in progress ended" in response.content.decode()
    started.refresh_from_db()
    assert started.deadline_at <= timezone.now()
    assert log_actions(world) == [CohortLogEntry.Action.CLOSED]

    again = client.post(url("assignment_close", world), follow=True)
    assert "already closed" in again.content.decode()
    assert log_actions(world) == [CohortLogEntry.Action.CLOSED]


def test_releasing_results_asks_then_releases_once(client, world):
    educator_client(client, world)
    assert "cannot be taken back" in client.get(url("assignment_release", world)).content.decode()
    response = client.post(url("assignment_release", world), follow=True)
    assert "are released" in response.content.decode()
    world["assignment"].refresh_from_db()
    assert world["assignment"].released_at is not None
    assert world["assignment"].results_released(timezone.now())
    again = client.post(url("assignment_release", world), follow=True)
    assert "already released" in again.content.decode()
    assert log_actions(world) == [CohortLogEntry.Action.RELEASED]


def test_archiving_and_restoring(client, world):
    started = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    educator_client(client, world)
    response = client.post(url("assignment_archive", world), follow=True)
    assert "is archived" in response.content.decode()
    assert "Restore from the archive" in response.content.decode()
    world["assignment"].refresh_from_db()
    assert world["assignment"].archived_at is not None
    started.refresh_from_db()
    assert started.deadline_at <= timezone.now()

    response = client.post(url("assignment_unarchive", world), follow=True)
    assert "restored from the archive" in response.content.decode()
    world["assignment"].refresh_from_db()
    assert world["assignment"].archived_at is None
    again = client.post(url("assignment_unarchive", world), follow=True)
    assert "is not archived" in again.content.decode()
    assert log_actions(world) == [
        CohortLogEntry.Action.UNARCHIVED,
        CohortLogEntry.Action.ARCHIVED,
    ]


@pytest.mark.parametrize("name", ["assignment_close", "assignment_release", "assignment_archive"])
def test_a_destructive_action_is_never_done_on_get(client, world, name):
    educator_client(client, world)
    page = client.get(url(name, world))
    assert page.status_code == 200
    assert 'id="confirm-button"' in page.content.decode()
    assert log_actions(world) == []


# --- One resident: extension and further attempt -------------------------------------------


def test_an_extension_moves_one_residents_due_date_and_clock(client, world):
    started = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    deadline = started.deadline_at
    educator_client(client, world)
    later = (world["assignment"].due_at + datetime.timedelta(days=3)).replace(second=0)
    response = client.post(
        url("assignment_resident", world, world["ann"].pk),
        {"grant": "extension", "due_at": local_input(later), "extra_minutes": "15",
         "note": "Night float"},
        follow=True,
    )  # fmt: skip
    assert "Extension granted to ann" in response.content.decode()
    grant = AssignmentGrant.objects.get(resident=world["ann"])
    assert grant.due_at == later.replace(microsecond=0)
    assert grant.extra_minutes == 15
    started.refresh_from_db()
    assert started.deadline_at == deadline + datetime.timedelta(minutes=15)
    row = next(r for r in response.context["monitor"] if r["user"] == world["ann"])
    assert row["due_at"] == grant.due_at
    assert "+15 min" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give a later due date, extra minutes, or both"),
        ({"extra_minutes": "601"}, "less than or equal to 600"),
        ({"extra_minutes": "-5"}, "greater than or equal to 0"),
        ({"due_at": "2020-01-01T09:00"}, "after the assignment"),
    ],
)
def test_a_bad_extension_is_refused_and_saves_nothing(client, world, data, message):
    educator_client(client, world)
    response = client.post(
        url("assignment_resident", world, world["ann"].pk), {"grant": "extension"} | data
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AssignmentGrant.objects.exists()
    assert log_actions(world) == []


def test_another_attempt_only_once_the_resident_used_theirs(client, world):
    educator_client(client, world)
    page = url("assignment_resident", world, world["ann"].pk)
    refused = client.post(page, {"grant": "attempt", "note": "Fire alarm"})
    assert "has not used the attempts they have yet" in refused.content.decode()
    assert not AssignmentGrant.objects.filter(extra_attempts__gt=0).exists()

    attempt = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    engine.finish_attempt(attempt=attempt)
    response = client.post(page, {"grant": "attempt", "note": "Fire alarm"}, follow=True)
    assert "ann may make another attempt" in response.content.decode()
    assert AssignmentGrant.objects.get(resident=world["ann"]).extra_attempts == 1
    second = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    assert second.attempt_number == 2


# --- Accommodations -------------------------------------------------------------------------


def test_an_accommodation_is_granted_with_a_note_and_shown_on_both_pages(client, world):
    educator_client(client, world)
    response = client.post(
        url("cohort_accommodations", world),
        {"resident": world["bob"].pk, "time_setting": "x2", "note": "Disability office letter"},
        follow=True,
    )
    assert "Time for bob saved" in response.content.decode()
    accommodation = Accommodation.objects.get(resident=world["bob"])
    assert accommodation.time_setting == "x2"
    assert accommodation.granted_by == world["educator"]

    cohort_page = client.get(url("cohort_detail", world))
    row = next(r for r in cohort_page.context["rows"] if r["user"] == world["bob"])
    assert row["accommodation"] == accommodation
    assert "Extended ×2" in cohort_page.content.decode()
    detail = client.get(url("assignment_detail", world))
    row = next(r for r in detail.context["monitor"] if r["user"] == world["bob"])
    assert row["accommodation"] == accommodation
    assert "Extended ×2" in detail.content.decode()
    # And it applies: bob's clock on the 3-question timed assignment is doubled.
    attempt = starting.start_assignment(user=world["bob"], assignment=world["assignment"])
    assert attempt.clock_seconds == 2 * 3 * 90


def test_an_accommodation_without_a_note_is_refused_and_saves_nothing(client, world):
    educator_client(client, world)
    response = client.post(
        url("cohort_accommodations", world),
        {"resident": world["bob"].pk, "time_setting": "untimed", "note": "  "},
    )
    assert response.status_code == 200
    assert "Say why" in response.content.decode()
    assert not Accommodation.objects.exists()
    assert log_actions(world) == []


def test_standard_time_removes_an_accommodation(client, world):
    control.set_accommodation(
        cohort=world["cohort"], resident=world["bob"], actor=world["educator"],
        time_setting="x1.5", note="Letter",
    )  # fmt: skip
    educator_client(client, world)
    client.post(
        url("cohort_accommodations", world),
        {"resident": world["bob"].pk, "time_setting": "", "note": ""},
    )
    assert not Accommodation.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"resident": "x", "time_setting": "x2", "note": "n"},
        {"resident": "9" * 30, "time_setting": "x2", "note": "n"},
        {"time_setting": "x3"},
    ],
)
def test_malformed_accommodation_posts_are_refused_with_a_message(client, world, data):
    educator_client(client, world)
    response = client.post(
        url("cohort_accommodations", world),
        data | {"resident": data.get("resident", world["bob"].pk)},
    )
    assert response.status_code == 200
    assert not Accommodation.objects.exists()


# --- Preview, monitor, log ------------------------------------------------------------------


def test_the_preview_shows_what_a_resident_sees_and_starts_nothing(client, world):
    educator_client(client, world)
    response = client.get(url("assignment_preview", world))
    html = response.content.decode()
    for question in world["questions"]:
        assert question.lead_in in html
        for choice in question.choices.all():
            assert choice.text in html
            assert choice.rationale not in html or choice.rationale == "Because."
    assert "4:30 (standard time)" in html  # 3 questions at 90 s
    assert "✓" not in html and "correct answer" not in html.lower()
    assert 'id="start-screen"' in html
    assert not Attempt.objects.exists()


def test_the_monitor_shows_who_started_how_far_and_the_time_left(client, world):
    attempt = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    engine.answer(attempt=attempt, position=1, letter="A")
    finished = starting.start_assignment(user=world["bob"], assignment=world["assignment"])
    engine.finish_attempt(attempt=finished)
    educator_client(client, world)
    response = client.get(url("assignment_monitor", world), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response["HX-Push-Url"] == "false"
    assert 'hx-trigger="every 15s"' in html
    assert "<html" not in html
    states = {r["user"].username: r for r in response.context["monitor"]}
    assert states["ann"]["state"] == "in_progress"
    assert states["ann"]["answered"] == 1
    assert 0 < states["ann"]["seconds_left"] <= 270
    assert states["bob"]["state"] == "finished"
    assert states["cy"]["state"] == "not_started"
    assert "1 of 3 answered" in html
    assert "1 not started · 1 in progress · 1 finished" in html
    # Without JavaScript: the whole page carries it, with a Refresh link.
    page = client.get(url("assignment_detail", world)).content.decode()
    assert "1 of 3 answered" in page and 'id="monitor-refresh"' in page


def test_the_assignment_and_cohort_pages_list_the_change_log(client, world):
    control.release_results(assignment=world["assignment"], actor=world["educator"])
    educator_client(client, world)
    detail = client.get(url("assignment_detail", world)).content.decode()
    assert "Results released" in detail and "teach" in detail
    cohort_page = client.get(url("cohort_detail", world))
    assert [e.action for e in cohort_page.context["log"]] == ["released", "set"]
    assert 'id="cohort-log"' in cohort_page.content.decode()


# --- Query counts ---------------------------------------------------------------------------


def _queries(client, page: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    return len(queries)


def _add_residents(world, count: int, *, start: int) -> None:
    users = [UserFactory(username=f"r{start + i}") for i in range(count)]
    world["cohort"].residents.add(*users)
    for i, user in enumerate(users):
        attempt = starting.start_assignment(user=user, assignment=world["assignment"])
        engine.answer(attempt=attempt, position=1, letter="A")
        if i % 3 == 0:
            engine.finish_attempt(attempt=attempt)
        if i % 2 == 0:
            control.set_accommodation(
                cohort=world["cohort"], resident=user, actor=world["educator"],
                time_setting="x1.5", note="Letter",
            )  # fmt: skip
        if i % 4 == 0:
            control.grant_extension(
                assignment=world["assignment"], resident=user, actor=world["educator"],
                extra_minutes=5,
            )  # fmt: skip


@pytest.mark.parametrize(
    "page", ["assignment_monitor", "assignment_detail", "cohort_accommodations", "assignment_new"]
)
def test_control_page_query_counts_do_not_grow_with_the_cohort(client, world, page):
    educator_client(client, world)
    _add_residents(world, 3, start=0)
    small = _queries(client, url(page, world))
    _add_residents(world, 30, start=100)
    PublishableQuestionFactory.create_batch(10)
    assert _queries(client, url(page, world)) == small


# --- The admin ------------------------------------------------------------------------------


def test_an_educator_edits_an_assignment_in_the_admin_through_the_control_functions(client, world):
    started = starting.start_assignment(user=world["ann"], assignment=world["assignment"])
    educator_client(client, world)
    change = reverse("admin:questions_assignment_change", args=[world["assignment"].pk])
    page = client.get(change).content.decode()
    assert "America/New_York" in page
    opens = world["assignment"].opens_at.astimezone(NEW_YORK)
    due = (timezone.now() + datetime.timedelta(minutes=2)).astimezone(NEW_YORK)
    response = client.post(
        change,
        {"title": "Week 1 (admin)", "release": "at_due",
         "opens_at_0": f"{opens:%Y-%m-%d}", "opens_at_1": f"{opens:%H:%M:%S}",
         "due_at_0": f"{due:%Y-%m-%d}", "due_at_1": f"{due:%H:%M:%S}"},
    )  # fmt: skip
    assert response.status_code == 302
    world["assignment"].refresh_from_db()
    # Typed as New York time.
    assert world["assignment"].due_at == due.replace(microsecond=0)
    started.refresh_from_db()
    assert started.deadline_at == world["assignment"].due_at  # the attempt followed
    assert log_actions(world) == [CohortLogEntry.Action.EDITED]


def test_the_admin_refuses_a_due_date_in_the_past_and_saves_nothing(client, world):
    educator_client(client, world)
    change = reverse("admin:questions_assignment_change", args=[world["assignment"].pk])
    opens = world["assignment"].opens_at.astimezone(NEW_YORK)
    due = (timezone.now() - datetime.timedelta(minutes=5)).astimezone(NEW_YORK)
    response = client.post(
        change,
        {"title": "Week 1", "release": "at_due",
         "opens_at_0": f"{opens:%Y-%m-%d}", "opens_at_1": f"{opens:%H:%M:%S}",
         "due_at_0": f"{due:%Y-%m-%d}", "due_at_1": f"{due:%H:%M:%S}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "close it" in response.content.decode()
    assert log_actions(world) == []


def test_the_admin_shows_the_educators_records_of_their_cohorts_only(client, world):
    control.set_accommodation(
        cohort=world["cohort"], resident=world["bob"], actor=world["educator"],
        time_setting="x2", note="Letter",
    )  # fmt: skip
    for name in ("accommodation", "cohortlogentry"):
        client.force_login(world["educator"])
        listed = client.get(reverse(f"admin:questions_{name}_changelist"))
        assert listed.status_code == 200
        assert listed.context["cl"].result_count >= 1
        client.force_login(world["other_educator"])
        assert (
            client.get(reverse(f"admin:questions_{name}_changelist")).context["cl"].result_count
            == 0
        )
