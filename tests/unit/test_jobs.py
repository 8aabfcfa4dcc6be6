"""The task queue's plumbing (questions.jobs, questions.notifications.retrying): a failed
job retried later and logged; the scheduler's tick enqueuing each periodic job once a
slot, however many schedulers run at once (sequentially on SQLite, in threads with their
own connections on PostgreSQL); the run_schedule command; expire_attempts as a job."""

import datetime
import logging
import threading
import time

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from questions import jobs
from questions.models import Assignment, AssignmentGrant, Attempt, Cohort, Notification
from questions.notifications import outbox, tasks
from questions.notifications.retrying import retried
from questions.quizzes import assignments, engine, starting
from tests.concurrency import outcomes_together
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.queue import queued, run_queued

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL"
)


def concurrent(test):
    """PostgreSQL only: threads with their own connections, each transaction committed."""
    for mark in (pytest.mark.django_db(transaction=True), pytest.mark.slow, on_postgresql):
        test = mark(test)
    return test


# 09:30 in New York (the default cohort time zone), a Tuesday.
T0 = datetime.datetime(2026, 3, 3, 14, 30, 20, tzinfo=datetime.UTC)

# --- Retries ------------------------------------------------------------------------------------

CALLS: list[int] = []


@task()
@retried(attempts=3, first_delay=datetime.timedelta(seconds=10))
def flaky_job(value: int, *, failures: int) -> int:
    """Fails its first ``failures`` runs (counted in CALLS), then returns ``value``."""
    CALLS.append(value)
    if len(CALLS) <= failures:
        raise ConnectionError("the database went away")
    return value


@pytest.fixture
def calls():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def _make_due(job_rows):
    DBTaskResult.objects.filter(pk__in=[j.pk for j in job_rows]).update(run_after=timezone.now())


@pytest.mark.django_db
def test_a_failed_job_is_retried_later_and_logged(calls, caplog):
    flaky_job.enqueue(7, failures=1)

    with caplog.at_level(logging.WARNING, logger="questions.notifications.retrying"):
        [failed] = run_queued()

    assert failed.status == "FAILED" and "ConnectionError" in failed.traceback
    assert "failed (attempt 1 of 3), retrying" in caplog.text
    [retry] = queued(flaky_job)
    assert retry.args_kwargs == {"args": [7], "kwargs": {"failures": 1, "retry_attempt": 2}}
    assert retry.run_after > timezone.now() + datetime.timedelta(seconds=5)
    assert run_queued() == []  # not before its time

    _make_due([retry])
    [succeeded] = run_queued()
    assert (succeeded.status, succeeded.return_value) == ("SUCCESSFUL", 7)
    assert calls == [7, 7]


@pytest.mark.django_db
def test_a_job_that_keeps_failing_gives_up_after_its_last_attempt_with_an_error(calls, caplog):
    flaky_job.enqueue(1, failures=99)
    with caplog.at_level(logging.WARNING, logger="questions.notifications.retrying"):
        for _ in range(3):
            run_queued()
            _make_due(queued(flaky_job))

    assert calls == [1, 1, 1]
    assert queued(flaky_job) == []
    assert DBTaskResult.objects.failed().count() == 3
    assert "failed on its last attempt (3 of 3), giving up" in caplog.text
    ours = [r.levelname for r in caplog.records if r.name == "questions.notifications.retrying"]
    assert ours == ["WARNING", "WARNING", "ERROR"]


