"""What the site tells people (``Notification``: the bell, and the e-mail outbox) and the
scheduler's record of the periodic jobs it has enqueued (``ScheduledRun``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def email_due(self, now) -> NotificationQuerySet:
        """E-mails waiting to go out whose next try has come."""
        return self.filter(email_status=Notification.EmailStatus.PENDING).filter(
            Q(email_next_try_at__isnull=True) | Q(email_next_try_at__lte=now)
        )


class Notification(models.Model):
    """One thing a person is told, once: shown under the bell until read, and e-mailed
    when mail is configured and their preference allows.

    ``key`` names the event (for example ``assignment-set:12``); one row per person and
    key, so an event that is handled twice (a retried job, two schedulers) tells nobody
    twice. The e-mail is an outbox: pending until sent, retried with back-off while the
    mail server is down, and marked sent under the row's lock, so it goes out once."""

    class Kind(models.TextChoices):
        ASSIGNMENT_SET = "assignment_set", "New assignment"
        ASSIGNMENT_DUE = "assignment_due", "Assignment due soon"
        RESULTS_RELEASED = "results_released", "Results released"
        REPORT_ANSWERED = "report_answered", "Error report answered"
        DIGEST = "digest", "Daily digest"

    class EmailStatus(models.TextChoices):
        NOT_SENT = "not_sent", "Not e-mailed"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.NOT_SENT
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_try_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_event")
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["email_status"], name="notification_email_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (to {self.user})"


class ScheduledRun(models.Model):
    """A periodic job the scheduler enqueued for one time slot. The row is inserted before
    the job is enqueued, in the same transaction; a second scheduler (another host, the
    same minute) hits the unique constraint and enqueues nothing."""

    name = models.CharField(max_length=60)
    slot = models.DateTimeField(help_text="The start of the period this run covers.")
    enqueued_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M}"
