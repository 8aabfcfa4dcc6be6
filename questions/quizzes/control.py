"""What educators control on an assignment once it is set, and what each resident is
allowed on it.

- A resident's due date is the assignment's, or the later one an educator granted them
  (``AssignmentGrant.due_at``); their clock on a timed assignment is its time limit (or the
  standard pace) times the cohort's accommodation for them (``Accommodation``), plus any
  extra minutes granted. A resident's own time setting applies to practice only.
- An attempt in progress keeps the deadline it started with (``Attempt.clock_seconds``
  records its clock before the due date capped it). Only an educator's explicit change
  moves it: a moved due date (an edit, an early close) or a grant to that resident. The
  deadline is then recomputed as min(started + clock + extra minutes, the resident's due
  date), and never set before the moment of the change, so no answer already given falls
  after it.
- Every change is written to the cohort's log (``CohortLogEntry``) in the same transaction.
All functions take ``now`` so tests control time; it defaults to the server clock.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    Cohort,
    CohortLogEntry,
)
from questions.notifications import events
from questions.quizzes import engine, grading

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _grant(assignment: Assignment, resident) -> AssignmentGrant | None:
    return AssignmentGrant.objects.filter(assignment=assignment, resident=resident).first()


def resident_due_at(*, assignment: Assignment, resident) -> datetime.datetime:
    """The resident's due date: the assignment's, or a later one granted to them."""
    return due_with(assignment, _grant(assignment, resident))


def due_with(assignment: Assignment, grant: AssignmentGrant | None) -> datetime.datetime:
    """``resident_due_at`` from the resident's grant already read (None: no grant)."""
    if grant is not None and grant.due_at is not None and grant.due_at > assignment.due_at:
        return grant.due_at
    return assignment.due_at


def attempts_allowed(*, assignment: Assignment, resident) -> int:
    """How many attempts the resident may make: one, plus any an educator granted."""
    grant = _grant(assignment, resident)
    return 1 + (grant.extra_attempts if grant else 0)


def accommodation_for(*, cohort: Cohort, resident) -> Accommodation | None:
    return Accommodation.objects.filter(cohort=cohort, resident=resident).first()


def assignment_clock_seconds(
    *, assignment: Assignment, resident, question_count: int
) -> int | None:
    """The resident's clock on the assignment, in seconds, before the due date caps it:
    None for tutor mode or an untimed accommodation (only the due date then). The extra
    minutes of a grant are included. Two queries."""
    return clock_seconds_with(
        assignment,
        accommodation_for(cohort=assignment.cohort, resident=resident),
        _grant(assignment, resident),
        question_count=question_count,
    )


def clock_seconds_with(
    assignment: Assignment,
    accommodation: Accommodation | None,
    grant: AssignmentGrant | None,
    *,
    question_count: int,
) -> int | None:
    """``assignment_clock_seconds`` from the rows already read (the resident's
    accommodation in the assignment's cohort and grant on it, None for none), for pages
    that list many assignments in a fixed number of queries. No query."""
    if assignment.mode != Attempt.Mode.TIMED:
        return None
    multiplier = accommodation.multiplier if accommodation else 1.0
    if multiplier is None:
        return None
    if assignment.time_limit_minutes:
        seconds = round(assignment.time_limit_minutes * 60 * multiplier)
    else:
        seconds = (
            grading.time_limit_seconds(
                question_count=question_count,
                timed=True,
                multiplier=multiplier,
                seconds_per_question=settings.QUIZ_SECONDS_PER_QUESTION,
            )
            or 0
        )
    return seconds + (grant.extra_minutes * 60 if grant else 0)


def _log(
    *,
    cohort: Cohort,
    actor,
    action: str,
    summary: str,
    now: datetime.datetime,
    assignment: Assignment | None = None,
    resident=None,
) -> CohortLogEntry:
    return CohortLogEntry.objects.create(
        cohort=cohort,
        assignment=assignment,
        resident=resident,
        actor=actor,
        at=now,
        action=action,
        summary=summary[:500],
    )


