"""Shared fixtures; the markers given by directory; the Hypothesis profiles."""

import contextlib
import json
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

from questions.interchange import transfer
from questions.models import Question
from questions.people.roles import EDUCATORS_GROUP
from tests.factories import PublishableQuestionFactory, UserFactory

TESTS = Path(__file__).resolve().parent
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, ... under pytest -n

# --- Markers ---------------------------------------------------------------------------

# Each of these directories' tests carries the marker of its name (registered in
# pyproject.toml); `slow` is given test by test in unit/ and views/. The quick loop:
# pytest -m "not browser and not fuzz and not load and not slow" -n auto
DIRECTORY_MARKERS = ("browser", "fuzz", "load")


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            directory = item.path.relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if directory in DIRECTORY_MARKERS:
            item.add_marker(getattr(pytest.mark, directory))


# --- Hypothesis (tests/fuzz) -------------------------------------------------------------

# Hypothesis keeps caches (unicode tables, constants from the code) in its home directory,
# ./.hypothesis by default: keep them out of the repository, one per pytest-xdist worker
# (two processes never write the same cache file). No example database is kept either.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"quizsite-hypothesis-{WORKER}")

# Profiles. "ci" runs every fuzz test's examples as written in its fuzz_settings(n), with a
# reproduction blob for any failure; "dev" runs a quarter of them (tests/fuzz/helpers.py,
# EXAMPLE_SHARE). HYPOTHESIS_PROFILE chooses; without it, CI set (to anything but false or
# 0) means "ci", else "dev". `pytest --hypothesis-profile=...` wins over both (the plugin
# loads it after this module). Registered here, not in tests/fuzz/conftest.py, because only
# this conftest is imported before that option is read.
FUZZ_PROFILE = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
hypothesis_settings.register_profile("ci", print_blob=True, **FUZZ_PROFILE)
hypothesis_settings.register_profile("dev", **FUZZ_PROFILE)


def _hypothesis_profile() -> str:
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    return "ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev"


hypothesis_settings.load_profile(_hypothesis_profile())


def pytest_report_header(config):
    return f"fuzz examples: hypothesis profile {hypothesis_settings.get_current_profile_name()!r}"


# --- Data built once per module ----------------------------------------------------------

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """Rows built once for a module's tests. Call the value (a context manager) to write
    them, from a module-scoped fixture; they live in a transaction rolled back after the
    module's last test. Each test's own transaction nests in it as a savepoint, so the tests
    still see nothing of each other's writes. Not for a module with transactional tests
    (``transaction=True``, ``live_server``): those would commit or flush the module's rows."""

    @contextlib.contextmanager
    def building():
        # The tests' own settings that matter to the rows (see _fast_password_hashing).
        with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            yield

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
    try:
        yield building
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- Shared fixtures ---------------------------------------------------------------------


@pytest.fixture
def educator(db):
    user = UserFactory(username="educator1", is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@pytest.fixture
def resident(db):
    return UserFactory(username="resident1")


@pytest.fixture
def json_bank_upload(db):
    """A one-question bank file in the JSON export format, as an educator uploads it to the
    admin's import page (a copy of a published question under a new key)."""
    source = PublishableQuestionFactory()
    data = json.loads(transfer.export_questions(Question.objects.filter(pk=source.pk), "json"))
    data["questions"][0]["key"] = "imported-question"
    return SimpleUploadedFile("bank.json", json.dumps(data).encode(), "application/json")


@pytest.fixture
def educator_client(client, educator):
    client.force_login(educator)
    return client


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests run with debug off but without `collectstatic`: serve static names unhashed."""
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 at production strength costs ~0.3 s a user; tests create hundreds."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """The test client and the live server speak plain HTTP; production redirects to HTTPS
    (tested on its own in tests/views/test_security.py)."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached statistics (stats.bank_item_stats) must not carry over from another test's
    data."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Every test counts its requests against the rate limits (questions/people/limits.py)
    from zero: its counters get a key prefix of their own. Clearing the "ratelimit" cache
    would not do: without Redis it is a database table, which a test without database access
    may not touch, and which a live-server test's commits would carry over to the next."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"
