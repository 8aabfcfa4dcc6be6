"""A resident's progress: summary, score trend, mastery by topic, weakest topics, miss types
by month, percentile among peers, assignments, and the stored scores these add up. Each
function states the shape it returns and its query count, which does not grow with the
history."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import cast

from django.db.models import (
    Avg,
    Count,
    DateField,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from questions.learning import withholding
from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    AttemptItem,
    Question,
    ResidentProfile,
    Topic,
)
from questions.quizzes import control


def topics_with_published_counts():
    """Topics in curriculum order, each annotated with ``published_count``: one query.

    The order is explicit because Django ignores Meta.ordering in GROUP BY queries."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    ).order_by("order", "name")


def topic_breakdown(
    items: Iterable[AttemptItem], topics_of: Mapping[int, list[Topic]], *, held=()
) -> list[dict]:
    """Per topic of an attempt's ``items`` (``topics_of``: their questions' topics, as
    ``calibration.topics_by_question`` reads them): ``{"topic": name, "correct": c,
    "total": n}``, in curriculum order, without the questions ``held`` back (ids): a topic
    with held-back questions only is left out, so that no figure gives one away. No query:
    the results page has read both already."""
    held = set(held)
    figures: dict[Topic, dict] = {}
    for item in items:
        if item.question_id in held:
            continue
        for topic in topics_of.get(item.question_id, ()):
            row = figures.setdefault(topic, {"topic": topic.name, "correct": 0, "total": 0})
            row["correct"] += bool(item.is_correct)
            row["total"] += 1
    return [figures[topic] for topic in sorted(figures, key=lambda t: (t.order, t.name))]


def percent(correct: int, total: int) -> float | None:
    return round(100 * correct / total, 1) if total else None


def _scored(user, cohort, withhold_at: datetime.datetime | None):
    """The user's scored items as the educators of ``cohort`` may see them (all for None);
    with ``withhold_at``, as the resident sees them then: without the answers whose results
    are held back (``learning.withholding``)."""
    items = AttemptItem.objects.scored().visible_to(cohort).filter(attempt__user=user)
    return withholding.without_held(items, user, withhold_at)


def resident_summary(user, *, cohort=None, withhold_at: datetime.datetime | None = None) -> dict:
    """``{"answered", "correct", "percent", "avg_seconds"}`` over the user's scored items
    (as the educators of ``cohort`` may see them, when given; without those held back at
    ``withhold_at``, when given). ``avg_seconds`` averages questions the resident opened
    and answered. One query."""
    row = _scored(user, cohort, withhold_at).aggregate(
        answered=Count("id"),
        correct=Count("id", filter=Q(is_correct=True)),
        avg_seconds=Avg("seconds_spent", filter=Q(answered_at__isnull=False, seconds_spent__gt=0)),
    )
    row["percent"] = percent(row["correct"], row["answered"])
    if row["avg_seconds"] is not None:
        row["avg_seconds"] = round(row["avg_seconds"])
    return row


def score_trend(
    user, *, limit: int = 20, cohort=None, withhold_at: datetime.datetime | None = None
) -> list[dict]:
    """The user's last ``limit`` finished quizzes, oldest first:
    ``{"attempt": pk, "finished_at", "correct", "total", "percent", "mode"}``. One query.

    With ``withhold_at`` (the resident's own view): an assignment attempt whose results
    are not released then is left out, and each quiz's score leaves out its answers held
    back (a quiz of held-back answers only is left out): one query more."""
    attempts = (
        Attempt.objects.filter(user=user, status=Attempt.Status.FINISHED)
        .visible_to(cohort)
        .order_by("-finished_at", "-id")
    )
    if withhold_at is not None:
        attempts = attempts.exclude(
            pk__in=withholding.awaiting_release(Attempt.objects.filter(user=user), withhold_at)
        )
    rows = list(
        attempts.values("pk", "finished_at", "correct_count", "question_count", "mode")[:limit]
    )
    held = (
        # The same attempts as a subquery: one query whatever they are (none or many).
        held_scores(user, attempts.values("pk")[:limit], withhold_at)
        if withhold_at is not None
        else {}
    )
    trend = []
    for r in reversed(rows):
        # A finished attempt always has its score (a database constraint).
        correct, total = cast(int, r["correct_count"]), r["question_count"]
        if r["pk"] in held:
            correct -= held[r["pk"]]["correct"]
            total -= held[r["pk"]]["held"]
            if not total:
                continue
        trend.append(
            {
                "attempt": r["pk"],
                "finished_at": r["finished_at"],
                "correct": correct,
                "total": total,
                "percent": percent(correct, total),
                "mode": r["mode"],
            }
        )
    return trend


