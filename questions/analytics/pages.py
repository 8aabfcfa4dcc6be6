"""Page assemblers: everything a results page, a dashboard or a cohort table shows, as a
template context, for the views of every audience (a resident's own pages and their
educators' view of them share these).

Before an item is locked a page receives only the letters and texts of its choices; the
explanations built here (key, rationales, explanation, other residents' shares) are for locked
items only. Abandoned timed quizzes are finished (as of their deadline) before anything is
counted, so they count.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.utils import timezone

from questions.analytics import charts, cohort_stats, item_stats, progress
from questions.authoring.citations import explanation_context
from questions.learning import calibration, recall
from questions.models import Attempt, AttemptItem, Cohort, ErrorReport, Reference, ResidentProfile
from questions.quizzes import engine, grading

if TYPE_CHECKING:
    import datetime

QUICK_QUIZ_SIZE = 10


def _frozen_citations(items: Iterable[AttemptItem]) -> dict[int, list[SimpleNamespace]]:
    """Each item's citations as frozen at its start, with their references: one query."""
    items = list(items)
    ids = {c["reference_id"] for item in items for c in item.shown["citations"]}
    references = Reference.objects.in_bulk(ids)
    return {
        item.pk: [
            SimpleNamespace(reference=references[c["reference_id"]], locator=c["locator"])
            for c in item.shown["citations"]
            if c["reference_id"] in references
        ]
        for item in items
    }


