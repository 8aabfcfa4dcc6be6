import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from questions.people.roles import EDUCATORS_GROUP
from tests.factories import UserFactory


@pytest.fixture
def educator(db):
    user = UserFactory(username="educator1", is_staff=True)
    user.groups.add(Group.objects.get(name=EDUCATORS_GROUP))
    return user


@pytest.fixture
def resident(db):
    return UserFactory(username="resident1")


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
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
