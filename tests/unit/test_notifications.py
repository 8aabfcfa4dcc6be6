"""Notifications (questions.notifications): jobs enqueued with their cause, the worker's
fan-out telling each person once, e-mail preferences, the outbox with a mail server that
is down and comes back, unsubscribing by token. ``now`` is passed in; the jobs run in the
test process through django-tasks-db's own worker (tests/queue.py)."""

import datetime
import logging

import pytest
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from questions.models import (
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    ErrorReport,
    Notification,
    ResidentProfile,
)
from questions.notifications import fanout, outbox, tasks, unsubscribe
from questions.quizzes import assignments, engine, starting
from questions.quizzes import error_reports as reports
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.queue import queued, run_queued

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.EmailStatus
Pref = ResidentProfile.EmailNotifications


class FlakyBackend(BaseEmailBackend):
    """A mail server that can be down: while ``down``, every send raises OSError (as a
    refused connection does); otherwise the messages are kept in ``sent``."""

    down = False
    sent: list = []

    def send_messages(self, messages):
        if FlakyBackend.down:
            raise ConnectionRefusedError(111, "Connection refused")
        FlakyBackend.sent.extend(messages)
        return len(messages)


@pytest.fixture
def mail_on(settings):
    settings.NOTIFICATION_EMAIL_ENABLED = True
    settings.SITE_URL = "https://boards.example.org"


@pytest.fixture
def flaky_mail(settings, mail_on):
    settings.EMAIL_BACKEND = "tests.unit.test_notifications.FlakyBackend"
    FlakyBackend.down, FlakyBackend.sent = False, []
    yield FlakyBackend
    FlakyBackend.down, FlakyBackend.sent = False, []


@pytest.fixture
def cohort():
    return Cohort.objects.create(name="PGY-2", time_zone="America/Chicago")


@pytest.fixture
def residents(cohort):
    users = [UserFactory(username=f"res{i}", email=f"res{i}@example.org") for i in range(3)]
    cohort.residents.add(*users)
    return users


@pytest.fixture
def teacher(cohort):
    user = UserFactory(username="teacher", email="teacher@example.org", is_staff=True)
    cohort.educators.add(user)
    return user


def set_assignment(cohort, teacher, *, opens_at=None, due_at=None, release=None, count=2):
    PublishableQuestionFactory.create_batch(count)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort,
        created_by=teacher,
        title="Week 1",
        kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TUTOR,
        opens_at=opens_at or now - datetime.timedelta(hours=1),
        due_at=due_at or now + datetime.timedelta(days=3),
        question_count=count,
    )
    if release:
        Assignment.objects.filter(pk=assignment.pk).update(release=release)
        assignment.refresh_from_db()
    return assignment


def rows(kind=None):
    found = Notification.objects.order_by("user__username")
    return list(found.filter(kind=kind) if kind else found)


# --- Enqueued with the cause, in its transaction ---------------------------------------------


def test_setting_an_assignment_enqueues_its_notice_job_in_the_same_transaction(
    cohort, teacher, residents
):
    assignment = set_assignment(cohort, teacher)

    [job] = queued(tasks.notify_assignment_set)
    assert job.args_kwargs == {"args": [assignment.pk], "kwargs": {}}
    assert not Notification.objects.exists()  # only the job: the worker tells them


def test_an_assignment_rolled_back_enqueues_nothing(cohort, teacher, residents):
    with pytest.raises(RuntimeError), transaction.atomic():
        set_assignment(cohort, teacher)
        assert DBTaskResult.objects.count() == 1
        raise RuntimeError("the request failed after the assignment was made")

    assert not DBTaskResult.objects.exists()


def test_a_decision_on_a_report_enqueues_its_job_and_a_rollback_none(resident, educator):
    report = _report(resident)
    with pytest.raises(RuntimeError), transaction.atomic():
        reports.decide_report(report=report, status="accepted", reply="Thanks.", by=educator)
        raise RuntimeError
    assert not DBTaskResult.objects.exists()

    reports.decide_report(report=report, status="accepted", reply="Thanks.", by=educator)
    assert len(queued(tasks.notify_report_answered)) == 1


def test_moving_a_report_back_to_new_tells_nobody(resident, educator):
    report = _report(resident)
    reports.decide_report(report=report, status="new", reply="Looking again.", by=educator)
    assert not DBTaskResult.objects.exists()


# --- The worker's fan-out ---------------------------------------------------------------------