def _follow(
    assignment: Assignment, now: datetime.datetime, *, resident=None, extra_seconds: int = 0
) -> int:
    """Recompute the deadline of the assignment's attempts in progress (one resident's when
    given) from their clock and their due date; returns how many changed. Called with the
    assignment (and any grant) already saved, inside the caller's transaction."""
    attempts = Attempt.objects.filter(assignment=assignment, status=Attempt.Status.IN_PROGRESS)
    if resident is not None:
        attempts = attempts.filter(user=resident)
    # One whose time ran out before the change is over, as of its deadline: a change made
    # afterwards gives it nothing back.
    engine.expire_overdue(attempts, now=now)
    attempts = attempts.select_for_update()
    grants = {g.resident_id: g for g in AssignmentGrant.objects.filter(assignment=assignment)}
    changed = 0
    for attempt in attempts:
        if extra_seconds and attempt.clock_seconds is not None:
            attempt.clock_seconds += extra_seconds
        due = due_with(assignment, grants.get(attempt.user_id))
        deadline = due
        if attempt.clock_seconds is not None:
            deadline = min(
                due, attempt.started_at + datetime.timedelta(seconds=attempt.clock_seconds)
            )
        # Never before the change itself: answers already given stay within the time.
        deadline = max(deadline, now)
        if deadline != attempt.deadline_at or extra_seconds:
            attempt.deadline_at = deadline
            attempt.time_limit_seconds = int((deadline - attempt.started_at).total_seconds())
            attempt.save(update_fields=["deadline_at", "time_limit_seconds", "clock_seconds"])
            changed += 1
    return changed


