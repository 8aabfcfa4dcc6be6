"""A cohort's figures for its educators: the residents' table and its summary, the
topic-by-resident grid, the cohort's miss types, an assignment's progress and its monitor,
the fixed-set picker's questions. Each function states the shape it returns and its query
count, which does not grow with the cohort."""

import datetime

from django.db.models import (
    Count,
    Max,
    Q,
)

from questions.analytics.progress import finished_percent, percent, scored_totals
from questions.learning.calibration import topics_by_question
from questions.models import (
    Accommodation,
    Assignment,
    AssignmentGrant,
    Attempt,
    AttemptItem,
    CohortLogEntry,
    Question,
)
from questions.quizzes import control


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


def accommodations_by_resident(cohort) -> dict[int, Accommodation]:
    """The educators' time accommodations in ``cohort``: ``{resident_id: Accommodation}``
    (no entry: standard time). One query."""
    accommodations = Accommodation.objects.filter(cohort=cohort).select_related("granted_by")
    return {a.resident_id: a for a in accommodations}


def assignment_monitor(assignment, *, now: datetime.datetime) -> list[dict]:
    """Where each resident of the assignment's cohort stands, by username: ``{"user",
    "state"`` ("not_started", "in_progress", "finished"), ``"attempt"`` (their latest, or
    None), ``"attempts"`` (how many they started), ``"answered"`` (questions answered in
    the latest), ``"seconds_left"`` (on the server's clock, in progress only),
    ``"percent"`` (finished only), ``"accommodation"``, ``"grant"``, ``"due_at"`` (their
    own due date, an extension included)``}``. Attempts past their deadline should be
    expired first (``engine.expire_overdue``). Four queries whatever the cohort's size."""
    attempts: dict[int, list[Attempt]] = {}
    for attempt in (
        Attempt.objects.filter(assignment=assignment)
        .annotate(answered=Count("items", filter=Q(items__answered_at__isnull=False)))
        .order_by("attempt_number")
    ):
        attempts.setdefault(attempt.user_id, []).append(attempt)
    grants = {g.resident_id: g for g in AssignmentGrant.objects.filter(assignment=assignment)}
    accommodations = accommodations_by_resident(assignment.cohort)
    rows = []
    for user in assignment.cohort.residents.order_by("username"):
        mine = attempts.get(user.pk, [])
        latest = mine[-1] if mine else None
        grant = grants.get(user.pk)
        due = control.due_with(assignment, grant)
        state = "not_started"
        seconds_left = None
        if latest is not None and latest.is_finished:
            state = "finished"
        elif latest is not None:
            state = "in_progress"
            if latest.deadline_at is not None:
                seconds_left = max(0, int((latest.deadline_at - now).total_seconds()))
        rows.append(
            {
                "user": user,
                "state": state,
                "attempt": latest,
                "attempts": len(mine),
                "answered": getattr(latest, "answered", 0),  # annotated above
                "seconds_left": seconds_left,
                "percent": finished_percent(latest),
                "accommodation": accommodations.get(user.pk),
                "grant": grant,
                "due_at": due,
            }
        )
    return rows


def monitor_counts(rows: list[dict]) -> dict[str, int]:
    """How many of ``assignment_monitor``'s rows are in each state (no query)."""
    counts = dict.fromkeys(("not_started", "in_progress", "finished"), 0)
    for row in rows:
        counts[row["state"]] += 1
    return counts


PICKER_STATUSES = {
    "new": "Not yet set in this cohort",
    "used": "Used in an earlier assignment of this cohort",
    "current": "In an assignment of this cohort still open or to come",
}


def assignment_picker(cohort, *, now: datetime.datetime) -> list[dict]:
    """The questions a fixed set may take (published), by key, each ``{"question",
    "topic_ids", "topics"`` (names), ``"status"`` (a key of PICKER_STATUSES: whether this
    cohort has had it), ``"search"`` (key, stem and lead-in, lower case, for the picker's
    search)``}``. Three queries whatever the bank's size."""
    questions = list(Question.objects.published().order_by("key").prefetch_related("topics"))
    set_before = Assignment.questions.through.objects.filter(assignment__cohort=cohort).values_list(
        "question_id", "assignment__due_at", "assignment__archived_at"
    )
    current: set[int] = set()
    used: set[int] = set()
    for question_id, due, archived_at in set_before:
        (current if archived_at is None and due > now else used).add(question_id)
    rows = []
    for question in questions:
        status = "current" if question.pk in current else "used" if question.pk in used else "new"
        topics = list(question.topics.all())
        rows.append(
            {
                "question": question,
                "topic_ids": " ".join(str(t.pk) for t in topics),
                "topics": ", ".join(t.name for t in topics),
                "status": status,
                "search": f"{question.key} {question.stem} {question.lead_in}".lower(),
            }
        )
    return rows


def change_log(cohort, *, assignment=None, limit: int | None = None) -> list:
    """The cohort's log (``CohortLogEntry``), newest first, with who made each change and
    for which resident and assignment; only ``assignment``'s when given; the ``limit``
    most recent. One query."""
    entries = CohortLogEntry.objects.filter(cohort=cohort).select_related(
        "actor", "resident", "assignment"
    )
    if assignment is not None:
        entries = entries.filter(assignment=assignment)
    return list(entries[:limit] if limit else entries)
