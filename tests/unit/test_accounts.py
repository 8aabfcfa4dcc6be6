"""Residents' accounts (people.accounts): signing up with a profile, both or neither, and
the resident's own settings, checked against the models before anything is saved."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from questions.models import ResidentProfile
from questions.people import accounts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

SIGN_UP = {
    "username": "newresident",
    "email": "new.resident@example.org",
    "password": "a-long-raw-password",
    "program": "Physical medicine",
    "training_year": 2,
}


def error_codes(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str | None]:
    return [error.code for error in exc.value.error_dict[field]]


def test_signing_up_saves_a_resident_with_a_hashed_password_and_a_profile():
    user = accounts.sign_up(**SIGN_UP)

    saved = User.objects.get(username="newresident")
    assert saved == user
    assert (saved.is_staff, saved.is_superuser, saved.is_active) == (False, False, True)
    assert saved.password != "a-long-raw-password"
    assert saved.check_password("a-long-raw-password")
    profile = ResidentProfile.objects.get(user=saved)
    assert (profile.program, profile.training_year) == ("Physical medicine", 2)


def test_signing_up_without_a_training_year_leaves_it_blank():
    user = accounts.sign_up(**SIGN_UP | {"training_year": None})
    assert ResidentProfile.objects.get(user=user).training_year is None


def test_signing_up_normalizes_the_email_domain_before_saving():
    accounts.sign_up(**SIGN_UP | {"email": "New.Resident@Example.ORG"})
    assert User.objects.get(username="newresident").email == "New.Resident@example.org"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"username": "taken"}, "username", "unique"),
        ({"username": "no spaces!"}, "username", "invalid"),
        ({"username": ""}, "username", "blank"),
        ({"email": "not-an-email"}, "email", "invalid"),
        # The user is valid: these are refused by the profile, after the user was saved.
        ({"training_year": 8}, "training_year", "invalid_choice"),
        ({"training_year": 0}, "training_year", "invalid_choice"),
        ({"program": "x" * 201}, "program", "max_length"),
    ],
    ids=[
        "username-taken",
        "username-invalid",
        "username-blank",
        "email-invalid",
        "year-beyond-7",
        "year-0",
        "program-too-long",
    ],
)
def test_an_invalid_sign_up_saves_neither_user_nor_profile(overrides, field, code):
    UserFactory(username="taken")
    users, profiles = User.objects.count(), ResidentProfile.objects.count()

    with pytest.raises(ValidationError) as exc:
        accounts.sign_up(**SIGN_UP | overrides)

    assert code in error_codes(exc, field)
    assert User.objects.count() == users
    assert ResidentProfile.objects.count() == profiles
    assert not User.objects.filter(username=SIGN_UP["username"]).exists()


def test_profile_for_a_user_without_one_creates_it_with_the_defaults(resident):
    profile = accounts.profile_for(resident)

    saved = ResidentProfile.objects.get(user=resident)
    assert saved.pk == profile.pk
    assert (saved.program, saved.training_year) == ("", None)
    assert saved.time_setting == ResidentProfile.TimeSetting.STANDARD
    assert saved.has_keyboard_shortcuts is True


def test_profile_for_returns_the_existing_profile_unchanged(resident):
    existing = ResidentProfile.objects.create(
        user=resident, program="Neurology", training_year=3, time_setting="x2"
    )

    profile = accounts.profile_for(resident)

    assert profile.pk == existing.pk
    assert (profile.program, profile.training_year, profile.time_setting) == (
        "Neurology",
        3,
        "x2",
    )
    assert ResidentProfile.objects.filter(user=resident).count() == 1


@pytest.fixture
def profile(resident):
    return ResidentProfile.objects.create(user=resident, program="Neurology", training_year=3)


SETTINGS = {
    "program": "Physical medicine",
    "training_year": 4,
    "time_setting": ResidentProfile.TimeSetting.EXTENDED_1_5,
    "has_keyboard_shortcuts": False,
}


def test_updating_the_profile_saves_every_setting(profile):
    accounts.update_profile(profile=profile, **SETTINGS)

    saved = ResidentProfile.objects.get(pk=profile.pk)
    assert (saved.program, saved.training_year, saved.time_setting) == (
        "Physical medicine",
        4,
        "x1.5",
    )
    assert saved.has_keyboard_shortcuts is False
    assert saved.time_multiplier == 1.5


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"time_setting": "x3"}, "time_setting", "invalid_choice"),
        ({"time_setting": ""}, "time_setting", "blank"),
        ({"training_year": 8}, "training_year", "invalid_choice"),
        ({"program": "x" * 201}, "program", "max_length"),
    ],
    ids=["time-x3", "time-blank", "year-beyond-7", "program-too-long"],
)
def test_an_invalid_setting_saves_none_of_the_settings(profile, overrides, field, code):
    with pytest.raises(ValidationError) as exc:
        accounts.update_profile(profile=profile, **SETTINGS | overrides)

    assert code in error_codes(exc, field)
    saved = ResidentProfile.objects.get(pk=profile.pk)
    assert (saved.program, saved.training_year, saved.time_setting) == (
        "Neurology",
        3,
        ResidentProfile.TimeSetting.STANDARD,
    )
    assert saved.has_keyboard_shortcuts is True