def test_the_worker_tells_each_resident_once_with_a_link_to_the_start_screen(
    cohort, teacher, residents
):
    assignment = set_assignment(cohort, teacher)

    [job] = run_queued()

    assert job.status == "SUCCESSFUL" and job.return_value == 3
    told = rows(Kind.ASSIGNMENT_SET)
    assert [n.user for n in told] == residents
    url = reverse("questions:assignment_start", args=[assignment.pk])
    assert {n.url for n in told} == {url}
    assert all(n.read_at is None and n.email_status == Status.NOT_SENT for n in told)
    assert "CST" in told[0].body or "CDT" in told[0].body  # the cohort's time zone


def test_a_job_run_twice_tells_nobody_twice(cohort, teacher, residents, mail_on):
    assignment = set_assignment(cohort, teacher)
    run_queued()
    tasks.notify_assignment_set.call(assignment.pk)  # a retry, or a second worker
    tasks.notify_assignment_set.call(assignment.pk)
    run_queued()

    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 3


def test_an_assignment_deleted_before_the_job_ran_tells_nobody(cohort, teacher, residents):
    set_assignment(cohort, teacher).delete()
    run_queued()
    assert not Notification.objects.exists()


def test_residents_who_have_not_started_are_reminded_a_day_before_their_own_due_date(
    cohort, teacher, residents
):
    now = timezone.now()
    assignment = set_assignment(cohort, teacher, due_at=now + datetime.timedelta(hours=20))
    started, extended, waiting = residents
    starting.start_assignment(user=started, assignment=assignment, now=now)
    AssignmentGrant.objects.create(
        assignment=assignment, resident=extended, due_at=now + datetime.timedelta(days=3),
        granted_at=now,
    )  # fmt: skip

    assert fanout.due_soon(now=now) == 1
    assert [n.user for n in rows(Kind.ASSIGNMENT_DUE)] == [waiting]

    # Two days on, the extended resident's own due date is within a day.
    assert fanout.due_soon(now=now + datetime.timedelta(days=2, hours=1)) == 1
    assert [n.user for n in rows(Kind.ASSIGNMENT_DUE)] == [extended, waiting]
    # The next reminder run tells nobody again.
    fanout.due_soon(now=now + datetime.timedelta(days=2, hours=1))
    assert Notification.objects.filter(kind=Kind.ASSIGNMENT_DUE).count() == 2


def test_results_released_at_due_tell_those_who_finished_only_once_due(cohort, teacher, residents):
    now = timezone.now()
    assignment = set_assignment(cohort, teacher, due_at=now + datetime.timedelta(hours=2))
    finished = engine.finish_attempt(
        attempt=starting.start_assignment(user=residents[0], assignment=assignment, now=now),
        now=now,
    )

    assert fanout.results_released(assignment_id=assignment.pk, now=now) == 0  # not yet
    later = now + datetime.timedelta(hours=3)
    assert fanout.results_released(assignment_id=assignment.pk, now=later) == 1
    [told] = rows(Kind.RESULTS_RELEASED)
    assert told.user == residents[0]
    assert told.url == reverse("questions:attempt_results", args=[finished.pk])


def test_an_answered_report_tells_its_reporter_with_a_link_to_their_reports(resident, educator):
    report = _report(resident)
    reports.decide_report(report=report, status="fixed", reply="Corrected the key.", by=educator)
    run_queued()

    [told] = rows(Kind.REPORT_ANSWERED)
    assert told.user == resident
    assert told.url == reverse("questions:error_report_list")
    assert "Fixed" in told.title and "Corrected the key." in told.body


def test_a_bulk_decision_tells_each_reporter(resident, educator):
    other = UserFactory(username="other")
    chosen = [_report(resident), _report(other)]
    reports.decide_reports(
        reports=ErrorReport.objects.filter(pk__in=[r.pk for r in chosen]),
        status="rejected",
        by=educator,
    )
    [job] = run_queued()
    assert job.return_value == 2
    assert {n.user for n in rows(Kind.REPORT_ANSWERED)} == {resident, other}


def test_the_daily_digest_names_reports_waiting_and_the_educators_own_closing_assignments(
    cohort, teacher, residents
):
    now = timezone.now()
    set_assignment(cohort, teacher, due_at=now + datetime.timedelta(hours=10))
    other_teacher = UserFactory(username="elsewhere", is_staff=True)
    Cohort.objects.create(name="Other").educators.add(other_teacher)
    _report(residents[0])
    day = now.date()

    assert fanout.daily_digest(day=day, now=now) == 2
    mine, theirs = (Notification.objects.get(user=u) for u in (teacher, other_teacher))
    assert "1 error report(s) waiting" in mine.body and "Closing: Week 1 (PGY-2)" in mine.body
    assert mine.url == reverse("questions:cohort_detail", args=[cohort.pk])
    assert "Closing" not in theirs.body
    # Run again the same day (a retry, a second scheduler): nobody gets a second digest.
    fanout.daily_digest(day=day, now=now)
    assert Notification.objects.filter(kind=Kind.DIGEST).count() == 2


