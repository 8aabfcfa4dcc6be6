"""A checked import file, kept between its dry run and the educator's "Import these changes".

The file (up to 5 MB) is kept in Django's cache, not in the session, under a random token
that the confirm form carries, for ``STAGED_SECONDS``. A staged file belongs to the user
who checked it, is used once, and is replaced by the same user's next check (as one
pending import per user). An unknown, expired, used or another user's token finds nothing.

The cache is the ``staging`` alias, shared by every process that serves the admin: a
database table (made by every ``migrate``), with or without Redis, so the confirm finds the
file whichever worker ran the check, and a Redis restart in between loses nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.core.cache import BaseCache, caches

__all__ = ["STAGED_SECONDS", "StagedImport", "stage_import", "take_staged_import"]

STAGED_SECONDS = 60 * 60
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)


@dataclass(frozen=True)
class StagedImport:
    text: str
    fmt: str


def _store() -> BaseCache:
    return caches["staging"]


def _file_key(token: str) -> str:
    return f"question-import:file:{token}"


def _user_key(user_id: int) -> str:
    return f"question-import:user:{user_id}"


def stage_import(*, text: str, fmt: str, user_id: int) -> str:
    """Keep a checked file (its text and format) for ``user_id``; returns its token."""
    previous = _store().get(_user_key(user_id))
    if previous:
        _store().delete(_file_key(previous))
    token = secrets.token_urlsafe(16)
    staged = {"text": text, "format": fmt, "user_id": user_id}
    _store().set(_file_key(token), staged, timeout=STAGED_SECONDS)
    _store().set(_user_key(user_id), token, timeout=STAGED_SECONDS)
    return token


def take_staged_import(*, token: object, user_id: int) -> StagedImport | None:
    """The file ``user_id`` staged under ``token``, removed so that it is used once; None
    when the token is malformed, unknown, expired, already used or another user's."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    staged = _store().get(_file_key(token))
    if not isinstance(staged, dict) or staged.get("user_id") != user_id:
        return None
    if not _store().delete(_file_key(token)):  # two confirms at once: one of them takes it
        return None
    if _store().get(_user_key(user_id)) == token:
        _store().delete(_user_key(user_id))
    return StagedImport(text=staged["text"], fmt=staged["format"])
