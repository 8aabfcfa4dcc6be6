"""Who belongs to which cohort: the cohorts an educator may follow (all of them for a
superuser), a resident joining one by its code, and a new cohort with its members."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from questions.models import Cohort, normalize_join_code


def cohorts_for(user) -> QuerySet[Cohort]:
    """The cohorts whose results ``user`` may follow."""
    if user.is_superuser:
        return Cohort.objects.all()
    return Cohort.objects.filter(educators=user)


class JoinRefused(Exception):
    """Why a resident could not join a cohort; the message is for the resident."""


def join_cohort(*, user, code: str) -> Cohort:
    """Add ``user`` to the residents of the cohort whose join code is ``code`` (any case,
    spaces ignored). Joining is the resident's act: it is what shares their results with
    the cohort's educators. Idempotent. Raises JoinRefused."""
    if user.is_staff:
        raise JoinRefused("Staff accounts follow cohorts as educators; they cannot join one.")
    # A malformed code (a NUL among others, which PostgreSQL refuses in a query) cannot
    # match any cohort, so it is not looked up.
    normalized = normalize_join_code(code)
    cohort = Cohort.objects.filter(join_code=normalized).first() if normalized else None
    if cohort is None:
        raise JoinRefused("No cohort has that code. Check it with your educator.")
    cohort.residents.add(user)
    return cohort


@transaction.atomic
def create_cohort(
    *, cohort: Cohort, by, educators: Iterable = (), residents: Iterable = ()
) -> Cohort:
    """Save ``cohort``, new (its fields set, not yet saved), with its ``educators`` and
    ``residents``. Whoever creates it (``by``) becomes one of its educators, so that it is
    theirs to follow; a superuser, who follows every cohort, is listed only if chosen.
    Raises ValidationError."""
    cohort.full_clean()
    cohort.save()
    cohort.educators.set(educators)
    cohort.residents.set(residents)
    if not by.is_superuser:
        cohort.educators.add(by)
    return cohort
