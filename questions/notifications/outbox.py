"""Creating notifications, and the e-mail outbox.

``notify`` writes one ``Notification`` per person for an event (its ``key``): a person
already told about that event is skipped by the unique (user, key) constraint, so a job
that runs twice tells nobody twice. Each row is ``pending`` for e-mail when mail is
configured (settings.NOTIFICATION_EMAIL_ENABLED), the person has an address, and their
``ResidentProfile.email_notifications`` allows that kind.

``deliver_due`` sends the pending e-mails whose time has come. Each is claimed under its
row's lock (``select_for_update(skip_locked=True)``, an exclusive transaction on SQLite),
sent, and marked sent in the same transaction: two delivery jobs at once never send one
twice. A mail server that refuses or is down (``OSError``, which ``smtplib``'s errors are)
leaves the row pending with ``email_attempts`` + 1 and a later ``email_next_try_at``
(exponential back-off), logged as a warning; after ``MAX_EMAIL_ATTEMPTS`` it is ``failed``,
logged as an error. Nothing is lost while the server is down: the next sweep after it
returns sends what waited."""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from questions.models import Notification, ResidentProfile
from questions.notifications import unsubscribe

logger = logging.getLogger(__name__)

Kind = Notification.Kind
Preference = ResidentProfile.EmailNotifications
EmailStatus = Notification.EmailStatus

MAX_EMAIL_ATTEMPTS = 10
FIRST_RETRY = datetime.timedelta(minutes=1)
LONGEST_RETRY = datetime.timedelta(hours=6)
# The kinds an "only about assignments" preference still e-mails.
ASSIGNMENT_KINDS = frozenset({Kind.ASSIGNMENT_SET, Kind.ASSIGNMENT_DUE, Kind.RESULTS_RELEASED})


@dataclass(frozen=True)
class Message:
    """What an event tells one person: the row's text and the page it links to."""

    title: str
    body: str
    url: str


def email_allowed(*, kind: str, preference: str) -> bool:
    """Whether a preference (all, assignments, none) lets this kind go by e-mail. An
    educator's daily digest goes unless they chose none."""
    if preference == Preference.NONE:
        return False
    if preference == Preference.ASSIGNMENTS:
        return kind in ASSIGNMENT_KINDS or kind == Kind.DIGEST
    return True


def _preferences(user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's e-mail preference; a user without a profile has the default (all)."""
    return dict(
        ResidentProfile.objects.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "email_notifications"
        )
    )


