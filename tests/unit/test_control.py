"""An educator's control of an assignment once set (quizzes.control): edits, extending and
closing with attempts in progress following, release, archive, one resident's extension
or further attempt, accommodations; every change logged. ``now`` is passed in."""

import datetime
import random

import pytest
from django.core.exceptions import ValidationError

from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    CohortLogEntry,
    ResidentProfile,
)
from questions.quizzes import assignments, control, engine, errors, starting
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 21, 14, 0, tzinfo=datetime.UTC)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


@pytest.fixture
def cohort():
    return Cohort.objects.create(name="PGY-2 2026", time_zone="America/New_York")


@pytest.fixture
def educator(cohort):
    user = UserFactory(is_staff=True)
    cohort.educators.add(user)
    return user


@pytest.fixture
def residents(cohort):
    users = UserFactory.create_batch(3)
    cohort.residents.add(*users)
    return users


@pytest.fixture
def assignment(cohort, educator):
    PublishableQuestionFactory.create_batch(4)
    return assignments.create_assignment(
        cohort=cohort,
        created_by=educator,
        title="Week 1",
        kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TIMED,
        opens_at=at(0),
        due_at=at(120),
        question_count=4,
        time_limit_minutes=60,
        rng=random.Random(1),
    )


def start(resident, assignment, minute):
    return starting.start_assignment(user=resident, assignment=assignment, now=at(minute))


def edit(assignment, educator, minute, **changes):
    fields = {
        "title": assignment.title,
        "opens_at": assignment.opens_at,
        "due_at": assignment.due_at,
        "release": assignment.release,
    }
    return control.edit_assignment(
        assignment=assignment, actor=educator, now=at(minute), **(fields | changes)
    )


def test_moving_the_due_date_earlier_caps_attempts_in_progress(assignment, educator, residents):
    early, late = start(residents[0], assignment, 10), start(residents[1], assignment, 50)
    assert (early.deadline_at, late.deadline_at) == (at(70), at(110))

    changed = edit(assignment, educator, 55, due_at=at(90))

    early.refresh_from_db(), late.refresh_from_db()
    assert changed == 1
    assert early.deadline_at == at(70)  # its own clock ends first: unchanged
    assert late.deadline_at == at(90)
    assert late.time_limit_seconds == 40 * 60


def test_extending_gives_back_the_clock_the_due_date_had_cut(assignment, educator, residents):
    late = start(residents[0], assignment, 100)
    assert late.deadline_at == at(120)  # capped at the due date, 40 of its 60 minutes lost

    edit(assignment, educator, 105, due_at=at(240))

    late.refresh_from_db()
    assert late.deadline_at == at(160)  # its full hour, no more
    entry = CohortLogEntry.objects.get(action=CohortLogEntry.Action.EXTENDED)
    assert entry.actor == educator
    assert "1 attempt(s) in progress follow" in entry.summary
    assert "EST" in entry.summary  # the cohort's zone, not UTC


def test_an_edit_that_changes_nothing_logs_nothing(assignment, educator):
    assert edit(assignment, educator, 5) == 0
    assert not CohortLogEntry.objects.filter(assignment=assignment).exclude(action="set").exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"due_at": at(-5)}, "due_past"),
        ({"opens_at": at(200)}, None),  # after the due date: the model's constraint
        ({"release": "whenever"}, None),
        ({"title": ""}, None),
    ],
)
def test_a_bad_edit_is_refused_and_nothing_changes(assignment, educator, residents, changes, code):
    attempt = start(residents[0], assignment, 1)
    with pytest.raises(ValidationError) as caught:
        edit(assignment, educator, 10, **changes)
    if code:
        assert caught.value.code == code
    fresh = Assignment.objects.get(pk=assignment.pk)
    assert (fresh.title, fresh.opens_at, fresh.due_at, fresh.release) == (
        "Week 1",
        at(0),
        at(120),
        Assignment.Release.AT_DUE,
    )
    attempt.refresh_from_db()
    assert attempt.deadline_at == at(61)
    assert CohortLogEntry.objects.filter(assignment=assignment).count() == 1  # "set" only


