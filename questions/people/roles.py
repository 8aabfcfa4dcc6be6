"""Roles: the Educators group and its permissions, and who a login attempt is for (the
username and client address django-axes locks out)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission

EDUCATORS_GROUP = "Educators"

# model name -> actions granted to educators
EDUCATOR_PERMISSIONS = {
    "question": ("add", "change", "view"),
    "choice": ("add", "change", "delete", "view"),
    "citation": ("add", "change", "delete", "view"),
    "reference": ("add", "change", "view"),
    "diagram": ("add", "change", "view"),
    "topic": ("view",),
    "sitesetting": ("view", "change"),
    "cohort": ("add", "change", "view"),
    # Changed through quizzes.control (the admin's save too); created on the cohort page.
    "assignment": ("view", "change"),
    # Made on the cohort pages only, each change logged: read here.
    "accommodation": ("view",),
    "assignmentgrant": ("view",),
    "cohortlogentry": ("view",),
    "errorreport": ("view", "change"),
    "statuschange": ("view",),
    "historicalquestion": ("view",),
    "historicalchoice": ("view",),
    "historicalcitation": ("view",),
    "historicalreference": ("view",),
    "historicaldiagram": ("view",),
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
