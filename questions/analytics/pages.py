"""Page assemblers: everything the results pages, the notes page, a dashboard or a cohort
table show, as a template context, for the views of every audience (a resident's own pages
and their educators' view of them share these).

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
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.db.models.functions import Trim
from django.utils import timezone

from questions.analytics import charts, cohort_stats, item_stats, progress
from questions.authoring.citations import explanation_context
from questions.learning import calibration, recall
from questions.models import (
    Attempt,
    AttemptItem,
    Cohort,
    ErrorReport,
    Reference,
    ResidentProfile,
    pending_assessments,
)
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
        "diagram": item.shown.get("explanation_diagram"),
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


# The results page's filters: what each keeps, in the order the page offers them.
RESULT_FILTERS: dict[str, str] = {
    "all": "All",
    "incorrect": "Incorrect",
    "flagged": "Flagged",
    "guessed": "Guessed or unsure",
    "notes": "With notes",
}


def result_filter(value: str | None) -> str:
    """The filter a request names, "all" for anything else."""
    return value if value in RESULT_FILTERS else "all"


def _filter_query(name: str) -> str:
    """The query string that keeps a filter on the links of the results pages."""
    return "" if name == "all" else f"?filter={name}"


def held_back(user_id: int, question_ids, now: datetime.datetime) -> dict[int, Any]:
    """Of ``question_ids`` (ids, or a values subquery), those an assignment of the user's
    cohorts assesses and that is not yet due, each with the latest such due date: their
    keys stay off the user's own results pages until then (``QuestionQuerySet.assessed_for``
    keeps them out of practice). One query."""
    held: dict[int, Any] = {}
    for question_id, due_at in (
        pending_assessments(user_id, now)
        .filter(question_id__in=question_ids)
        .values_list("question_id", "assignment__due_at")
    ):
        held[question_id] = max(due_at, held.get(question_id, due_at))
    return held


def _in_filter(item: AttemptItem, name: str, held: Mapping[int, Any] | None = None) -> bool:
    """Whether ``item`` (position, is_correct, is_flagged, confidence and note loaded) is
    kept by the filter ``name``. Unanswered questions count as incorrect, as in the score;
    a question held back (``held``) is in no filter that would tell whether it was right."""
    if name == "incorrect":
        return not item.is_correct and item.question_id not in (held or {})
    if name == "flagged":
        return item.is_flagged
    if name == "guessed":
        return item.confidence in (AttemptItem.Confidence.GUESS, AttemptItem.Confidence.UNSURE)
    if name == "notes":
        return bool(item.note.strip())
    return True


def _filter_counts(
    items: list[AttemptItem], active: str, held: Mapping[int, Any] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": label,
            "count": sum(_in_filter(item, name, held) for item in items),
            "is_active": name == active,
        }
        for name, label in RESULT_FILTERS.items()
    ]


def own_pace_seconds(attempt: Attempt) -> int | None:
    """Seconds a question at the pace of the resident who took ``attempt``: the assignment's
    time limit per question when it sets one, else the standard pace
    (``settings.QUIZ_SECONDS_PER_QUESTION``), times the resident's time multiplier, as the
    quiz's clock is set (``quizzes.starting``). None for an untimed setting. One query, two
    for an assignment not read with the attempt."""
    profile = ResidentProfile.objects.filter(user_id=attempt.user_id).first()
    multiplier = profile.time_multiplier if profile else 1.0
    if multiplier is None:
        return None
    assignment = attempt.assignment if attempt.assignment_id else None
    if assignment is not None and assignment.time_limit_minutes:
        per_question = assignment.time_limit_minutes * 60 / attempt.question_count
    else:
        per_question = settings.QUIZ_SECONDS_PER_QUESTION
    return round(per_question * multiplier)


def _share_correct(item: AttemptItem, counts: Mapping[str, Any] | None) -> int | None:
    """Percent of residents whose first encounter with the item's question was right, once
    at least MIN_RESIDENTS_FOR_SHARES of them met it (as ``_explained`` shows choices)."""
    if counts is None or counts["residents"] < item_stats.MIN_RESIDENTS_FOR_SHARES:
        return None
    key = next((c["choice_id"] for c in item.shown["choices"] if c["is_correct"]), None)
    return round(100 * counts["by_choice"].get(key, 0) / counts["residents"])


def results_context(
    attempt: Attempt,
    *,
    row_filter: str = "all",
    explained: bool = True,
    withhold: bool = True,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """Everything the results page shows for a finished attempt (to its resident, and to
    the educators of a cohort that may see it): the score, the times against the resident's
    own pace, the topics, calibration, and a row per question (``rows``: the item, its
    topics, ``share_correct``: the percent of residents right at their first encounter, None
    below MIN_RESIDENTS_FOR_SHARES) kept by ``row_filter`` (``filters``: each with its count).
    With ``explained``, every item's explanation too (``explained_items``: the long page, for
    printing). With ``withhold`` (the resident's own pages), a question an assignment of
    their cohorts assesses until it is due shows no result, share or explanation
    (``held_until`` on its row and explained item). A fixed number of queries whatever the
    quiz's length (pinned in tests)."""
    row_filter = result_filter(row_filter)
    items = list(attempt.items.order_by("position"))
    question_ids = [item.question_id for item in items]
    held = held_back(attempt.user_id, question_ids, now or timezone.now()) if withhold else {}
    shares = item_stats.first_attempt_choice_counts(question_ids)
    topics_of = calibration.topics_by_question(question_ids)
    # Finished: it has its finish time and score (database constraints).
    used = (cast("datetime.datetime", attempt.finished_at) - attempt.started_at).total_seconds()
    context: dict[str, Any] = {
        "attempt": attempt,
        "score": grading.Score(
            correct=cast(int, attempt.correct_count), total=attempt.question_count
        ),
        "seconds_used": int(used),
        "seconds_per_question": round(used / attempt.question_count),
        "pace_seconds": own_pace_seconds(attempt),
        "topics": progress.topic_breakdown(attempt),
        "active_filter": row_filter,
        "filter_query": _filter_query(row_filter),
        "filters": _filter_counts(items, row_filter, held),
        "rows": [
            {
                "item": item,
                "topics": topics_of.get(item.question_id, []),
                "held_until": held.get(item.question_id),
                "share_correct": None
                if item.question_id in held
                else _share_correct(item, shares.get(item.question_id)),
            }
            for item in items
            if _in_filter(item, row_filter, held)
        ],
        "miss_types": AttemptItem.MissType.choices,
        "min_residents": item_stats.MIN_RESIDENTS_FOR_SHARES,
        "calibration": calibration.calibration_of(items),
        "confident_misses": calibration.items_by_topic(
            [
                i
                for i in items
                if i.confidence == AttemptItem.Confidence.SURE
                and not i.is_correct
                and i.question_id not in held
            ]
        ),
    }
    if explained:
        citations = _frozen_citations(items)
        reported = {
            r.attempt_item_id: r
            for r in ErrorReport.objects.filter(
                attempt_item__attempt=attempt, reporter_id=attempt.user_id
            )
        }
        context["report_kinds"] = ErrorReport.Kind.choices
        context["explained_items"] = [
            {"item": item, "report": reported.get(item.pk), "held_until": held[item.question_id]}
            if item.question_id in held
            else {
                "item": item,
                "report": reported.get(item.pk),
                **_explained(item, citations[item.pk], shares),
            }
            for item in items
        ]
    return context


def result_item_context(
    attempt: Attempt,
    position: int,
    *,
    row_filter: str = "all",
    now: datetime.datetime | None = None,
) -> dict:
    """One question of a finished attempt in full, as its result page shows it: the question,
    its explanation (with residents' shares), the resident's answer, confidence, miss reason and
    note, the question's key, and the previous and next positions kept by ``row_filter``.
    Raises AttemptItem.DoesNotExist for a position the attempt does not have. A question
    an assignment of the resident's cohorts assesses until it is due shows no result or
    explanation (``held_until``). A fixed number of queries whatever the quiz's length."""
    row_filter = result_filter(row_filter)
    item = attempt.items.select_related("question").get(position=position)
    marks = attempt.items.order_by("position").only(
        "attempt_id", "position", "question_id", "is_correct", "is_flagged", "confidence", "note"
    )
    held = held_back(attempt.user_id, attempt.items.values("question_id"), now or timezone.now())
    kept = [mark.position for mark in marks if _in_filter(mark, row_filter, held)]
    held_until = held.get(item.question_id)
    shares = item_stats.first_attempt_choice_counts([item.question_id])
    return {
        "attempt": attempt,
        "item": item,
        "held_until": held_until,
        "explained": None
        if held_until
        else _explained(item, _frozen_citations([item])[item.pk], shares),
        "topics": calibration.topics_by_question([item.question_id]).get(item.question_id, []),
        "active_filter": row_filter,
        "filter_query": _filter_query(row_filter),
        "filter_label": RESULT_FILTERS[row_filter],
        "kept_count": len(kept),
        "kept_index": kept.index(position) + 1 if position in kept else None,
        "previous_position": max((p for p in kept if p < position), default=None),
        "next_position": min((p for p in kept if p > position), default=None),
        "pace_seconds": own_pace_seconds(attempt),
        "report": ErrorReport.objects.filter(attempt_item=item, reporter_id=attempt.user_id)
        .order_by("-pk")
        .first(),
        "report_kinds": ErrorReport.Kind.choices,
        "miss_types": AttemptItem.MissType.choices,
        "min_residents": item_stats.MIN_RESIDENTS_FOR_SHARES,
    }


NOTES_PER_PAGE = 25


def notes_context(user, *, page: str | int | None = None) -> dict[str, Any]:
    """The resident's notes on questions, newest note first, NOTES_PER_PAGE a page
    (``page_obj``, a Django Page): each row with its item and attempt, the question's topics
    and the first line of its frozen stem, and whether the quiz is finished. A quiz in
    progress is never explained here: its rows carry only the question's page
    (``question_url``). Overdue quizzes are finished first. A fixed number of queries."""
    engine.expire_overdue(Attempt.objects.filter(user=user))
    notes = (
        AttemptItem.objects.filter(attempt__user=user)
        .annotate(note_text=Trim("note"))
        .exclude(note_text="")
        .select_related("attempt")
        .order_by(F("note_updated_at").desc(nulls_last=True), "-pk")
    )
    page_obj = Paginator(notes, NOTES_PER_PAGE).get_page(page)
    items = list(page_obj.object_list)
    topics_of = calibration.topics_by_question(i.question_id for i in items) if items else {}
    return {
        "page_obj": page_obj,
        "rows": [
            {
                "item": item,
                "attempt": item.attempt,
                "topics": topics_of.get(item.question_id, []),
                "stem_first_line": next(
                    (line.strip() for line in item.shown["stem"].splitlines() if line.strip()),
                    "",
                ),
                "is_finished": item.attempt.is_finished,
                "question_url": (
                    None if item.attempt.is_finished else item.attempt.question_url(item.position)
                ),
            }
            for item in items
        ],
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
    now = timezone.now()
    return {
        "subject": user,
        # The resident's own quizzes in progress, first on their dashboard (not shown to
        # educators: a quiz counts for them once it is finished).
        "in_progress": quizzes_in_progress(user, now=now) if cohort is None else [],
        "summary": summary,
        # The resident's own pace (None: their untimed setting).
        "pace_seconds": round(settings.QUIZ_SECONDS_PER_QUESTION * multiplier)
        if multiplier is not None
        else None,
        "trend": trend,
        "trend_chart": charts.score_trend(trend, label="Percent correct in each finished quiz"),
        "mastery": mastery,
        "mastery_chart": charts.topic_mastery(mastery, label="Percent correct by topic"),
        "weakest": weakest,
        "quick_quiz_size": QUICK_QUIZ_SIZE,
        "min_answered_for_weakest": progress.MIN_ANSWERED_FOR_WEAKEST,
        "percentile": progress.percentile_rank(user),
        "min_peers": progress.MIN_PEERS_FOR_PERCENTILE,
        "assignments": with_own_time(
            progress.resident_assignments(user, cohort=cohort), multiplier=multiplier
        ),
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
        "now": now,
    }


def quizzes_in_progress(user, *, now: datetime.datetime) -> list[dict[str, Any]]:
    """The user's quizzes in progress (overdue ones already finished), most recently
    started first, each ``{"attempt", "answered", "seconds_left", "is_paused", "due_at",
    "can_discard"}``: ``answered`` counts the items with a choice; ``seconds_left`` is a
    timed quiz's time left by the server's clock at ``now`` (while paused: what resuming
    gives back), None without a clock; ``due_at`` a tutor assignment's due date;
    ``can_discard`` for practice quizzes but exam simulations' blocks
    (``starting.discard_attempt``). Two queries,
    whatever the number of quizzes."""
    attempts = (
        Attempt.objects.filter(user=user, status=Attempt.Status.IN_PROGRESS)
        .select_related("assignment")
        .prefetch_related("topics")
        .annotate(answered=Count("items", filter=~Q(items__selected_letter="")))
        .order_by("-started_at", "-pk")
    )
    rows = []
    for attempt in attempts:
        seconds_left = None
        if attempt.mode == Attempt.Mode.TIMED and attempt.deadline_at is not None:
            paused = attempt.paused_at is not None and attempt.deadline_before_pause is not None
            end = attempt.deadline_before_pause if paused else attempt.deadline_at
            since = cast("datetime.datetime", attempt.paused_at) if paused else now
            seconds_left = max(0, int((cast("datetime.datetime", end) - since).total_seconds()))
        rows.append(
            {
                "attempt": attempt,
                "answered": attempt.answered,  # type: ignore[attr-defined]  # annotated
                "seconds_left": seconds_left,
                "is_paused": attempt.paused_at is not None,
                "due_at": attempt.deadline_at if attempt.mode == Attempt.Mode.TUTOR else None,
                "can_discard": attempt.assignment_id is None and attempt.simulation_id is None,
            }
        )
    return rows


def with_own_time(rows: list[dict[str, Any]], *, multiplier: float | None) -> list[dict[str, Any]]:
    """Assignment rows (``progress.resident_assignments``), each with ``own_seconds``: the
    clock a timed assignment gives this resident (its time limit, or the standard pace a
    question, times their multiplier, as ``starting.start_assignment`` sets it), None for
    tutor mode or an untimed setting. No query."""
    for row in rows:
        assignment = row["assignment"]
        row["own_seconds"] = None
        if assignment.mode == Attempt.Mode.TIMED and multiplier is not None:
            row["own_seconds"] = (
                round(assignment.time_limit_minutes * 60 * multiplier)
                if assignment.time_limit_minutes
                else grading.time_limit_seconds(
                    question_count=assignment.question_count,
                    timed=True,
                    multiplier=multiplier,
                    seconds_per_question=settings.QUIZ_SECONDS_PER_QUESTION,
                )
            )
    return rows


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