def test_closing_early_ends_attempts_in_progress_now_and_stops_new_starts(
    assignment, educator, residents
):
    running = start(residents[0], assignment, 30)

    ended = control.close_assignment(assignment=assignment, actor=educator, now=at(40))

    assert ended == 1
    assert assignment.due_at == at(40)
    running.refresh_from_db()
    running = engine.expire_if_due(running, now=at(41))
    assert running.is_finished and running.finished_at == at(40)
    assert running.finish_reason == Attempt.FinishReason.DEADLINE
    with pytest.raises(errors.AssignmentNotOpen, match="closed"):
        start(residents[1], assignment, 41)


def test_closing_before_it_opens_or_twice_is_refused(assignment, educator):
    with pytest.raises(ValidationError) as caught:
        control.close_assignment(assignment=assignment, actor=educator, now=at(-10))
    assert caught.value.code == "not_open"
    control.close_assignment(assignment=assignment, actor=educator, now=at(10))
    with pytest.raises(ValidationError) as caught:
        control.close_assignment(assignment=assignment, actor=educator, now=at(11))
    assert caught.value.code == "closed"


def test_closing_also_ends_a_residents_later_due_date(assignment, educator, residents):
    control.grant_extension(
        assignment=assignment, resident=residents[0], actor=educator, due_at=at(300), now=at(5)
    )
    control.close_assignment(assignment=assignment, actor=educator, now=at(10))
    assert control.resident_due_at(assignment=assignment, resident=residents[0]) == at(10)


def test_one_residents_extension_moves_only_their_attempt(assignment, educator, residents):
    theirs, other = start(residents[0], assignment, 100), start(residents[1], assignment, 100)

    control.grant_extension(
        assignment=assignment,
        resident=residents[0],
        actor=educator,
        due_at=at(200),
        note="Called to a trauma",
        now=at(105),
    )

    theirs.refresh_from_db(), other.refresh_from_db()
    assert theirs.deadline_at == at(160)
    assert other.deadline_at == at(120)
    entry = CohortLogEntry.objects.get(action=CohortLogEntry.Action.EXTENSION)
    assert entry.resident == residents[0] and "Called to a trauma" in entry.summary


def test_extra_minutes_extend_a_running_clock(assignment, educator, residents):
    running = start(residents[0], assignment, 10)  # 60 minutes: deadline at 70
    control.grant_extension(
        assignment=assignment, resident=residents[0], actor=educator, extra_minutes=15, now=at(20)
    )
    running.refresh_from_db()
    assert running.deadline_at == at(85)
    assert running.clock_seconds == 75 * 60


def test_extra_minutes_before_starting_lengthen_the_clock(assignment, educator, residents):
    control.grant_extension(
        assignment=assignment, resident=residents[0], actor=educator, extra_minutes=20, now=at(1)
    )
    assert start(residents[0], assignment, 2).deadline_at == at(82)


def test_a_resident_with_a_later_due_date_can_start_after_the_others_close(
    assignment, educator, residents
):
    control.grant_extension(
        assignment=assignment, resident=residents[0], actor=educator, due_at=at(600), now=at(1)
    )
    attempt = start(residents[0], assignment, 300)
    assert attempt.deadline_at == at(360)
    with pytest.raises(errors.AssignmentNotOpen):
        start(residents[1], assignment, 300)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "empty"),
        ({"due_at": at(100)}, "due_not_later"),  # before the assignment's due date
        ({"extra_minutes": 601}, "minutes"),
    ],
)
def test_a_bad_extension_is_refused(assignment, educator, residents, kwargs, code):
    with pytest.raises(ValidationError) as caught:
        control.grant_extension(
            assignment=assignment, resident=residents[0], actor=educator, now=at(5), **kwargs
        )
    assert caught.value.code == code
    assert not AssignmentGrant.objects.exists()


def test_an_extension_for_someone_outside_the_cohort_is_refused(assignment, educator):
    with pytest.raises(ValidationError):
        control.grant_extension(
            assignment=assignment,
            resident=UserFactory(),
            actor=educator,
            due_at=at(300),
            now=at(5),
        )


