"""The periodic jobs and the scheduler that enqueues them.

``tick(now=...)`` is run every minute or so, by ``manage.py run_schedule`` (one cron entry
in production; ``--loop 60`` under ``make run``). For each periodic job whose period has
begun (its *slot*: the minute, the quarter hour, the day) it inserts a ``ScheduledRun``
(name, slot) row and enqueues the job in the same transaction. The row is unique: when two
schedulers tick at once (two hosts, or a slow run overlapping the next), the second
insert fails (on PostgreSQL it waits for the first transaction, then fails) and that
scheduler enqueues nothing. So each job is enqueued once a slot however many hosts run the
cron entry; and every job is safe to run twice anyway.

The jobs: reminders of assignments due within 24 hours (every 15 minutes), the outbox
sweep for e-mails whose retry came (every minute), ``expire_attempts`` (every minute),
the educators' daily digest (once a day, from DIGEST_HOUR in settings.COHORT_TIME_ZONE),
the release notice of each at-due assignment once its last due date has passed, the
pruning of old job records (daily), and running again a job whose worker died mid-job
(every 15 minutes).

This module sits above ``quizzes`` (it runs the engine's expiry); the notification jobs
themselves are in ``questions.notifications.tasks``.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from questions.models import Assignment, Notification, ScheduledRun
from questions.notifications import tasks as notification_tasks
from questions.notifications.retrying import retried
from questions.quizzes import engine

logger = logging.getLogger(__name__)

DIGEST_HOUR = 7  # local time of the site's default cohort time zone
# At-due releases are looked for among assignments due within this far back: the scheduler
# may be down for a while, but not forever re-read the whole history.
RELEASE_LOOKBACK = datetime.timedelta(days=30)
JOB_HISTORY_KEPT = datetime.timedelta(days=14)
# A job still RUNNING this long after it started lost its worker (killed, its host gone):
# every job here takes seconds, and each is safe to run twice.
STALLED_AFTER = datetime.timedelta(minutes=30)


@task()
@retried()
def expire_attempts() -> dict[str, int]:
    """As ``manage.py expire_attempts``: finish the attempts past their deadline, as of the
    deadline, and the tutor quizzes answered through and left open."""
    return {"expired": engine.expire_overdue(), "completed": engine.finish_completed()}


@task()
@retried(attempts=3)
def prune_job_history() -> dict[str, int]:
    """Delete the finished job records and scheduler rows older than JOB_HISTORY_KEPT (the
    failed ones are kept as long, for their tracebacks)."""
    before = timezone.now() - JOB_HISTORY_KEPT
    jobs, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    runs, _ = ScheduledRun.objects.filter(enqueued_at__lt=before).delete()
    return {"jobs": jobs, "runs": runs}


@task()
@retried(attempts=3)
def recover_stalled_jobs() -> dict[str, int]:
    """Run again the jobs whose worker stopped mid-job (RUNNING for STALLED_AFTER): each is
    marked failed, with the reason, and enqueued anew with its arguments, so a notification
    whose job died with its worker is still made (once: notifications are unique per
    person and event, e-mails are claimed under a row lock)."""
    before = timezone.now() - STALLED_AFTER
    recovered = 0
    for pk in (
        DBTaskResult.objects.running().filter(started_at__lt=before).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            job = (
                DBTaskResult.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status="RUNNING")
                .first()
            )
            if job is None:  # another scheduler's sweep has it
                continue
            job.set_failed(RuntimeError("its worker stopped mid-job; enqueued again"))
            job.task.enqueue(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])
            logger.warning("Job %s (%s) stalled; enqueued again", pk, job.task_path)
            recovered += 1
    return {"recovered": recovered}


# --- Slots -------------------------------------------------------------------------------


def every(minutes: int) -> Callable[[datetime.datetime], datetime.datetime | None]:
    def slot(now: datetime.datetime) -> datetime.datetime:
        now = now.astimezone(datetime.UTC)
        return now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)

    return slot


def daily_from(hour: int) -> Callable[[datetime.datetime], datetime.datetime | None]:
    """The day's slot (local midnight in settings.COHORT_TIME_ZONE) once it is ``hour``
    o'clock there; None before that."""

    def slot(now: datetime.datetime) -> datetime.datetime | None:
        local = now.astimezone(zoneinfo.ZoneInfo(settings.COHORT_TIME_ZONE))
        if local.hour < hour:
            return None
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    return slot


