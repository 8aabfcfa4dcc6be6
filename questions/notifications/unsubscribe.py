"""Unsubscribing from notification e-mails without logging in.

Every e-mail carries a link with a signed token naming its recipient (django.core.signing
with this module's salt, so a token signed for another purpose is refused). The token has
no expiry: the link in an old e-mail keeps working. It can only ever turn e-mail off, so
someone who forwards an e-mail lets its reader do no more than that."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse

from questions.models import Notification, ResidentProfile

SALT = "questions.notifications.unsubscribe"


class BadToken(Exception):
    """The token was altered, signed for something else, or names nobody."""


def token_for(user) -> str:
    return signing.dumps({"u": user.pk}, salt=SALT)


def url_for(user) -> str:
    """The unsubscribe page's path for ``user`` (GET: confirm; POST: unsubscribe)."""
    return reverse("questions:notification_unsubscribe", args=[token_for(user)])


def user_for(token: str):
    """The user a token names. Raises BadToken."""
    try:
        data = signing.loads(token, salt=SALT)
        pk = int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise BadToken("This unsubscribe link is not valid.") from exc
    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        raise BadToken("This unsubscribe link is not valid.")
    return user


@transaction.atomic
def unsubscribe(*, user) -> None:
    """Turn off ``user``'s notification e-mails (preference: none) and drop those waiting
    in the outbox. The notifications stay under the bell."""
    profile, _ = ResidentProfile.objects.get_or_create(user=user)
    if profile.email_notifications != ResidentProfile.EmailNotifications.NONE:
        profile.email_notifications = ResidentProfile.EmailNotifications.NONE
        profile.save(update_fields=["email_notifications"])
    Notification.objects.filter(user=user, email_status=Notification.EmailStatus.PENDING).update(
        email_status=Notification.EmailStatus.NOT_SENT
    )
