"""What a resident sees of results still held back: an assignment attempt's results until
its release (``Assignment.results_released``), past answers to questions an open
assignment asks (``held_back``), and the assignment's start screen, which says when the
results come. Their educators' views hold back nothing and do not come here.
"""

from __future__ import annotations

import datetime
from typing import Any, cast

from django.templatetags.tz import do_timezone

from questions.analytics import progress
from questions.learning import withholding
from questions.models import Assignment, Attempt, pending_assessments
from questions.quizzes import control, engine


def held_back(
    user_id: int, question_ids, now: datetime.datetime, *, except_assignment: int | None = None
) -> dict[int, Any]:
    """Of ``question_ids`` (ids, or a values subquery), those an assignment of the user's
    cohorts assesses at ``now`` (other than ``except_assignment``: an assignment attempt's
    own questions are its release's to show), each with the latest due date among those
    assignments, extensions included: their keys stay off the user's own results pages
    until then, and a manual release later still (``QuestionQuerySet.assessed_for`` keeps
    them out of practice). One query."""
    pending = pending_assessments(user_id, now).filter(question_id__in=question_ids)
    if except_assignment is not None:
        pending = pending.exclude(assignment_id=except_assignment)
    held: dict[int, Any] = {}
    for question_id, due_at, granted, zone in pending.values_list(
        "question_id",
        "assignment__due_at",
        "assignment__grants__due_at",
        "assignment__cohort__time_zone",
    ):
        # Shown in the cohort's zone: Django's own `timezone` filter, which marks the
        # result so the template's date filter does not convert it back to the site's.
        latest = do_timezone(max(due_at, granted) if granted else due_at, zone)
        held[question_id] = max(latest, held.get(question_id, latest))
    return held


def is_awaiting(attempt: Attempt, now: datetime.datetime) -> bool:
    """Whether ``attempt`` answers an assignment whose results its resident may not see
    yet at ``now``. No query for a practice quiz; for an assignment read with the attempt,
    one at most (its grants' due dates, for a release at the due date)."""
    assignment = attempt.assignment if attempt.assignment_id is not None else None
    return assignment is not None and not assignment.results_released(now)


def release_info(assignment: Assignment) -> dict[str, Any]:
    """When the assignment's results come, for the pages that say so: ``{"release": the
    Release value, "at": the moment for a release at the due date (the last resident's due
    date, extensions included), else None, "time_zone": the cohort's}``. One query (the
    grants), none when already read."""
    at = assignment.last_due_at if assignment.release == Assignment.Release.AT_DUE else None
    return {"release": assignment.release, "at": at, "time_zone": assignment.cohort.time_zone}


def awaiting_context(attempt: Attempt) -> dict[str, Any]:
    """The page a resident sees of their finished assignment attempt before its results
    are released: that they finished (when, how many answered) and when the results come;
    no score, no answer's correctness, no explanation. Two queries."""
    assignment = cast(Assignment, attempt.assignment)  # an assignment's attempt
    return {
        "attempt": attempt,
        "assignment": assignment,
        "answered": attempt.items.exclude(selected_letter="").count(),
        "time_zone": assignment.cohort.time_zone,
        "release_info": release_info(assignment),
    }


def show_scores(user, attempts: list[Attempt], *, now: datetime.datetime | None) -> None:
    """Set ``shown`` on each of ``user``'s ``attempts``: the score their list shows,
    ``{"awaiting": results not released, "correct", "total", "held": answers left out}``.
    With ``now`` (the resident's own lists), an assignment attempt whose results are not
    released shows none, and the answers held back at ``now`` leave each score; without
    it (their educators' view) the stored score. Two queries with ``now`` (none for no
    attempts), else none."""
    ids = [a.pk for a in attempts]
    awaiting: set[int] = set()
    held: dict[int, dict[str, int]] = {}
    if now is not None and ids:
        awaiting = set(
            withholding.awaiting_release(
                Attempt.objects.filter(user=user, pk__in=ids), now
            ).values_list("pk", flat=True)
        )
        held = progress.held_scores(user, ids, now)
    for attempt in attempts:
        left_out = held.get(attempt.pk, {"held": 0, "correct": 0})
        attempt.shown = {  # type: ignore[attr-defined]  # for the template
            "awaiting": attempt.pk in awaiting,
            "correct": (attempt.correct_count or 0) - left_out["correct"],
            "total": attempt.question_count - left_out["held"],
            "held": left_out["held"],
        }


def start_context(*, assignment: Assignment, resident, now: datetime.datetime) -> dict[str, Any]:
    """The assignment's start screen for ``resident`` at ``now``: its title, number of
    questions, the resident's clock (``control.assignment_clock_seconds``: None, only the
    due date), their due date (an extension included), attempts allowed and used, when
    the results come, and ``state``: "archived", "upcoming", "in_progress" (``attempt``,
    to resume), "open" (Begin starts the clock), "used" (every attempt allowed taken;
    ``latest`` leads to its results) or "closed" (not taken, or no further attempt in
    time). Attempts past their deadline are finished first."""
    engine.expire_overdue(Attempt.objects.filter(assignment=assignment, user=resident))
    mine = list(
        Attempt.objects.filter(assignment=assignment, user=resident).order_by("attempt_number")
    )
    question_count = assignment.questions.published().count()
    due_at = control.resident_due_at(assignment=assignment, resident=resident)
    allowed = control.attempts_allowed(assignment=assignment, resident=resident)
    in_progress = next((a for a in mine if not a.is_finished), None)
    if assignment.archived_at is not None:
        state = "archived"
    elif in_progress is not None:
        state = "in_progress"
    elif now < assignment.opens_at:
        state = "upcoming"
    elif len(mine) >= allowed:
        state = "used"
    elif now > due_at:
        state = "closed"
    else:
        state = "open"
    latest = mine[-1] if mine else None
    return {
        "assignment": assignment,
        "cohort": assignment.cohort,
        "time_zone": assignment.cohort.time_zone,
        "question_count": question_count,
        "clock_seconds": control.assignment_clock_seconds(
            assignment=assignment, resident=resident, question_count=question_count
        ),
        "is_timed": assignment.mode == Attempt.Mode.TIMED,
        "due_at": due_at,
        "is_extended": due_at != assignment.due_at,
        "allowed": allowed,
        "used": len(mine),
        "left": max(0, allowed - len(mine)),
        "attempt": in_progress,
        "latest": latest,
        "latest_released": latest is not None and assignment.results_released(now),
        "state": state,
        "release_info": release_info(assignment),
        "now": now,
    }