def held_scores(user, attempt_ids, now: datetime.datetime) -> dict[int, dict[str, int]]:
    """Of the user's attempts ``attempt_ids`` (ids, or a subquery), those with answers
    held back from the resident at ``now`` (``learning.withholding``): ``{attempt_id:
    {"held": n, "correct": c}}``, how many answers are held back and how many of those
    were right, to take out of the attempt's score. One query (none for no ids)."""
    rows = (
        AttemptItem.objects.filter(attempt_id__in=attempt_ids, attempt__user=user)
        .filter(withholding.held_item(user, now))
        .values("attempt_id")
        .annotate(held=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
        .order_by()
    )
    return {r["attempt_id"]: {"held": r["held"], "correct": r["correct"]} for r in rows}


def topic_mastery(
    user, *, topics=None, cohort=None, withhold_at: datetime.datetime | None = None
) -> list[dict]:
    """Per topic in curriculum order: ``{"topic", "correct", "answered", "percent"}`` over
    the user's scored items (``percent`` None when nothing answered; without those held
    back at ``withhold_at``, when given). A question in two topics counts in both. Two
    queries (one when ``topics`` is given)."""
    topics = list(topics if topics is not None else Topic.objects.order_by("order", "name"))
    counts = {
        r["question__topics"]: r
        for r in _scored(user, cohort, withhold_at)
        .values("question__topics")
        .annotate(answered=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
        .order_by()
    }
    rows = []
    for topic in topics:
        c = counts.get(topic.pk, {"answered": 0, "correct": 0})
        rows.append(
            {
                "topic": topic,
                "answered": c["answered"],
                "correct": c["correct"],
                "percent": percent(c["correct"], c["answered"]),
            }
        )
    return rows


def miss_mix_rows(misses: dict, tagged: dict) -> list[dict]:
    types = AttemptItem.MissType
    rows = []
    for month in sorted(misses, reverse=True):
        counts = {value: tagged.get((month, value), 0) for value in types.values}
        rows.append(
            {
                "month": month,
                "misses": misses[month],
                "counts": [(label, counts[value]) for value, label in types.choices],
                "untagged": misses[month] - sum(counts.values()),
            }
        )
    return rows


MISS_MIX_MONTHS = 12


def miss_type_mix(user, *, cohort=None, withhold_at: datetime.datetime | None = None) -> list[dict]:
    """Why ``user`` missed questions, per month (most recent first, at most
    MISS_MIX_MONTHS): ``[{"month", "misses", "counts": [(label, n)] in MissType order,
    "untagged"}]``. A miss is a locked answer that is not correct, dated by when it was
    locked. Two queries: all misses per month (from the scores index), tagged ones per
    month and type (from the partial index of tagged items). Without the misses held back
    at ``withhold_at``, when given."""
    items = (
        _scored(user, cohort, withhold_at)
        .filter(is_correct=False)
        .annotate(month=TruncMonth("locked_at", output_field=DateField()))
    )
    misses = {
        r["month"]: r["n"]
        for r in items.values("month").annotate(n=Count("id")).order_by("-month")[:MISS_MIX_MONTHS]
    }
    tagged = {
        (r["month"], r["miss_type"]): r["n"]
        for r in items.exclude(miss_type="")
        .values("month", "miss_type")
        .annotate(n=Count("id"))
        .order_by()
    }
    return miss_mix_rows(misses, tagged)


MIN_ANSWERED_FOR_WEAKEST = 5


def weakest_topics(mastery: list[dict], *, count: int = 3) -> list[dict]:
    """The ``count`` lowest-scoring topics among those with at least
    MIN_ANSWERED_FOR_WEAKEST scored answers (pure: takes ``topic_mastery``'s rows)."""
    ranked = [r for r in mastery if r["answered"] >= MIN_ANSWERED_FOR_WEAKEST]
    ranked.sort(key=lambda r: (r["percent"], -r["answered"]))
    return ranked[:count]


MIN_PEERS_FOR_PERCENTILE = 10


def percentile_rank(user, *, own: dict | None = None) -> dict:
    """Where the user's percent correct stands among residents of the same training year
    (non-staff users with at least one scored item, the user included).

    Returns ``{"training_year", "peers", "percentile"}``; ``percentile`` is the share of
    peers scoring below plus half of those tied (0-100, rounded), and None when the user
    has no training year or score, or fewer than MIN_PEERS_FOR_PERCENTILE peers.
    ``own``: the user's own ``{"answered", "correct"}`` to rank instead of all their scored
    items (the resident's view: ``resident_summary`` without what is held back, so that
    the rank does not move when an assignment's results are still withheld). Three
    queries."""
    year = ResidentProfile.objects.filter(user=user).values_list("training_year", flat=True).first()
    result = {"training_year": year, "peers": 0, "percentile": None}
    if year is None:
        return result
    peers_or_me = Q(user=user) | Q(user__resident_profile__training_year=year, user__is_staff=False)
    totals = scored_totals(Attempt.objects.filter(peers_or_me))
    if own is not None and user.pk in totals:
        totals[user.pk] = {"answered": own["answered"], "correct": own["correct"]}
    mine = totals.get(user.pk)
    if mine is None or not mine["answered"]:
        return result
    if user.is_staff:
        del totals[user.pk]  # scored, but not one of the peers
    below = tied = 0
    for peer in totals.values():
        # Exact comparison of correct/answered fractions by cross-multiplying.
        difference = peer["correct"] * mine["answered"] - mine["correct"] * peer["answered"]
        below += difference < 0
        tied += difference == 0
    result["peers"] = len(totals)
    if len(totals) >= MIN_PEERS_FOR_PERCENTILE:
        result["percentile"] = round(100 * (below + tied / 2) / len(totals))
    return result


def scored_totals(attempts: QuerySet[Attempt]) -> dict[int, dict]:
    """Per user among ``attempts``: ``{"answered", "correct", "last"}`` over their scored
    items, ``last`` being the latest quiz finished or answer scored. A finished quiz counts
    from its stored score (every item of it is scored), so only the scored items of
    unfinished (tutor) quizzes are read: a 100-resident cohort's 5,000 quizzes instead of
    their 200,000 answers. Users with nothing scored are absent. Two queries."""
    totals: dict[int, dict] = {}
    finished = (
        attempts.filter(status=Attempt.Status.FINISHED)
        .values("user")
        .annotate(
            answered=Sum("question_count"), correct=Sum("correct_count"), last=Max("finished_at")
        )
        .order_by()
    )
    for row in finished:
        totals[row["user"]] = {k: row[k] for k in ("answered", "correct", "last")}
    unfinished = (
        AttemptItem.objects.filter(
            attempt__in=attempts.exclude(status=Attempt.Status.FINISHED), locked_at__isnull=False
        )
        .values("attempt__user")
        .annotate(
            answered=Count("id"),
            correct=Count("id", filter=Q(is_correct=True)),
            last=Max("locked_at"),
        )
        .order_by()
    )
    for row in unfinished:
        entry = totals.setdefault(row["attempt__user"], {"answered": 0, "correct": 0, "last": None})
        entry["answered"] += row["answered"]
        entry["correct"] += row["correct"]
        entry["last"] = max(m for m in (entry["last"], row["last"]) if m is not None)
    return totals


def finished_percent(attempt) -> float | None:
    """An attempt's score in percent once finished; None before, or without an attempt."""
    if attempt is None or not attempt.is_finished:
        return None
    return percent(attempt.correct_count, attempt.question_count)


def resident_assignments(user, *, cohort=None, now: datetime.datetime | None = None) -> list[dict]:
    """Assignments of the user's cohorts (of ``cohort`` only, when given: its educators'
    view, archived ones included; the resident's own list leaves archived ones out),
    soonest due first, each as the resident stands on it at ``now``:

    ``{"assignment", "attempt" (the latest, or None), "attempts" (how many), "allowed"
    (attempts allowed: one plus any granted), "due_at" (the resident's own due date, an
    extension included), "own_seconds" (their clock: the time limit or standard pace
    times the educators' accommodation, plus granted minutes; None: tutor mode or
    untimed), "is_released" (whether they may see the results: always for the educators'
    view), "percent" (the latest attempt's score once finished and released), "state"}``
    with ``state`` one of "upcoming", "open", "in_progress", "finished", "missed"
    (closed, not taken) and ``can_start`` (open to a first or a further attempt).
    Four queries, whatever the number of assignments."""
    now = now or timezone.now()
    listed = Assignment.objects.filter(cohort__residents=user)
    if cohort is not None:
        listed = listed.filter(cohort=cohort)
    else:
        listed = listed.filter(archived_at__isnull=True)
    assignments = list(
        listed.select_related("cohort")
        .annotate(latest_grant_due=Max("grants__due_at"))
        .order_by("due_at", "id")
    )
    ids = [a.pk for a in assignments]
    grants = {
        g.assignment_id: g
        for g in AssignmentGrant.objects.filter(resident=user, assignment__in=ids)
    }
    accommodations = {
        a.cohort_id: a
        for a in Accommodation.objects.filter(
            resident=user, cohort__in={a.cohort_id for a in assignments}
        )
    }
    attempts: dict[int, list[Attempt]] = {}
    for taken in Attempt.objects.filter(user=user, assignment__in=ids).order_by(
        "attempt_number", "pk"
    ):
        attempts.setdefault(cast(int, taken.assignment_id), []).append(taken)
    rows = []
    for assignment in assignments:
        latest_grant = assignment.latest_grant_due  # annotated
        # Read with the assignment: Assignment.last_due_at would query each row again.
        assignment.last_due_at = max(assignment.due_at, latest_grant or assignment.due_at)
        grant = grants.get(assignment.pk)
        mine = attempts.get(assignment.pk, [])
        attempt = mine[-1] if mine else None
        due_at = control.due_with(assignment, grant)
        allowed = 1 + (grant.extra_attempts if grant else 0)
        is_open = assignment.archived_at is None and assignment.opens_at <= now <= due_at
        released = cohort is not None or assignment.results_released(now)
        if attempt is not None and not attempt.is_finished:
            state = "in_progress"
        elif attempt is not None:
            state = "finished"
        elif now < assignment.opens_at:
            state = "upcoming"
        else:
            state = "open" if is_open else "missed"
        rows.append(
            {
                "assignment": assignment,
                "attempt": attempt,
                "attempts": len(mine),
                "allowed": allowed,
                "due_at": due_at,
                "own_seconds": control.clock_seconds_with(
                    assignment,
                    accommodations.get(assignment.cohort_id),
                    grant,
                    question_count=assignment.question_count,
                ),
                "is_released": released,
                "percent": finished_percent(attempt) if released else None,
                "state": state,
                "can_start": is_open and state in ("open", "finished") and len(mine) < allowed,
            }
        )
    return rows