def test_no_digest_with_nothing_to_say(teacher):
    assert fanout.daily_digest(day=timezone.now().date(), now=timezone.now()) == 0


# --- E-mail preferences -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preference", "kind", "emailed"),
    [
        (Pref.ALL, Kind.ASSIGNMENT_SET, True),
        (Pref.ALL, Kind.REPORT_ANSWERED, True),
        (Pref.ASSIGNMENTS, Kind.ASSIGNMENT_SET, True),
        (Pref.ASSIGNMENTS, Kind.ASSIGNMENT_DUE, True),
        (Pref.ASSIGNMENTS, Kind.RESULTS_RELEASED, True),
        (Pref.ASSIGNMENTS, Kind.REPORT_ANSWERED, False),
        (Pref.ASSIGNMENTS, Kind.DIGEST, True),
        (Pref.NONE, Kind.ASSIGNMENT_SET, False),
        (Pref.NONE, Kind.DIGEST, False),
    ],
)
def test_the_preference_decides_what_is_emailed(mail_on, preference, kind, emailed):
    user = UserFactory(email="r@example.org")
    ResidentProfile.objects.create(user=user, email_notifications=preference)

    _notify(user, kind)

    expected = Status.PENDING if emailed else Status.NOT_SENT
    assert Notification.objects.get(user=user).email_status == expected


def test_nobody_is_emailed_without_an_address_or_when_mail_is_off(settings):
    settings.NOTIFICATION_EMAIL_ENABLED = True
    no_address = UserFactory(email="")
    _notify(no_address, Kind.ASSIGNMENT_SET)
    settings.NOTIFICATION_EMAIL_ENABLED = False
    addressed = UserFactory(email="r@example.org")
    _notify(addressed, Kind.ASSIGNMENT_SET)

    assert {n.email_status for n in rows()} == {Status.NOT_SENT}
    assert not outbox.deliver_due()


def test_a_preference_changed_after_the_notice_is_respected_when_sending(mail_on):
    user = UserFactory(email="r@example.org")
    _notify(user, Kind.REPORT_ANSWERED)
    ResidentProfile.objects.create(user=user, email_notifications=Pref.ASSIGNMENTS)

    assert outbox.deliver_due() == {"skipped": 1}
    assert mail.outbox == []
    assert Notification.objects.get().email_status == Status.NOT_SENT


# --- The outbox -------------------------------------------------------------------------------


def test_a_mail_server_down_then_back_sends_each_mail_exactly_once(flaky_mail, caplog):
    users = [UserFactory(email=f"r{i}@example.org") for i in range(3)]
    _notify_all(users, Kind.ASSIGNMENT_SET)
    now = timezone.now()
    flaky_mail.down = True

    with caplog.at_level(logging.WARNING, logger="questions.notifications.outbox"):
        outcome = outbox.deliver_due(now=now)

    # The first try fails; the sweep stops there rather than count a try on every row.
    assert outcome == {"retry": 1}
    first = Notification.objects.get(email_attempts=1)
    assert first.email_status == Status.PENDING
    assert first.email_next_try_at == now + datetime.timedelta(minutes=1)
    assert "ConnectionRefusedError" in first.email_error
    assert "failed (attempt 1)" in caplog.text
    # Still down a minute later: the back-off doubles.
    later = now + datetime.timedelta(minutes=1)
    outbox.deliver_due(now=later)
    first.refresh_from_db()
    assert first.email_next_try_at == later + datetime.timedelta(minutes=2)

    flaky_mail.down = False
    assert outbox.deliver_due(now=later) == {"sent": 2}  # the first waits for its next try
    back = later + datetime.timedelta(minutes=2)
    assert outbox.deliver_due(now=back) == {"sent": 1}
    assert outbox.deliver_due(now=back + datetime.timedelta(hours=1)) == {}

    assert sorted(m.to[0] for m in flaky_mail.sent) == [u.email for u in users]
    assert {n.email_status for n in rows()} == {Status.SENT}


def test_delivery_run_twice_sends_nothing_twice(mail_on):
    users = [UserFactory(email=f"r{i}@example.org") for i in range(2)]
    _notify_all(users, Kind.ASSIGNMENT_SET)
    tasks.deliver_emails.enqueue()
    tasks.deliver_emails.enqueue()

    run_queued()

    assert len(mail.outbox) == 2


