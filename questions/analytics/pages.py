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
from django.db.models import Count, Q
from django.utils import timezone

from questions.analytics import charts, cohort_stats, item_stats, progress, release
from questions.authoring.citations import explanation_context
from questions.learning import calibration, recall
from questions.models import (
    Attempt,
    AttemptItem,
    Cohort,
    ErrorReport,
    Reference,
    ResidentProfile,
)
from questions.quizzes import control, drawing, engine, grading

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


def tutor_review(attempt: Attempt, item: AttemptItem, now: datetime.datetime) -> dict[str, Any]:
    """What a tutor-mode question page shows of a locked item, for its resident at ``now``:
    ``{"explained": the explanation, or None when held back, "held_until": when a question
    an assignment of their cohorts assesses comes back, "awaiting_release": the
    assignment whose results (and explanations) are not released yet}``. Held back, the
    answer is recorded and scored all the same; only the key and explanation wait. Two
    queries (two to four for an assignment's attempt: the assignment, its cohort, its
    grants)."""
    assignment = attempt.assignment if attempt.assignment_id is not None else None
    if assignment is not None and not assignment.results_released(now):
        return {
            "explained": None,
            "held_until": None,
            "awaiting_release": assignment,
            "release_info": release.release_info(assignment),
        }
    held = release.held_back(
        attempt.user_id, [item.question_id], now, except_assignment=attempt.assignment_id
    )
    if item.question_id in held:
        return {
            "explained": None,
            "held_until": held[item.question_id],
            "awaiting_release": None,
        }
    return {
        "explained": locked_item_explanation(item),
        "held_until": None,
        "awaiting_release": None,
    }


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
    """Seconds a question at the pace of the resident who took ``attempt``, as the quiz's
    clock was set (``quizzes.starting``): for practice, the standard pace
    (``settings.QUIZ_SECONDS_PER_QUESTION``) times the resident's own time setting; for an
    assignment, its time limit per question when it sets one (else the standard pace)
    times the educators' accommodation for the resident in its cohort (never their own
    setting). None when untimed. One query (none for practice when the attempt was read
    with its resident's profile), two more for an assignment not read with the attempt and
    its cohort."""
    assignment = attempt.assignment if attempt.assignment_id else None
    multiplier: float | None
    if assignment is not None:
        accommodation = control.accommodation_for(
            cohort=assignment.cohort, resident=attempt.user_id
        )
        multiplier = accommodation.multiplier if accommodation else 1.0
    else:
        profile = _profile_of(attempt)
        multiplier = profile.time_multiplier if profile else 1.0
    if multiplier is None:
        return None
    if assignment is not None and assignment.time_limit_minutes:
        per_question = assignment.time_limit_minutes * 60 / attempt.question_count
    else:
        per_question = settings.QUIZ_SECONDS_PER_QUESTION
    return round(per_question * multiplier)