@pytest.mark.django_db
def test_retry_delays_double(settings):
    first = datetime.timedelta(seconds=30)
    from questions.notifications.retrying import retry_delay

    assert [retry_delay(n, first=first).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(30, first=first) == datetime.timedelta(hours=6)


# --- The scheduler ----------------------------------------------------------------------------


def _enqueued_names():
    return sorted(DBTaskResult.objects.values_list("task_path", flat=True))


@pytest.mark.django_db
def test_a_tick_enqueues_each_periodic_job_once_a_slot():
    assert jobs.tick(now=T0) == ["due_reminders", "expire_attempts", "daily_digest",
                                 "prune_job_history", "recover_stalled_jobs"]  # fmt: skip
    # Another tick in the same minute (a second scheduler, a slow cron run): nothing.
    assert jobs.tick(now=T0 + datetime.timedelta(seconds=30)) == []
    # The next minute: the per-minute jobs only; the next quarter hour: the reminders too.
    assert jobs.tick(now=T0 + datetime.timedelta(minutes=1)) == ["expire_attempts"]
    assert jobs.tick(now=T0 + datetime.timedelta(minutes=15)) == [
        "due_reminders", "expire_attempts", "recover_stalled_jobs"]  # fmt: skip
    assert len(queued(tasks.notify_due_soon)) == 2
    assert len(queued(jobs.expire_attempts)) == 3
    [digest] = queued(tasks.send_daily_digest)
    assert digest.args_kwargs["args"] == ["2026-03-03"]


@pytest.mark.django_db
def test_the_digest_waits_for_the_morning_in_the_cohort_time_zone():
    before_seven = datetime.datetime(2026, 3, 3, 11, 59, tzinfo=datetime.UTC)  # 06:59 EST
    assert "daily_digest" not in jobs.tick(now=before_seven)
    assert "daily_digest" in jobs.tick(now=before_seven + datetime.timedelta(minutes=1))
    assert "daily_digest" not in jobs.tick(now=before_seven + datetime.timedelta(hours=12))


@pytest.mark.django_db
def test_the_email_sweep_is_enqueued_only_when_an_email_is_due(settings):
    settings.NOTIFICATION_EMAIL_ENABLED = True
    assert "email_sweep" not in jobs.tick(now=T0)
    outbox.notify(
        users=[UserFactory(email="r@example.org")], kind="assignment_set", key="k",
        message=outbox.Message("A notice", "", "/"), now=T0,
    )  # fmt: skip
    assert "email_sweep" in jobs.tick(now=T0 + datetime.timedelta(minutes=1))


def _at_due_assignment(due_at):
    PublishableQuestionFactory.create_batch(2)
    cohort = Cohort.objects.create(name="C")
    return assignments.create_assignment(
        cohort=cohort, created_by=None, title="Week 1", kind=Assignment.Kind.RULE,
        mode=Attempt.Mode.TUTOR, opens_at=due_at - datetime.timedelta(days=2), due_at=due_at,
        question_count=2,
    )  # fmt: skip


@pytest.mark.django_db
def test_at_due_results_are_announced_once_the_last_due_date_passed():
    assignment = _at_due_assignment(T0 + datetime.timedelta(hours=1))
    resident = UserFactory()
    AssignmentGrant.objects.create(
        assignment=assignment, resident=resident, due_at=T0 + datetime.timedelta(hours=5),
        granted_at=T0,
    )  # fmt: skip
    name = f"results_released:{assignment.pk}"

    assert name not in jobs.tick(now=T0 + datetime.timedelta(hours=2))  # a grant runs on
    assert name in jobs.tick(now=T0 + datetime.timedelta(hours=5, minutes=1))
    assert name not in jobs.tick(now=T0 + datetime.timedelta(hours=5, minutes=2))
    [job] = queued(tasks.notify_results_released)
    assert job.args_kwargs["args"] == [assignment.pk]


@pytest.mark.django_db
def test_two_schedulers_at_the_same_slot_enqueue_one_reminder():
    """SQLite and PostgreSQL, one after the other; the threaded race is below."""
    first = jobs.tick(now=T0)
    second = jobs.tick(now=T0 + datetime.timedelta(seconds=1))
    assert "due_reminders" in first and second == []
    assert len(queued(tasks.notify_due_soon)) == 1


@concurrent
def test_two_schedulers_ticking_at_once_on_two_connections_enqueue_one_reminder():
    outcomes = outcomes_together(4, lambda i: jobs.tick(now=T0))
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert sorted(name for o in outcomes for name in o).count("due_reminders") == 1
    assert len(queued(tasks.notify_due_soon)) == 1
    assert len(queued(jobs.expire_attempts)) == 1


class SlowBackend(BaseEmailBackend):
    """A mail server that takes a while, so two senders overlap."""

    sent: list = []
    lock = threading.Lock()

    def send_messages(self, messages):
        time.sleep(0.05)
        with SlowBackend.lock:
            SlowBackend.sent.extend(m.to[0] for m in messages)
        return len(messages)


@concurrent
def test_two_senders_at_once_send_each_mail_once(settings):
    settings.NOTIFICATION_EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "tests.unit.test_jobs.SlowBackend"
    SlowBackend.sent = []
    users = [UserFactory(email=f"r{i}@example.org") for i in range(6)]
    outbox.notify(
        users=users, kind="assignment_set", key="k", message=outbox.Message("Hi", "", "/"),
        now=timezone.now(),
    )  # fmt: skip

    outcomes = outcomes_together(3, lambda i: outbox.deliver_due())

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(SlowBackend.sent) == sorted(u.email for u in users)
    assert sum(o["sent"] for o in outcomes) == 6
    assert set(Notification.objects.values_list("email_status", flat=True)) == {"sent"}


# --- Commands and the expiry job --------------------------------------------------------------


@pytest.mark.django_db
def test_run_schedule_enqueues_once_and_says_what(capsys):
    call_command("run_schedule")
    out = capsys.readouterr().out
    assert out.startswith("Enqueued: ") and "expire_attempts" in out
    call_command("run_schedule")
    assert capsys.readouterr().out == ""  # the same minute: nothing more


@pytest.mark.django_db
def test_expire_attempts_runs_as_a_job_and_the_command_still_works():
    PublishableQuestionFactory.create_batch(2)
    config = starting.QuizConfig(question_count=2)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    abandoned = starting.start_attempt(user=UserFactory(), config=config, now=long_ago)
    jobs.expire_attempts.enqueue()

    [job] = run_queued()

    assert job.return_value == {"expired": 1, "completed": 0}
    abandoned.refresh_from_db()
    assert abandoned.finished_at == abandoned.deadline_at
    call_command("expire_attempts")  # the command of old is kept
    assert engine.expire_overdue() == 0


@pytest.mark.django_db
def test_the_whole_path_a_tick_the_worker_and_an_email(settings):
    """A resident due within a day and not started: the scheduler's tick, the worker's
    reminder job, then the delivery it enqueued, in one worker batch."""
    settings.NOTIFICATION_EMAIL_ENABLED = True
    resident = UserFactory(email="r@example.org")
    assignment = _at_due_assignment(timezone.now() + datetime.timedelta(hours=3))
    assignment.cohort.residents.add(resident)
    Assignment.objects.filter(pk=assignment.pk).update(opens_at=timezone.now())
    DBTaskResult.objects.all().delete()  # the assignment's own notice aside

    jobs.tick()
    run_queued()

    [reminder] = Notification.objects.filter(user=resident)
    assert reminder.kind == "assignment_due" and reminder.email_status == "sent"
    assert [m.to for m in mail.outbox] == [["r@example.org"]]


@pytest.mark.django_db
def test_a_job_whose_worker_died_mid_job_is_run_again_and_tells_nobody_twice():
    """The worker claimed "results released" and was killed: the row stays RUNNING. The
    sweep marks it failed and enqueues it anew; the notifications are made once."""
    cohort = Cohort.objects.create(name="Sweep")
    resident = UserFactory()
    cohort.residents.add(resident)
    PublishableQuestionFactory.create_batch(2)
    now = timezone.now()
    assignment = assignments.create_assignment(
        cohort=cohort, created_by=UserFactory(is_staff=True), title="Gone", kind="rule",
        mode="tutor", opens_at=now - datetime.timedelta(days=2),
        due_at=now - datetime.timedelta(days=1), question_count=2,
        release=Assignment.Release.IMMEDIATELY,
    )  # fmt: skip
    attempt = starting.start_assignment(
        user=resident, assignment=assignment, now=now - datetime.timedelta(days=1, hours=1)
    )
    engine.finish_attempt(attempt=attempt, now=now - datetime.timedelta(days=1, minutes=30))
    DBTaskResult.objects.all().delete()
    died = tasks.notify_results_released.enqueue(assignment.pk)
    DBTaskResult.objects.filter(pk=died.id).update(
        status="RUNNING", started_at=now - datetime.timedelta(hours=1)
    )

    assert jobs.recover_stalled_jobs.call() == {"recovered": 1}
    assert jobs.recover_stalled_jobs.call() == {"recovered": 0}
    run_queued()
    run_queued()

    assert DBTaskResult.objects.get(pk=died.id).status == "FAILED"
    assert Notification.objects.filter(user=resident, kind="results_released").count() == 1