def notify(
    *, users: Iterable, kind: str, key: str, message: Message | dict, now: datetime.datetime
) -> int:
    """Tell each of ``users`` about the event ``key``; ``message`` is one Message for all,
    or a Message per user id. Returns how many rows were offered (those who were told
    before are skipped by the database). Two queries: preferences, one insert."""
    users = list(users)
    if not users:
        return 0
    mail_on = settings.NOTIFICATION_EMAIL_ENABLED
    preferences = _preferences(u.pk for u in users) if mail_on else {}
    rows = []
    for user in users:
        text = message[user.pk] if isinstance(message, dict) else message
        emailed = (
            mail_on
            and bool(user.email)
            and email_allowed(kind=kind, preference=preferences.get(user.pk, Preference.ALL))
        )
        rows.append(
            Notification(
                user=user,
                kind=kind,
                key=key,
                title=text.title[:200],
                body=text.body,
                url=text.url,
                created_at=now,
                email_status=EmailStatus.PENDING if emailed else EmailStatus.NOT_SENT,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- Delivery ---------------------------------------------------------------------------------


def next_try_after(attempts: int) -> datetime.timedelta:
    """The wait after the ``attempts``-th failed try: 1 min, 2, 4, ... at most 6 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def absolute(path: str) -> str:
    """A link in an e-mail: the site's address (settings.SITE_URL) and the path."""
    return settings.SITE_URL.rstrip("/") + path


def build_email(notification: Notification, connection=None) -> EmailMultiAlternatives:
    """The e-mail of a notification: plain text and simple HTML, with the unsubscribe link in
    its footer and as List-Unsubscribe (RFC 2369) with one-click POST (RFC 8058)."""
    user = notification.user
    unsubscribe_url = absolute(unsubscribe.url_for(user))
    context = {
        "notification": notification,
        "user": user,
        "link": absolute(notification.url) if notification.url else "",
        "settings_url": absolute("/settings/"),
        "unsubscribe_url": unsubscribe_url,
    }
    message = EmailMultiAlternatives(
        subject=f"[Cluneal Board Review] {notification.title}",
        body=render_to_string("notifications/email.txt", context),
        to=[user.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # The same event never arrives as two e-mails (a mail client may thread them).
            "X-Notification-Key": notification.key,
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("notifications/email.html", context), "text/html")
    return message


@contextlib.contextmanager
def _claiming(using: str = "default") -> Iterator[None]:
    """A transaction that holds the claimed row until it is marked. PostgreSQL: the row lock
    of select_for_update. SQLite (no row locks): an exclusive transaction, as django-tasks'
    own worker takes to claim a job, so a second sender waits and then sees it sent."""
    connection = transaction.get_connection(using)
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    if not hasattr(connection, "transaction_mode"):
        connection.get_connection_params()
    previous = connection.transaction_mode
    connection.transaction_mode = "EXCLUSIVE"
    try:
        with transaction.atomic(using=using):
            yield
    finally:
        connection.transaction_mode = previous


def _still_wanted(notification: Notification) -> bool:
    """The preference now (they may have unsubscribed since the row was made) and the address."""
    if not notification.user.email:
        return False
    preference = (
        ResidentProfile.objects.filter(user_id=notification.user_id)
        .values_list("email_notifications", flat=True)
        .first()
    ) or Preference.ALL
    return email_allowed(kind=notification.kind, preference=preference)


def _deliver_one(pk: int, *, now: datetime.datetime, connection) -> tuple[str, bool]:
    """Claim, send and mark one pending e-mail. Returns what became of it ("sent",
    "skipped": no longer wanted, or claimed elsewhere; "retry"; "failed") and whether the
    failure was the server's rather than this recipient's. Raises nothing for a mail
    error; a database error propagates (the job is retried)."""
    with _claiming():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .email_due(now)
            .filter(pk=pk)
            .select_related("user")
            .first()
        )
        if notification is None:
            return "skipped", False  # sent or being sent by another job, or not due now
        if not _still_wanted(notification):
            notification.email_status = EmailStatus.NOT_SENT
            notification.save(update_fields=["email_status"])
            return "skipped", False
        try:
            build_email(notification, connection=connection).send()
        except OSError as exc:  # smtplib.SMTPException is an OSError, as are refused sockets
            server = not isinstance(exc, smtplib.SMTPRecipientsRefused)
            return _record_failure(notification, exc, now=now), server
        notification.email_status = EmailStatus.SENT
        notification.email_sent_at = now
        notification.email_attempts += 1
        notification.email_error = ""
        notification.save(
            update_fields=["email_status", "email_sent_at", "email_attempts", "email_error"]
        )
        return "sent", False


def _record_failure(notification: Notification, exc: OSError, *, now: datetime.datetime) -> str:
    notification.email_attempts += 1
    notification.email_error = f"{type(exc).__name__}: {exc}"[:300]
    if notification.email_attempts >= MAX_EMAIL_ATTEMPTS:
        notification.email_status = EmailStatus.FAILED
        notification.email_next_try_at = None
        logger.error(
            "E-mail of notification %s to user %s failed %d times, giving up: %s",
            notification.pk, notification.user_id, notification.email_attempts,
            notification.email_error,
        )  # fmt: skip
        outcome = "failed"
    else:
        notification.email_next_try_at = now + next_try_after(notification.email_attempts)
        logger.warning(
            "E-mail of notification %s to user %s failed (attempt %d), next try at %s: %s",
            notification.pk, notification.user_id, notification.email_attempts,
            notification.email_next_try_at.isoformat(), notification.email_error,
        )  # fmt: skip
        outcome = "retry"
    notification.save(
        update_fields=["email_status", "email_attempts", "email_error", "email_next_try_at"]
    )
    return outcome


def deliver_due(*, now: datetime.datetime | None = None, limit: int = 200) -> Counter:
    """Send up to ``limit`` pending e-mails whose next try has come, oldest first, each
    under its own lock and transaction. A failure that is not about one recipient (the
    server down or refusing) ends the sweep: the rest wait for the next one rather than
    each count a try against a server that is not there. Returns a Counter of outcomes."""
    now = now or timezone.now()
    due = list(
        Notification.objects.email_due(now)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: Counter = Counter()
    if not due:
        return outcomes
    connection = get_connection()
    try:
        for pk in due:
            outcome, server_failed = _deliver_one(pk, now=now, connection=connection)
            outcomes[outcome] += 1
            if server_failed:
                break
    finally:
        with contextlib.suppress(OSError):
            connection.close()
    return outcomes