def _profile_of(attempt: Attempt) -> ResidentProfile | None:
    """The profile of the resident who took ``attempt``: as read with it when it was
    (``select_related("user__resident_profile")``, as the results views read it; None
    there for a resident without one), else one query."""
    if Attempt._meta.get_field("user").is_cached(attempt):
        user = attempt.user
        if type(user)._meta.get_field("resident_profile").is_cached(user):
            # A missing profile was read as None: the accessor raises, getattr says None.
            return getattr(user, "resident_profile", None)
    return ResidentProfile.objects.filter(user_id=attempt.user_id).first()


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
    (``held_until`` on its row and explained item), and counts in none of the page's
    figures: the score, the topics and the confidence leave it out (``held_count``: how
    many were left out), since with one question in a topic the topic's figure would give
    it away. (An assignment attempt whose results are not released is not shown at all:
    ``release.is_awaiting``.) A fixed number of queries whatever the quiz's length (pinned
    in tests)."""
    row_filter = result_filter(row_filter)
    items = list(attempt.items.order_by("position"))
    question_ids = [item.question_id for item in items]
    held = (
        release.held_back(
            attempt.user_id,
            question_ids,
            now or timezone.now(),
            except_assignment=attempt.assignment_id,
        )
        if withhold
        else {}
    )
    counted = [item for item in items if item.question_id not in held]
    shares = item_stats.first_attempt_choice_counts(question_ids)
    topics_of = calibration.topics_by_question(question_ids)
    # Finished: it has its finish time and score (database constraints).
    used = (cast("datetime.datetime", attempt.finished_at) - attempt.started_at).total_seconds()
    context: dict[str, Any] = {
        "attempt": attempt,
        "score": grading.Score(
            correct=cast(int, attempt.correct_count)
            - sum(bool(item.is_correct) for item in items if item.question_id in held),
            total=len(counted) if held else attempt.question_count,
        ),
        "held_count": len(items) - len(counted),
        "seconds_used": int(used),
        "seconds_per_question": round(used / attempt.question_count),
        "pace_seconds": own_pace_seconds(attempt),
        "topics": progress.topic_breakdown(items, topics_of, held=held),
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
        "calibration": calibration.calibration_of(counted),
        "confident_misses": calibration.items_by_topic(
            [
                i
                for i in items
                if i.confidence == AttemptItem.Confidence.SURE
                and not i.is_correct
                and i.question_id not in held
            ],
            topics_of=topics_of,
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
    held = release.held_back(
        attempt.user_id,
        attempt.items.values("question_id"),
        now or timezone.now(),
        except_assignment=attempt.assignment_id,
    )
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


def dashboard_context(user, *, cohort: Cohort | None = None) -> dict[str, Any]:
    """A resident's standing: the figures, charts and lists of the dashboard. With
    ``cohort``, as that cohort's educators may see it (no other cohort's assignments, and
    every quiz rather than the last five). The resident's own view holds back what is still
    being assessed (``learning.withholding``): an assignment's results until they are
    released, and answers to questions an open assignment asks, from every figure; their
    educators' view holds back nothing. A fixed number of queries whatever the number of
    attempts (pinned in tests)."""
    now = timezone.now()
    own = cohort is None
    withhold_at = now if own else None
    engine.expire_overdue(Attempt.objects.filter(user=user))
    attempts = Attempt.objects.filter(user=user).visible_to(cohort).prefetch_related("topics")
    summary = progress.resident_summary(user, cohort=cohort, withhold_at=withhold_at)
    trend = progress.score_trend(user, cohort=cohort, withhold_at=withhold_at)
    mastery = progress.topic_mastery(
        user,
        topics=progress.topics_with_published_counts(),
        cohort=cohort,
        withhold_at=withhold_at,
    )
    profile = ResidentProfile.objects.filter(user=user).first()
    multiplier = profile.time_multiplier if profile else 1.0
    # The schedule is the resident's own, drawn from every quiz they took: not shown to a
    # cohort's educators, who see only that cohort's assignments and practice.
    recall_summary = recall.summary(user, now) if own else None
    # A "Quiz me" draws from practice, which holds back what an open assignment asks.
    held_in_topic = drawing.held_back_by_topic(user=user, now=now) if own else {}
    weakest = [
        dict(
            row,
            quiz_size=min(
                QUICK_QUIZ_SIZE,
                row["topic"].published_count - held_in_topic.get(row["topic"].pk, 0),
            ),
        )
        for row in progress.weakest_topics(mastery)
    ]
    recent = list(attempts[:5] if own else attempts)
    assignment_rows = progress.resident_assignments(user, cohort=cohort, now=now)
    # One pass for the recent quizzes and the assignments' finished attempts: their scores
    # leave out the answers another assignment still holds back.
    finished = [row["attempt"] for row in assignment_rows if row["state"] == "finished"]
    release.show_scores(user, recent + finished, now=withhold_at)
    return {
        "subject": user,
        # The resident's own quizzes in progress, first on their dashboard (not shown to
        # educators: a quiz counts for them once it is finished).
        "in_progress": quizzes_in_progress(user, now=now) if own else [],
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
        "percentile": progress.percentile_rank(user, own=summary if own else None),
        "min_peers": progress.MIN_PEERS_FOR_PERCENTILE,
        # Each with the resident's own due date and clock (the educators' accommodation and
        # grants; never the resident's own practice setting).
        "assignments": assignment_rows,
        "recall": recall_summary,
        "recall_quiz_size": min(recall.RECALL_QUIZ_SIZE, recall_summary["due"])
        if recall_summary
        else 0,
        "recall_start_token": uuid.uuid4(),
        "calibration": calibration.calibration(user, cohort=cohort, withhold_at=withhold_at),
        "confident_misses": calibration.confident_misses(
            user, cohort=cohort, withhold_at=withhold_at
        ),
        "miss_mix": progress.miss_type_mix(user, cohort=cohort, withhold_at=withhold_at),
        "recent_attempts": recent,
        "my_cohorts": list(user.cohorts.order_by("name")) if own else [],
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
        .select_related("assignment__cohort")
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