def _same_minute(a: datetime.datetime, b: datetime.datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _locked(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_for_update().select_related("cohort").get(pk=assignment.pk)


@transaction.atomic
def edit_assignment(
    *,
    assignment: Assignment,
    actor: User,
    title: str,
    opens_at: datetime.datetime,
    due_at: datetime.datetime,
    release: str,
    now: datetime.datetime | None = None,
) -> int:
    """Change an assignment's title, dates and release. A due date moved later extends it,
    moved earlier shortens it: attempts in progress follow (their deadline capped at the
    new due date, never before now). Returns how many attempts in progress changed.
    Raises ValidationError (nothing saved): due before opening, a due date in the past
    (close it instead), an unknown release."""
    now = _now(now)
    locked = _locked(assignment)
    before = (locked.title, locked.opens_at, locked.due_at, locked.release)
    # Forms post dates to the minute: the stored moment (an early close's seconds) stands
    # for the same minute typed back.
    opens_at = locked.opens_at if _same_minute(opens_at, locked.opens_at) else opens_at
    due_at = locked.due_at if _same_minute(due_at, locked.due_at) else due_at
    if due_at != locked.due_at and due_at <= now:
        raise ValidationError(
            "The new due date has passed; to end the assignment now, close it.", code="due_past"
        )
    locked.title, locked.opens_at, locked.due_at, locked.release = title, opens_at, due_at, release
    locked.full_clean()
    if before == (locked.title, locked.opens_at, locked.due_at, locked.release):
        return 0
    locked.save(update_fields=["title", "opens_at", "due_at", "release"])
    changed = _follow(locked, now) if due_at != before[2] else 0
    parts = []
    zone_text = locked.cohort.local_text
    if title != before[0]:
        parts.append(f"title “{before[0]}” → “{title}”")
    if opens_at != before[1]:
        parts.append(f"opens {zone_text(before[1])} → {zone_text(opens_at)}")
    if due_at != before[2]:
        parts.append(f"due {zone_text(before[2])} → {zone_text(due_at)}")
    if release != before[3]:
        parts.append(
            f"results released: {Assignment.Release(before[3]).label.lower()} → "
            f"{Assignment.Release(release).label.lower()}"
        )
    if changed:
        parts.append(f"{changed} attempt(s) in progress follow the new due date")
    action = CohortLogEntry.Action.EDITED
    if due_at > before[2]:
        action = CohortLogEntry.Action.EXTENDED
    _log(
        cohort=locked.cohort,
        assignment=locked,
        actor=actor,
        action=action,
        summary="; ".join(parts),
        now=now,
    )
    assignment.refresh_from_db()
    return changed


@transaction.atomic
def close_assignment(
    *, assignment: Assignment, actor: User, now: datetime.datetime | None = None
) -> int:
    """End the assignment now: its due date becomes now, so attempts in progress end now
    (as of now, scored as they stand) and nobody can start it. Grants of later due dates
    end too. Returns how many attempts in progress were ended. Raises ValidationError when
    it has not opened yet (archive it instead) or is already closed."""
    now = _now(now)
    locked = _locked(assignment)
    if now < locked.opens_at:
        raise ValidationError(
            "This assignment has not opened yet; archive it instead.", code="not_open"
        )
    if now >= locked.last_due_at:
        raise ValidationError("This assignment is already closed.", code="closed")
    old_due = locked.due_at
    locked.due_at = max(now, locked.opens_at + datetime.timedelta(seconds=1))
    locked.save(update_fields=["due_at"])
    AssignmentGrant.objects.filter(assignment=locked, due_at__gt=locked.due_at).update(
        due_at=locked.due_at
    )
    ended = _follow(locked, now)
    _log(
        cohort=locked.cohort,
        assignment=locked,
        actor=actor,
        action=CohortLogEntry.Action.CLOSED,
        summary=f"closed early (was due {locked.cohort.local_text(old_due)}); "
        f"{ended} attempt(s) in progress ended",
        now=now,
    )
    assignment.refresh_from_db()
    return ended


@transaction.atomic
def release_results(
    *, assignment: Assignment, actor: User, now: datetime.datetime | None = None
) -> None:
    """Release the scores and explanations now (whatever the release setting was):
    residents who finished see them, and are told. Raises ValidationError when they are
    already released."""
    now = _now(now)
    locked = _locked(assignment)
    if locked.results_released(now) and locked.release != Assignment.Release.IMMEDIATELY:
        raise ValidationError("The results are already released.", code="released")
    locked.release = Assignment.Release.MANUAL
    locked.released_at = now
    locked.save(update_fields=["release", "released_at"])
    _log(
        cohort=locked.cohort,
        assignment=locked,
        actor=actor,
        action=CohortLogEntry.Action.RELEASED,
        summary="results released to residents",
        now=now,
    )
    events.results_released(locked)
    assignment.refresh_from_db()


@transaction.atomic
def archive_assignment(
    *, assignment: Assignment, actor: User, now: datetime.datetime | None = None
) -> None:
    """Take the assignment off residents' lists: nobody can start or resume it, and
    attempts in progress are ended now. Results stay, and so do its release rules: its
    questions are held back until its due date and release, as before."""
    now = _now(now)
    locked = _locked(assignment)
    if locked.archived_at is not None:
        raise ValidationError("This assignment is already archived.", code="archived")
    for attempt in Attempt.objects.select_for_update().filter(
        assignment=locked, status=Attempt.Status.IN_PROGRESS
    ):
        if attempt.deadline_at is None or attempt.deadline_at > now:
            attempt.deadline_at = now
            attempt.time_limit_seconds = int((now - attempt.started_at).total_seconds())
            attempt.save(update_fields=["deadline_at", "time_limit_seconds"])
    locked.archived_at = now
    locked.save(update_fields=["archived_at"])
    _log(
        cohort=locked.cohort,
        assignment=locked,
        actor=actor,
        action=CohortLogEntry.Action.ARCHIVED,
        summary="archived",
        now=now,
    )
    assignment.refresh_from_db()


@transaction.atomic
def unarchive_assignment(
    *, assignment: Assignment, actor: User, now: datetime.datetime | None = None
) -> None:
    now = _now(now)
    locked = _locked(assignment)
    if locked.archived_at is None:
        raise ValidationError("This assignment is not archived.", code="not_archived")
    locked.archived_at = None
    locked.save(update_fields=["archived_at"])
    _log(
        cohort=locked.cohort,
        assignment=locked,
        actor=actor,
        action=CohortLogEntry.Action.UNARCHIVED,
        summary="restored from the archive",
        now=now,
    )
    assignment.refresh_from_db()


def _check_resident(cohort: Cohort, resident) -> None:
    if not cohort.residents.filter(pk=resident.pk).exists():
        raise ValidationError("This resident is not in the cohort.", code="not_in_cohort")


@transaction.atomic
def grant_extension(
    *,
    assignment: Assignment,
    resident,
    actor: User,
    due_at: datetime.datetime | None = None,
    extra_minutes: int = 0,
    note: str = "",
    now: datetime.datetime | None = None,
) -> AssignmentGrant:
    """Give one resident a later due date of their own and/or extra minutes on their clock.
    An attempt of theirs in progress follows at once: its deadline moves by the extra
    minutes and up to the new due date. Raises ValidationError (nothing saved): neither
    given, a due date not after the assignment's and in the future, minutes out of 1-600,
    a later due date once results released at the due date or by hand are out."""
    now = _now(now)
    locked = _locked(assignment)
    _check_resident(locked.cohort, resident)
    if due_at is None and not extra_minutes:
        raise ValidationError("Give a later due date, extra minutes, or both.", code="empty")
    if due_at is not None and (due_at <= locked.due_at or due_at <= now):
        raise ValidationError(
            "The resident's due date must be after the assignment's and in the future.",
            code="due_not_later",
        )
    if (
        due_at is not None
        and locked.release != Assignment.Release.IMMEDIATELY
        and locked.results_released(now)
    ):
        raise ValidationError(
            "The results are released: a later due date now would let this resident answer "
            "after classmates have seen the key.",
            code="released",
        )
    if extra_minutes < 0 or extra_minutes > 600:
        raise ValidationError("Extra minutes must be between 1 and 600.", code="minutes")
    if extra_minutes and locked.mode != Attempt.Mode.TIMED:
        raise ValidationError(
            "A tutor-mode assignment has no clock; give a later due date instead.",
            code="no_clock",
        )
    grant, _ = AssignmentGrant.objects.select_for_update().get_or_create(
        assignment=locked, resident=resident, defaults={"granted_at": now, "granted_by": actor}
    )
    if due_at is not None:
        grant.due_at = due_at
    grant.extra_minutes += extra_minutes
    grant.note = note or grant.note
    grant.granted_by, grant.granted_at = actor, now
    grant.full_clean()
    grant.save()
    changed = _follow(locked, now, resident=resident, extra_seconds=extra_minutes * 60)
    parts = []
    if due_at is not None:
        parts.append(f"due {locked.cohort.local_text(due_at)}")
    if extra_minutes:
        parts.append(f"{extra_minutes} extra minute(s)")
    if changed:
        parts.append("the attempt in progress follows")
    summary = f"extension for {resident.get_username()}: " + ", ".join(parts)
    _log(
        cohort=locked.cohort,
        assignment=locked,
        resident=resident,
        actor=actor,
        action=CohortLogEntry.Action.EXTENSION,
        summary=summary + (f" — {note}" if note else ""),
        now=now,
    )
    return grant


@transaction.atomic
def grant_attempt(
    *,
    assignment: Assignment,
    resident,
    actor: User,
    note: str = "",
    now: datetime.datetime | None = None,
) -> AssignmentGrant:
    """Allow one resident one more attempt (an attempt lost to a fire alarm, a crash). Raises
    ValidationError when they have not used the attempts they have (nothing to add yet),
    when the results are released (they may have seen the key: released immediately, that
    is as soon as they finished) or the assignment is archived."""
    now = _now(now)
    locked = _locked(assignment)
    _check_resident(locked.cohort, resident)
    if locked.archived_at is not None:
        raise ValidationError("This assignment is archived.", code="archived")
    if locked.results_released(now):
        raise ValidationError(
            "The results are released, so this resident may have seen the key: another "
            "attempt would not measure anything. Set a new assignment instead.",
            code="released",
        )
    grant, _ = AssignmentGrant.objects.select_for_update().get_or_create(
        assignment=locked, resident=resident, defaults={"granted_at": now, "granted_by": actor}
    )
    mine = Attempt.objects.filter(assignment=locked, user=resident)
    engine.expire_overdue(mine, now=now)  # one whose time ran out counts as used
    used = mine.filter(status=Attempt.Status.FINISHED).count()
    if used < 1 + grant.extra_attempts:
        raise ValidationError(
            "This resident has not used the attempts they have yet.", code="unused"
        )
    grant.extra_attempts += 1
    grant.note = note or grant.note
    grant.granted_by, grant.granted_at = actor, now
    grant.save()
    _log(
        cohort=locked.cohort,
        assignment=locked,
        resident=resident,
        actor=actor,
        action=CohortLogEntry.Action.ATTEMPT,
        summary=f"attempt {used + 1} allowed for {resident.get_username()}"
        + (f" — {note}" if note else ""),
        now=now,
    )
    return grant


@transaction.atomic
def set_accommodation(
    *,
    cohort: Cohort,
    resident,
    actor: User,
    time_setting: str,
    note: str,
    now: datetime.datetime | None = None,
) -> Accommodation | None:
    """Grant (or change, or with "" remove) a resident's extended time for the cohort's
    timed assignments. It applies to attempts started from now on; attempts in progress
    keep their deadline (an extension changes that). A grant needs a note. Raises
    ValidationError (nothing saved)."""
    now = _now(now)
    _check_resident(cohort, resident)
    current = Accommodation.objects.select_for_update().filter(cohort=cohort, resident=resident)
    existing = current.first()
    if not time_setting:
        if existing is None:
            return None
        existing.delete()
        summary = f"standard time for {resident.get_username()}"
        result = None
    else:
        if time_setting not in Accommodation.TimeSetting.values:
            raise ValidationError("Choose ×1.5, ×2 or untimed.", code="time_setting")
        if not note.strip():
            raise ValidationError(
                "Say why (and on whose authority) the time is granted.", code="note"
            )
        result = existing or Accommodation(cohort=cohort, resident=resident)
        result.time_setting, result.note = time_setting, note.strip()
        result.granted_by, result.granted_at = actor, now
        result.full_clean()
        result.save()
        summary = (
            f"{Accommodation.TimeSetting(time_setting).label} for "
            f"{resident.get_username()} — {note.strip()}"
        )
    _log(
        cohort=cohort,
        resident=resident,
        actor=actor,
        action=CohortLogEntry.Action.ACCOMMODATION,
        summary=summary,
        now=now,
    )
    return result
