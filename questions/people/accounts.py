"""Residents' accounts: signing up (the user and their profile, together or not at all) and
the resident's own settings. The forms check what was typed; these functions check it again
against the models (``full_clean``) and save it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction

from questions.models import ResidentProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def sign_up(
    *, username: str, email: str, password: str, program: str, training_year: int | None
) -> User:
    """Create a resident's account (no staff rights) with its profile: both or neither.
    ``password`` is the raw password, stored hashed. Raises ValidationError."""
    user = get_user_model()(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    profile = ResidentProfile(user=user, program=program, training_year=training_year)
    profile.full_clean()
    profile.save()
    return user


def profile_for(user) -> ResidentProfile:
    """``user``'s profile, created with the defaults if they have none yet (an account made
    by an educator, or before profiles existed)."""
    return ResidentProfile.objects.get_or_create(user=user)[0]


@transaction.atomic
def update_profile(
    *,
    profile: ResidentProfile,
    program: str,
    training_year: int | None,
    time_setting: str,
    has_keyboard_shortcuts: bool,
) -> ResidentProfile:
    """Save the resident's own settings. Raises ValidationError."""
    profile.program = program
    profile.training_year = training_year
    profile.time_setting = time_setting
    profile.has_keyboard_shortcuts = has_keyboard_shortcuts
    profile.full_clean()
    profile.save()
    return profile
