"""A checked import file kept under a token between the dry run and the confirmation
(questions.interchange.staging): the cache, not the session; once, and by its user only."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

from questions.interchange.staging import stage_import, take_staged_import

pytestmark = pytest.mark.django_db


def test_the_staging_cache_is_shared_by_every_worker():
    """The confirm may reach another gunicorn worker than the check: a per-process cache
    (local memory, Django's default) would lose the file there. It is a database table even
    with Redis, so a Redis restart between the check and the confirm loses nothing."""
    assert isinstance(caches["staging"], DatabaseCache)


def test_a_staged_file_is_taken_once_by_its_user():
    token = stage_import(text="[]", fmt="json", user_id=1)
    assert take_staged_import(token=token, user_id=2) is None  # another user's
    staged = take_staged_import(token=token, user_id=1)
    assert (staged.text, staged.fmt) == ("[]", "json")
    assert take_staged_import(token=token, user_id=1) is None  # used


def test_a_new_check_replaces_the_users_staged_file():
    first = stage_import(text="a", fmt="csv", user_id=1)
    other_user = stage_import(text="b", fmt="csv", user_id=2)
    second = stage_import(text="c", fmt="moodle", user_id=1)
    assert take_staged_import(token=first, user_id=1) is None
    assert take_staged_import(token=second, user_id=1).text == "c"
    assert take_staged_import(token=other_user, user_id=2).text == "b"


def test_an_expired_unknown_or_malformed_token_finds_nothing():
    token = stage_import(text="[]", fmt="json", user_id=1)
    caches["staging"].clear()  # what expiry does
    for junk in (token, "x" * 22, "", None, ["a"], "../../etc/passwd", "a b" * 10, "\x00" * 22):
        assert take_staged_import(token=junk, user_id=1) is None