def test_a_second_attempt_once_the_first_is_used(assignment, educator, residents):
    first = start(residents[0], assignment, 1)
    with pytest.raises(ValidationError) as caught:
        control.grant_attempt(
            assignment=assignment, resident=residents[0], actor=educator, now=at(2)
        )
    assert caught.value.code == "unused"
    engine.finish_attempt(attempt=first, now=at(5))
    assert start(residents[0], assignment, 6).pk == first.pk  # used up: shows the finished one

    control.grant_attempt(
        assignment=assignment, resident=residents[0], actor=educator, note="Fire alarm", now=at(7)
    )
    second = start(residents[0], assignment, 8)

    assert second.pk != first.pk and second.attempt_number == 2
    assert start(residents[0], assignment, 9).pk == second.pk
    assert control.attempts_allowed(assignment=assignment, resident=residents[0]) == 2


def test_release_by_hand_and_the_release_settings(assignment, educator):
    assert not assignment.results_released(at(60))  # at the due date
    assert assignment.results_released(at(120))
    edit(assignment, educator, 1, release=Assignment.Release.MANUAL)
    assert not assignment.results_released(at(500))

    control.release_results(assignment=assignment, actor=educator, now=at(130))

    assert assignment.results_released(at(130))
    with pytest.raises(ValidationError):
        control.release_results(assignment=assignment, actor=educator, now=at(131))
    assert CohortLogEntry.objects.filter(action=CohortLogEntry.Action.RELEASED).count() == 1


def test_at_due_release_waits_for_the_last_residents_due_date(assignment, educator, residents):
    control.grant_extension(
        assignment=assignment, resident=residents[0], actor=educator, due_at=at(300), now=at(1)
    )
    fresh = Assignment.objects.get(pk=assignment.pk)
    assert not fresh.results_released(at(200))
    assert fresh.results_released(at(300))


def test_archiving_ends_attempts_and_hides_the_assignment(assignment, educator, residents):
    running = start(residents[0], assignment, 5)
    control.archive_assignment(assignment=assignment, actor=educator, now=at(10))

    running.refresh_from_db()
    running = engine.expire_if_due(running, now=at(11))
    assert running.is_finished and running.finished_at == at(10)
    with pytest.raises(errors.AssignmentNotOpen, match="no longer available"):
        start(residents[1], assignment, 12)

    control.unarchive_assignment(assignment=assignment, actor=educator, now=at(13))
    assert start(residents[1], assignment, 14).assignment == assignment
    actions = list(
        CohortLogEntry.objects.filter(assignment=assignment)
        .exclude(action="set")
        .values_list("action", flat=True)
    )
    assert actions == ["unarchived", "archived"]


def test_an_accommodation_needs_a_note_and_changes_no_running_deadline(
    cohort, assignment, educator, residents
):
    running = start(residents[0], assignment, 5)
    with pytest.raises(ValidationError) as caught:
        control.set_accommodation(
            cohort=cohort, resident=residents[0], actor=educator, time_setting="x2", note=" "
        )
    assert caught.value.code == "note"

    control.set_accommodation(
        cohort=cohort,
        resident=residents[0],
        actor=educator,
        time_setting="x2",
        note="OSD letter",
        now=at(6),
    )

    running.refresh_from_db()
    assert running.deadline_at == at(65)
    assert Accommodation.objects.get().multiplier == 2.0
    control.set_accommodation(
        cohort=cohort, resident=residents[0], actor=educator, time_setting="", note="", now=at(7)
    )
    assert not Accommodation.objects.exists()
    assert CohortLogEntry.objects.filter(action="accommodation").count() == 2


def test_a_residents_own_setting_changes_nothing_on_an_assignment(assignment, residents):
    ResidentProfile.objects.create(user=residents[0], time_setting="untimed")
    assert (
        control.assignment_clock_seconds(
            assignment=assignment, resident=residents[0], question_count=4
        )
        == 3600
    )


def test_a_release_enqueues_its_notification_with_it_and_a_refused_one_none(assignment, educator):
    from questions.notifications import tasks
    from tests.queue import queued

    control.release_results(assignment=assignment, actor=educator, now=at(10))
    assert [job.args_kwargs["args"] for job in queued(tasks.notify_results_released)] == [
        [assignment.pk]
    ]
    with pytest.raises(ValidationError):
        control.release_results(assignment=assignment, actor=educator, now=at(11))
    assert len(queued(tasks.notify_results_released)) == 1


