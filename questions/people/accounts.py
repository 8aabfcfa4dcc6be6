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


# The quiz page's display and tool preferences: what update_profile and
# set_quiz_preferences may change besides the profile's own fields.
QUIZ_PREFERENCES = (
    "text_size",
    "is_timer_hidden",
    "has_strikeout",
    "has_highlighter",
    "has_notes",
    "has_question_timer",
)


@transaction.atomic
def update_profile(
    *,
    profile: ResidentProfile,
    program: str,
    training_year: int | None,
    time_setting: str,
    has_keyboard_shortcuts: bool,
    email_notifications: str | None = None,
    **preferences: str | bool,
) -> ResidentProfile:
    """Save the resident's own settings; ``preferences`` are QUIZ_PREFERENCES fields (those
    not given stay), as is ``email_notifications`` (all, assignments, none) when None.
    Raises ValidationError, TypeError for another keyword."""
    profile.program = program
    profile.training_year = training_year
    profile.time_setting = time_setting
    profile.has_keyboard_shortcuts = has_keyboard_shortcuts
    if email_notifications is not None:
        profile.email_notifications = email_notifications
    _apply(profile, preferences)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def set_quiz_preferences(*, user, **preferences: str | bool) -> ResidentProfile:
    """Change some of the quiz page's display preferences (the text size, the hidden
    clock) from the quiz page itself. Raises ValidationError (nothing saved)."""
    profile = profile_for(user)
    _apply(profile, preferences)
    profile.full_clean()
    profile.save(update_fields=list(preferences))
    return profile


def _apply(profile: ResidentProfile, preferences: dict) -> None:
    unknown = set(preferences) - set(QUIZ_PREFERENCES)
    if unknown:
        raise TypeError(f"not a quiz preference: {sorted(unknown)}")
    for name, value in preferences.items():
        setattr(profile, name, value)
