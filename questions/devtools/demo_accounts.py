"""The demo accounts ``make run`` creates (only when debug is on)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from questions.people.roles import ensure_educators_group


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


DEMO_ACCOUNTS = (
    DemoAccount("resident", "resident-demo-2026", "resident"),
    DemoAccount("educator", "educator-demo-2026", "educator"),
)


class DemoAccountsRefused(Exception):
    pass


@transaction.atomic
def create_demo_accounts() -> tuple[DemoAccount, ...]:
    """Create (or reset the passwords of) the demo resident and educator. Debug only: demo
    credentials are public, so they must never exist on a production site."""
    if not settings.DEBUG:
        raise DemoAccountsRefused(
            "Demo accounts are created only when DJANGO_DEBUG is on: their passwords are public."
        )
    User = get_user_model()
    educators = ensure_educators_group()
    for account in DEMO_ACCOUNTS:
        user, _ = User.objects.get_or_create(username=account.username)
        user.set_password(account.password)
        user.is_staff = account.role == "educator"
        user.is_superuser = False
        user.save()
        if account.role == "educator":
            user.groups.add(educators)
    from questions.devtools.demo import seed_demo_activity

    seed_demo_activity(
        educator=User.objects.get(username="educator"),
        resident=User.objects.get(username="resident"),
    )
    return DEMO_ACCOUNTS
