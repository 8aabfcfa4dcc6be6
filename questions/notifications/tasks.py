"""The notification jobs (django-tasks). Each is safe to run twice and retried on failure
(``retrying.retried``): the fan-outs create rows unique per person and event, and the
delivery sends each e-mail under its row's lock.

Arguments are ids and ISO dates (JSON); each job reads the objects as they are when it
runs. A fan-out that leaves e-mails pending enqueues the delivery in its own transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from questions.models import Notification
from questions.notifications import fanout, outbox
from questions.notifications.retrying import retried


def _fan_out(tell: Callable[..., int], **kwargs) -> int:
    now = timezone.now()
    with transaction.atomic():
        told = tell(now=now, **kwargs)
        if told and Notification.objects.email_due(now).exists():
            deliver_emails.enqueue()
    return told


@task()
@retried()
def notify_assignment_set(assignment_id: int) -> int:
    return _fan_out(fanout.assignment_set, assignment_id=assignment_id)


@task()
@retried()
def notify_results_released(assignment_id: int) -> int:
    return _fan_out(fanout.results_released, assignment_id=assignment_id)


@task()
@retried()
def notify_report_answered(report_id: int) -> int:
    return _fan_out(fanout.report_answered, report_id=report_id)


@task()
@retried()
def notify_reports_answered(report_ids: list[int]) -> int:
    """A decision given to several reports at once (the admin's bulk action)."""
    return sum(_fan_out(fanout.report_answered, report_id=pk) for pk in report_ids)


@task()
@retried()
def notify_due_soon() -> int:
    """Enqueued by the scheduler every period (``questions.jobs``)."""
    return _fan_out(fanout.due_soon)


@task()
@retried()
def send_daily_digest(day: str) -> int:
    """``day``: the ISO date the scheduler's daily slot names (one digest a person a day)."""
    return _fan_out(fanout.daily_digest, day=datetime.date.fromisoformat(day))


@task()
@retried(attempts=3)
def deliver_emails() -> dict[str, int]:
    """Send the e-mails due (enqueued after a fan-out, and by the scheduler every minute
    for the retries whose time came). Returns how many were sent, retried, failed."""
    return dict(outbox.deliver_due())