def test_a_mail_that_keeps_failing_is_given_up_after_the_last_attempt(flaky_mail, caplog):
    user = UserFactory(email="r@example.org")
    _notify(user, Kind.ASSIGNMENT_SET)
    Notification.objects.update(email_attempts=outbox.MAX_EMAIL_ATTEMPTS - 1)
    flaky_mail.down = True

    with caplog.at_level(logging.ERROR, logger="questions.notifications.outbox"):
        assert outbox.deliver_due() == {"failed": 1}

    failed = Notification.objects.get()
    assert failed.email_status == Status.FAILED and failed.email_next_try_at is None
    assert "giving up" in caplog.text
    flaky_mail.down = False
    assert outbox.deliver_due(now=timezone.now() + datetime.timedelta(days=1)) == {}


def test_the_email_has_text_html_a_link_and_the_unsubscribe_headers(mail_on):
    user = UserFactory(username="ann", email="ann@example.org")
    _notify(user, Kind.ASSIGNMENT_SET, url="/assignments/7/start/")

    outbox.deliver_due()

    [message] = mail.outbox
    assert message.to == ["ann@example.org"]
    link = "https://boards.example.org/assignments/7/start/"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link in html
    unsubscribe_url = "https://boards.example.org" + unsubscribe.url_for(user)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url in message.body and unsubscribe_url in html


# --- Unsubscribing ----------------------------------------------------------------------------


def test_the_unsubscribe_token_names_its_user_and_tampering_is_refused():
    user = UserFactory()
    token = unsubscribe.token_for(user)
    assert unsubscribe.user_for(token) == user

    for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), "x", ""]:
        with pytest.raises(unsubscribe.BadToken):
            unsubscribe.user_for(bad)
    # A token signed by this site for something else is not an unsubscribe token.
    with pytest.raises(unsubscribe.BadToken):
        unsubscribe.user_for(signing.dumps({"u": user.pk}))


def test_unsubscribing_turns_email_off_and_drops_what_waits(mail_on):
    user = UserFactory(email="r@example.org")
    _notify(user, Kind.ASSIGNMENT_SET)

    unsubscribe.unsubscribe(user=user)

    assert user.resident_profile.email_notifications == Pref.NONE
    assert Notification.objects.get().email_status == Status.NOT_SENT
    assert outbox.deliver_due() == {}


# --- Helpers ----------------------------------------------------------------------------------


def _report(user) -> ErrorReport:
    question = PublishableQuestionFactory()
    attempt = Attempt.objects.create(
        user=user, mode=Attempt.Mode.TUTOR, question_count=1, started_at=timezone.now()
    )
    item = attempt.items.create(question=question, position=1, shown={})
    return ErrorReport.objects.create(
        question=question, attempt_item=item, reporter=user, kind="typo", comment="A typo."
    )


def _notify(user, kind, *, url="/dashboard/"):
    _notify_all([user], kind, url=url)


def _notify_all(users, kind, *, url="/dashboard/"):
    outbox.notify(
        users=users,
        kind=kind,
        key=f"{kind}:test",
        message=outbox.Message(title="A notice", body="Its text.", url=url),
        now=timezone.now(),
    )


@pytest.mark.slow
def test_the_demo_shows_notifications_to_the_demo_resident_and_educator(settings):
    from questions.devtools.demo import seed_demo_activity

    settings.NOTIFICATION_EMAIL_ENABLED = True  # debug's console mail
    PublishableQuestionFactory.create_batch(
        40
    )  # the open assignment holds 20 back; reports need others
    educator, resident = UserFactory(is_staff=True), UserFactory(username="demo-resident")

    seed_demo_activity(educator=educator, resident=resident)

    assert {n.kind for n in resident.notifications.all()} == {
        Kind.ASSIGNMENT_SET, Kind.REPORT_ANSWERED, Kind.RESULTS_RELEASED}  # fmt: skip
    assert [n.kind for n in educator.notifications.all()] == [Kind.DIGEST]
    demo_accounts = Notification.objects.filter(user__in=[educator, resident])
    assert {n.email_status for n in demo_accounts} == {Status.PENDING}  # example addresses
    # The synthetic residents have no address: under the bell only.
    told = Notification.objects.count()
    # Week 1 set (24 synthetic residents); Week 0's results (18 of them took it).
    assert told == 4 + 24 + 18
    # The jobs the hooks enqueued, run by `make run`'s worker, tell nobody twice.
    run_queued()
    assert Notification.objects.count() == told