def test_archiving_keeps_the_questions_held_back_until_due_and_released(
    assignment, educator, residents
):
    from questions.models import Question

    edit(assignment, educator, 1, release=Assignment.Release.MANUAL)
    control.archive_assignment(assignment=assignment, actor=educator, now=at(10))
    asked = set(assignment.questions.values_list("pk", flat=True))

    def held(minute):
        return set(
            Question.objects.assessed_for(residents[0], at(minute)).values_list("pk", flat=True)
        )

    assert held(500) == asked  # past the due date, but not released
    control.release_results(assignment=assignment, actor=educator, now=at(600))
    assert held(601) == set()


def test_no_error_report_on_a_question_whose_key_is_still_held_back(
    assignment, educator, residents
):
    """A decision on "the key is wrong, it is B" would tell the resident the key."""
    from questions.quizzes import error_reports

    attempt = start(residents[0], assignment, 1)
    engine.finish_attempt(attempt=attempt, now=at(5))  # finished, results at the due date
    item = attempt.items.first()
    with pytest.raises(error_reports.ReportRefused, match="released"):
        error_reports.report_problem(
            user=residents[0], item=item, kind="wrong_key", comment="It is B", now=at(6)
        )
    report = error_reports.report_problem(
        user=residents[0], item=item, kind="wrong_key", comment="It is B", now=at(121)
    )
    assert report.pk


def test_closing_after_an_attempt_ran_out_leaves_it_ended_at_its_own_deadline(
    assignment, educator, residents
):
    ran_out = start(residents[0], assignment, 10)  # 60-minute clock: ends at 70, unread
    control.close_assignment(assignment=assignment, actor=educator, now=at(100))
    ran_out.refresh_from_db()
    assert ran_out.is_finished and ran_out.finished_at == at(70)


def test_extending_does_not_revive_a_tutor_attempt_whose_due_date_passed(cohort, educator):
    PublishableQuestionFactory.create_batch(2)
    resident = UserFactory()
    cohort.residents.add(resident)
    tutor = assignments.create_assignment(
        cohort=cohort, created_by=educator, title="Tutor", kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TUTOR, opens_at=at(0), due_at=at(120), question_count=2,
    )  # fmt: skip
    attempt = start(resident, tutor, 10)
    edit(tutor, educator, 200, due_at=at(600))
    attempt.refresh_from_db()
    assert attempt.is_finished and attempt.finished_at == at(120)


def test_an_edit_that_types_back_a_closed_due_date_to_the_minute_changes_only_the_title(
    assignment, educator
):
    control.close_assignment(
        assignment=assignment, actor=educator, now=at(30) + datetime.timedelta(seconds=17)
    )
    edit(assignment, educator, 40, title="Week 1 (closed)", due_at=at(30))
    assignment.refresh_from_db()
    assert assignment.title == "Week 1 (closed)"
    assert assignment.due_at == at(30) + datetime.timedelta(seconds=17)


def test_no_further_attempt_or_later_due_date_once_results_are_out(assignment, educator, residents):
    first = start(residents[0], assignment, 1)
    engine.finish_attempt(attempt=first, now=at(5))
    control.release_results(assignment=assignment, actor=educator, now=at(6))
    with pytest.raises(ValidationError) as caught:
        control.grant_attempt(
            assignment=assignment, resident=residents[0], actor=educator, now=at(7)
        )
    assert caught.value.code == "released"
    with pytest.raises(ValidationError) as caught:
        control.grant_extension(
            assignment=assignment, resident=residents[1], actor=educator, due_at=at(300),
            now=at(7),
        )  # fmt: skip
    assert caught.value.code == "released"


def test_a_start_on_a_page_read_before_an_early_close_ends_by_the_close(
    assignment, educator, residents
):
    """The start screen was read while the assignment was open; the educator closed it
    before Begin: the start goes by the assignment as it now stands (re-read under its row
    lock, which also makes a close wait for a start in flight, and then move it)."""
    read_before = Assignment.objects.get(pk=assignment.pk)
    control.close_assignment(assignment=assignment, actor=educator, now=at(30))

    with pytest.raises(errors.AssignmentNotOpen, match="closed"):
        starting.start_assignment(user=residents[0], assignment=read_before, now=at(31))
    assert not Attempt.objects.exists()
