"""A resident's progress: summary, score trend, mastery by topic, weakest topics, miss types
by month, percentile among peers, assignments, and the stored scores these add up. Each
function states the shape it returns and its query count, which does not grow with the
history."""

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

from questions.models import Assignment, Attempt, AttemptItem, Question, ResidentProfile, Topic


def topics_with_published_counts():
    """Topics in curriculum order, each annotated with ``published_count``: one query.

    The order is explicit because Django ignores Meta.ordering in GROUP BY queries."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    ).order_by("order", "name")


def topic_breakdown(attempt) -> list[dict]:
    """Per topic of an attempt's questions: ``{"topic": name, "correct": c, "total": n}``,
    in curriculum order. One query."""
    rows = (
        Topic.objects.filter(questions__attempt_items__attempt=attempt)
        .annotate(
            total=Count("questions__attempt_items"),
            correct=Count(
                "questions__attempt_items", filter=Q(questions__attempt_items__is_correct=True)
            ),
        )
        .order_by("order", "name")
        .values("name", "correct", "total")
    )
    return [{"topic": r["name"], "correct": r["correct"], "total": r["total"]} for r in rows]


def percent(correct: int, total: int) -> float | None:
    return round(100 * correct / total, 1) if total else None


def resident_summary(user, *, cohort=None) -> dict:
    """``{"answered", "correct", "percent", "avg_seconds"}`` over the user's scored items
    (as the educators of ``cohort`` may see them, when given). ``avg_seconds`` averages
    questions the resident opened and answered. One query."""
    row = (
        AttemptItem.objects.scored()
        .visible_to(cohort)
        .filter(attempt__user=user)
        .aggregate(
            answered=Count("id"),
            correct=Count("id", filter=Q(is_correct=True)),
            avg_seconds=Avg(
                "seconds_spent", filter=Q(answered_at__isnull=False, seconds_spent__gt=0)
            ),
        )
    )
    row["percent"] = percent(row["correct"], row["answered"])
    if row["avg_seconds"] is not None:
        row["avg_seconds"] = round(row["avg_seconds"])
    return row


def score_trend(user, *, limit: int = 20, cohort=None) -> list[dict]:
    """The user's last ``limit`` finished quizzes, oldest first:
    ``{"attempt": pk, "finished_at", "correct", "total", "percent", "mode"}``. One query."""
    rows = list(
        Attempt.objects.filter(user=user, status=Attempt.Status.FINISHED)
        .visible_to(cohort)
        .order_by("-finished_at", "-id")
        .values("pk", "finished_at", "correct_count", "question_count", "mode")[:limit]
    )
    return [
        {
            "attempt": r["pk"],
            "finished_at": r["finished_at"],
            "correct": r["correct_count"],
            "total": r["question_count"],
            # A finished attempt always has its score (a database constraint).
            "percent": percent(cast(int, r["correct_count"]), r["question_count"]),
            "mode": r["mode"],
        }
        for r in reversed(rows)
    ]


def topic_mastery(user, *, topics=None, cohort=None) -> list[dict]:
    """Per topic in curriculum order: ``{"topic", "correct", "answered", "percent"}`` over
    the user's scored items (``percent`` None when nothing answered). A question in two
    topics counts in both. Two queries (one when ``topics`` is given)."""
    topics = list(topics if topics is not None else Topic.objects.order_by("order", "name"))
    counts = {
        r["question__topics"]: r
        for r in AttemptItem.objects.scored()
        .visible_to(cohort)
        .filter(attempt__user=user)
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


def miss_type_mix(user, *, cohort=None) -> list[dict]:
    """Why ``user`` missed questions, per month (most recent first, at most
    MISS_MIX_MONTHS): ``[{"month", "misses", "counts": [(label, n)] in MissType order,
    "untagged"}]``. A miss is a locked answer that is not correct, dated by when it was
    locked. Two queries: all misses per month (from the scores index), tagged ones per
    month and type (from the partial index of tagged items)."""
    items = (
        AttemptItem.objects.scored()
        .visible_to(cohort)
        .filter(attempt__user=user)
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


def percentile_rank(user) -> dict:
    """Where the user's percent correct stands among residents of the same training year
    (non-staff users with at least one scored item, the user included).

    Returns ``{"training_year", "peers", "percentile"}``; ``percentile`` is the share of
    peers scoring below plus half of those tied (0-100, rounded), and None when the user
    has no training year or score, or fewer than MIN_PEERS_FOR_PERCENTILE peers.
    Three queries."""
    year = ResidentProfile.objects.filter(user=user).values_list("training_year", flat=True).first()
    result = {"training_year": year, "peers": 0, "percentile": None}
    if year is None:
        return result
    peers_or_me = Q(user=user) | Q(user__resident_profile__training_year=year, user__is_staff=False)
    totals = scored_totals(Attempt.objects.filter(peers_or_me))
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


def resident_assignments(user, *, cohort=None) -> list[dict]:
    """Assignments of the user's cohorts (of ``cohort`` only, when given), soonest due
    first, each with the user's attempt: ``{"assignment", "attempt", "percent"}``. Two
    queries."""
    assignments = list(
        Assignment.objects.filter(cohort__residents=user)
        .filter(Q(cohort=cohort) if cohort is not None else Q())
        .select_related("cohort")
        .order_by("due_at", "id")
    )
    attempts = {
        a.assignment_id: a
        for a in Attempt.objects.filter(user=user, assignment__in=[a.pk for a in assignments])
    }
    rows = []
    for assignment in assignments:
        attempt = attempts.get(assignment.pk)
        rows.append(
            {"assignment": assignment, "attempt": attempt, "percent": finished_percent(attempt)}
        )
    return rows
