"""Roles: the "Educators" group, and the demo accounts that `make run` creates.

Educators are staff users in the Educators group. The group may author the bank (questions,
choices, citations, references, topics) and read its history, but holds no permission on
users or groups, so an educator cannot manage accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

EDUCATORS_GROUP = "Educators"

# model name -> actions granted to educators
EDUCATOR_PERMISSIONS = {
    "question": ("add", "change", "view"),
    "choice": ("add", "change", "delete", "view"),
    "citation": ("add", "change", "delete", "view"),
    "reference": ("add", "change", "view"),
    "topic": ("view",),
    "sitesetting": ("view", "change"),
    "cohort": ("add", "change", "view"),
    "assignment": ("view",),
    "errorreport": ("view", "change"),
    "statuschange": ("view",),
    "historicalquestion": ("view",),
    "historicalchoice": ("view",),
    "historicalcitation": ("view",),
    "historicalreference": ("view",),
}


def ensure_educators_group() -> Group:
    """Create the Educators group, or reset its permissions to exactly the list above."""
    group, _ = Group.objects.get_or_create(name=EDUCATORS_GROUP)
    codenames = [
        f"{action}_{model}" for model, actions in EDUCATOR_PERMISSIONS.items() for action in actions
    ]
    permissions = Permission.objects.filter(
        content_type__app_label="questions", codename__in=codenames
    )
    group.permissions.set(permissions)
    return group


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
    from .demo import seed_demo_activity  # demo imports the engine, which imports models

    seed_demo_activity(
        educator=User.objects.get(username="educator"),
        resident=User.objects.get(username="resident"),
    )
    return DEMO_ACCOUNTS


def login_username(request, credentials) -> str:
    """The username django-axes records for a login: what was typed, cut to the length a
    username can have (a longer one cannot exist, and would not fit its log)."""
    typed = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(typed)[:150]


def login_client_ip(request) -> str | None:
    """The address django-axes locks out: REMOTE_ADDR, or, behind ``PROXY_COUNT`` trusted
    proxies, the address the outermost proxy received the request from. Each proxy appends
    the address it saw to X-Forwarded-For, so that is the PROXY_COUNT-th entry from the
    right; anything to its left was written by the client and is not trusted.

    Not django-ipware: its proxy count expects the proxies' own addresses in the header,
    and with a single nginx in front (X-Forwarded-For holding only the client) it finds
    no address at all."""
    count = settings.PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR")
    if not count:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-count] if len(hops) >= count else remote
