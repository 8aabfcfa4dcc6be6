"""A cohort's figures for its educators: the residents' table and its summary, the
topic-by-resident grid, the cohort's miss types and an assignment's progress. Each function
states the shape it returns and its query count, which does not grow with the cohort."""

from django.db.models import (
    Count,
    Max,
    Q,
)

from questions.analytics.progress import finished_percent, percent, scored_totals
from questions.learning.calibration import topics_by_question
from questions.models import Attempt, AttemptItem


def cohort_miss_type_mix(cohort, *, table: list[dict]) -> dict:
    """Why the residents of ``cohort`` missed questions, over everything its educators may
    see: ``{"misses", "counts": [(label, n, percent of tagged)], "tagged", "untagged"}``.
    The misses are the cohort table's answered minus correct (``table``: ``cohort_table``'s
    rows), so only the tagged ones are read, from their partial index: one query. Counting
    the misses themselves cost the cohort page 100 ms at 2,000,000 answers."""
    misses = sum(row["answered"] - row["correct"] for row in table)
    tagged = dict(
        AttemptItem.objects.scored()
        .visible_to(cohort)
        .filter(attempt__user__cohorts=cohort)
        .exclude(miss_type="")
        .values("miss_type")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("miss_type", "n")
    )
    total_tagged = sum(tagged.values())
    return {
        "misses": misses,
        "tagged": total_tagged,
        "untagged": misses - total_tagged,
        "counts": [
            (label, tagged.get(value, 0), percent(tagged.get(value, 0), total_tagged))
            for value, label in AttemptItem.MissType.choices
        ],
    }


def cohort_table(cohort) -> list[dict]:
    """One row per resident of the cohort, by username: ``{"user", "attempts", "answered",
    "correct", "percent", "last_activity"}`` (last activity: the latest quiz started or
    finished, or answer scored). Four queries whatever the number of residents or
    attempts."""
    residents = list(cohort.residents.order_by("username"))
    visible = Attempt.objects.filter(user__in=[u.pk for u in residents]).visible_to(cohort)
    attempts = {
        r["user"]: r
        for r in visible.values("user")
        .annotate(n=Count("id"), last_started=Max("started_at"))
        .order_by()
    }
    scores = scored_totals(visible)
    rows = []
    for user in residents:
        a = attempts.get(user.pk, {"n": 0, "last_started": None})
        i = scores.get(user.pk, {"answered": 0, "correct": 0, "last": None})
        moments = [m for m in (a["last_started"], i["last"]) if m is not None]
        rows.append(
            {
                "user": user,
                "attempts": a["n"],
                "answered": i["answered"],
                "correct": i["correct"],
                "percent": percent(i["correct"], i["answered"]),
                "last_activity": max(moments) if moments else None,
            }
        )
    return rows


def cohort_summary(rows: list[dict]) -> dict:
    """The key figures above a cohort's table, from ``cohort_table`` rows (no query):
    ``{"residents", "active", "answered", "correct", "percent"}``; ``active`` counts the
    residents who answered at least one question, ``percent`` is over all their answers
    (None when nobody has answered)."""
    answered = sum(row["answered"] for row in rows)
    correct = sum(row["correct"] for row in rows)
    return {
        "residents": len(rows),
        "active": sum(1 for row in rows if row["answered"]),
        "answered": answered,
        "correct": correct,
        "percent": percent(correct, answered),
    }


def cohort_topic_grid(cohort) -> dict[int, dict[int, dict]]:
    """Mastery per resident and topic: ``{user_id: {topic_id: {"answered", "correct",
    "percent"}}}``; missing pairs mean nothing answered. Counted per resident and question
    in the database, then added up per topic here (joining the topics first multiplied the
    rows to aggregate). Two queries."""
    per_question = list(
        AttemptItem.objects.scored()
        .visible_to(cohort)
        .filter(attempt__user__cohorts=cohort)
        .values("attempt__user", "question_id")
        .annotate(answered=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
        .order_by()
    )
    topics_of = topics_by_question(r["question_id"] for r in per_question)
    grid: dict[int, dict[int, dict]] = {}
    for r in per_question:
        for topic in topics_of.get(r["question_id"], ()):
            cell = grid.setdefault(r["attempt__user"], {}).setdefault(
                topic.pk, {"answered": 0, "correct": 0}
            )
            cell["answered"] += r["answered"]
            cell["correct"] += r["correct"]
    for cells in grid.values():
        for cell in cells.values():
            cell["percent"] = percent(cell["correct"], cell["answered"])
    return grid


def assignment_progress(assignment) -> list[dict]:
    """Each resident of the assignment's cohort with their attempt (None if not started):
    ``{"user", "attempt", "percent"}``, by username. Two queries."""
    attempts = {a.user_id: a for a in Attempt.objects.filter(assignment=assignment)}
    rows = []
    for user in assignment.cohort.residents.order_by("username"):
        attempt = attempts.get(user.pk)
        rows.append({"user": user, "attempt": attempt, "percent": finished_percent(attempt)})
    return rows