def _explained(
    item: AttemptItem,
    citations: list[SimpleNamespace],
    shares: Mapping[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything about a locked item: choices with rationale and key, explanation, and
    (given ``shares``, first-attempt choice counts by question) how residents answered."""
    counts = (shares or {}).get(item.question_id)
    enough = counts is not None and counts["residents"] >= item_stats.MIN_RESIDENTS_FOR_SHARES
    choices = [
        {
            "letter": c["letter"],
            "text": c["text"],
            "rationale": c["rationale"],
            "is_correct": c["is_correct"],
            "is_selected": c["letter"] == item.selected_letter,
            "image": c.get("image"),
            "share": (
                # enough: counts is not None.
                round(100 * counts["by_choice"].get(c["choice_id"], 0) / counts["residents"])  # type: ignore[index]
                if enough
                else None
            ),
        }
        for c in item.shown["choices"]
    ]
    return {
        "choices": choices,
        "objective": item.shown["objective"],
        "explanation": explanation_context(
            item.shown["explanation"], citations, f"item{item.pk}", "Explanation"
        ),
        "residents": counts["residents"] if counts else 0,
        "has_shares": enough,
    }


def locked_item_explanation(item: AttemptItem) -> dict[str, Any]:
    """The explanation of one locked item, as a tutor-mode question page shows it right after
    the answer (without other residents' shares): one query."""
    return _explained(item, _frozen_citations([item])[item.pk])


def results_context(attempt: Attempt) -> dict[str, Any]:
    """Everything the results page shows for a finished attempt (to its resident, and to
    the educators of a cohort that may see it)."""
    items = list(attempt.items.order_by("position"))
    citations = _frozen_citations(items)
    shares = item_stats.first_attempt_choice_counts(item.question_id for item in items)
    # Finished: it has its finish time and score (database constraints).
    used = (cast("datetime.datetime", attempt.finished_at) - attempt.started_at).total_seconds()
    reported = {
        r.attempt_item_id: r
        for r in ErrorReport.objects.filter(
            attempt_item__attempt=attempt, reporter_id=attempt.user_id
        )
    }
    return {
        "attempt": attempt,
        "score": grading.Score(
            correct=cast(int, attempt.correct_count), total=attempt.question_count
        ),
        "seconds_used": int(used),
        "seconds_per_question": round(used / attempt.question_count),
        "pace_seconds": settings.QUIZ_SECONDS_PER_QUESTION,
        "topics": progress.topic_breakdown(attempt),
        "explained_items": [
            {
                "item": item,
                "report": reported.get(item.pk),
                **_explained(item, citations[item.pk], shares),
            }
            for item in items
        ],
        "report_kinds": ErrorReport.Kind.choices,
        "miss_types": AttemptItem.MissType.choices,
        "min_residents": item_stats.MIN_RESIDENTS_FOR_SHARES,
        "calibration": calibration.calibration_of(items),
        "confident_misses": calibration.items_by_topic(
            [i for i in items if i.confidence == AttemptItem.Confidence.SURE and not i.is_correct]
        ),
    }


def dashboard_context(user, *, cohort: Cohort | None = None) -> dict[str, Any]:
    """A resident's standing: the figures, charts and lists of the dashboard. With
    ``cohort``, as that cohort's educators may see it (no other cohort's assignments, and
    every quiz rather than the last five). A fixed number of queries whatever the number of
    attempts (pinned in tests)."""
    engine.expire_overdue(Attempt.objects.filter(user=user))
    attempts = Attempt.objects.filter(user=user).visible_to(cohort).prefetch_related("topics")
    summary = progress.resident_summary(user, cohort=cohort)
    trend = progress.score_trend(user, cohort=cohort)
    mastery = progress.topic_mastery(
        user, topics=progress.topics_with_published_counts(), cohort=cohort
    )
    profile = ResidentProfile.objects.filter(user=user).first()
    multiplier = profile.time_multiplier if profile else 1.0
    # The schedule is the resident's own, drawn from every quiz they took: not shown to a
    # cohort's educators, who see only that cohort's assignments and practice.
    recall_summary = recall.summary(user) if cohort is None else None
    weakest = [
        dict(row, quiz_size=min(QUICK_QUIZ_SIZE, row["topic"].published_count))
        for row in progress.weakest_topics(mastery)
    ]
    return {
        "subject": user,
        "summary": summary,
        "pace_seconds": round(settings.QUIZ_SECONDS_PER_QUESTION * (multiplier or 1.0)),
        "trend": trend,
        "trend_chart": charts.score_trend(trend, label="Percent correct in each finished quiz"),
        "mastery": mastery,
        "mastery_chart": charts.topic_mastery(mastery, label="Percent correct by topic"),
        "weakest": weakest,
        "quick_quiz_size": QUICK_QUIZ_SIZE,
        "min_answered_for_weakest": progress.MIN_ANSWERED_FOR_WEAKEST,
        "percentile": progress.percentile_rank(user),
        "min_peers": progress.MIN_PEERS_FOR_PERCENTILE,
        "assignments": progress.resident_assignments(user, cohort=cohort),
        "recall": recall_summary,
        "recall_quiz_size": min(recall.RECALL_QUIZ_SIZE, recall_summary["due"])
        if recall_summary
        else 0,
        "recall_start_token": uuid.uuid4(),
        "calibration": calibration.calibration(user, cohort=cohort),
        "confident_misses": calibration.confident_misses(user, cohort=cohort),
        "miss_mix": progress.miss_type_mix(user, cohort=cohort),
        "recent_attempts": attempts[:5] if cohort is None else attempts,
        "my_cohorts": list(user.cohorts.order_by("name")) if cohort is None else [],
        "now": timezone.now(),
    }


def cohort_figures(cohort: Cohort) -> tuple[list[dict[str, Any]], list[Any]]:
    """The cohort table, each row with ``topics``: its mastery cell per topic (None where
    nothing was answered, else ``mastery_cell``'s), in curriculum order; and those topics.
    A fixed number of queries."""
    engine.expire_overdue(Attempt.objects.filter(user__cohorts=cohort))
    table = cohort_stats.cohort_table(cohort)
    grid = cohort_stats.cohort_topic_grid(cohort)
    topics = list(progress.topics_with_published_counts())
    for row in table:
        cells = grid.get(row["user"].pk, {})
        row["topics"] = [mastery_cell(cells.get(topic.pk)) for topic in topics]
    return table, topics


def mastery_cell(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    """A grid cell with what the template shows: the percent rounded half up, and its band
    (below 50, 50-69, 70 or more) as a CSS class and as a word. Decided here once per cell:
    at 100 residents x 9 topics the template's comparisons were a fifth of the page's time."""
    if cell is None:
        return None
    percent = cell["percent"]
    band, word = (
        ("low", "low") if percent < 50 else ("mid", "middle") if percent < 70 else ("high", "high")
    )
    return {**cell, "rounded": math.floor(percent + 0.5), "band": band, "band_word": word}
