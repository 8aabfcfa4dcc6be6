"""The bell: a person's notifications, how many are unread, and marking them read."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from questions.models import Notification

LIST_LENGTH = 100


def unread_count(user) -> int:
    """One query."""
    return Notification.objects.filter(user=user).unread().count()


def recent(user):
    """The newest LIST_LENGTH notifications of ``user``, newest first."""
    return Notification.objects.filter(user=user)[:LIST_LENGTH]


@transaction.atomic
def mark_read(*, user, notification_id: int, now: datetime.datetime | None = None) -> Notification:
    """Mark one of ``user``'s notifications read (kept as it was if read already).
    Raises Notification.DoesNotExist for another person's or a missing one."""
    notification = Notification.objects.select_for_update().get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(*, user, now: datetime.datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; one query. Returns how many."""
    return Notification.objects.filter(user=user).unread().update(read_at=now or timezone.now())


def safe_link(notification: Notification) -> str | None:
    """The notification's link if it is a path on this site (never another host: a row's
    url is written by the site, but the redirect checks anyway); None otherwise."""
    url = notification.url
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return None