@dataclass(frozen=True)
class Periodic:
    name: str
    slot: Callable[[datetime.datetime], datetime.datetime | None]
    enqueue: Callable[[datetime.datetime], Any]  # given the slot
    # Checked first: a job with nothing to do is not enqueued (nor its slot taken).
    wanted: Callable[[datetime.datetime], bool] = lambda now: True


def _emails_due(now: datetime.datetime) -> bool:
    return Notification.objects.email_due(now).exists()


PERIODIC = (
    Periodic("due_reminders", every(15), lambda slot: notification_tasks.notify_due_soon.enqueue()),
    Periodic(
        "email_sweep",
        every(1),
        lambda slot: notification_tasks.deliver_emails.enqueue(),
        wanted=_emails_due,
    ),
    Periodic("expire_attempts", every(1), lambda slot: expire_attempts.enqueue()),
    Periodic(
        "daily_digest",
        daily_from(DIGEST_HOUR),
        lambda slot: notification_tasks.send_daily_digest.enqueue(slot.date().isoformat()),
    ),
    Periodic("prune_job_history", daily_from(3), lambda slot: prune_job_history.enqueue()),
    Periodic("recover_stalled_jobs", every(15), lambda slot: recover_stalled_jobs.enqueue()),
)


def _once(name: str, slot: datetime.datetime, now: datetime.datetime, enqueue: Callable) -> bool:
    """Insert the (name, slot) row and enqueue, together or not at all. False when another
    scheduler has done it for this slot."""
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(name=name, slot=slot, enqueued_at=now)
            enqueue()
    except IntegrityError:
        return False
    return True


def _released_at_due(now: datetime.datetime) -> list[tuple[int, datetime.datetime]]:
    """(assignment id, last due date) of the at-due assignments whose last due date (its
    own, or a later one granted) has passed within RELEASE_LOOKBACK. One query."""
    since = now - RELEASE_LOOKBACK
    candidates = (
        Assignment.objects.filter(release=Assignment.Release.AT_DUE, due_at__lte=now)
        # Either date recent; the maximum below is then over every grant that matters.
        .filter(Q(due_at__gte=since) | Q(grants__due_at__gte=since))
        .annotate(latest_grant=Max("grants__due_at"))
        .values_list("pk", "due_at", "latest_grant")
    )
    released = []
    for pk, due_at, latest_grant in candidates:
        last_due = max(due_at, latest_grant) if latest_grant else due_at
        if since <= last_due <= now:
            released.append((pk, last_due))
    return released


def tick(*, now: datetime.datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose slot has come and that no scheduler has enqueued
    for that slot. Returns the names of the runs this call enqueued."""
    now = now or timezone.now()
    enqueued = []
    for job in PERIODIC:
        slot = job.slot(now)
        if slot is None or not job.wanted(now):
            continue
        if _once(job.name, slot, now, lambda j=job, s=slot: j.enqueue(s)):
            enqueued.append(job.name)
    released = {f"results_released:{pk}": (pk, last_due) for pk, last_due in _released_at_due(now)}
    done = set(ScheduledRun.objects.filter(name__in=released).values_list("name", "slot"))
    for name, (pk, last_due) in released.items():
        if (name, last_due) in done:
            continue
        enqueue = lambda pk=pk: notification_tasks.notify_results_released.enqueue(pk)  # noqa: E731
        if _once(name, last_due, now, enqueue):
            enqueued.append(name)
    if enqueued:
        logger.info("Scheduler enqueued: %s", ", ".join(enqueued))
    return enqueued
