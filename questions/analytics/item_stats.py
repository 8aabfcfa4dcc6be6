"""Item analysis: classical test theory over residents' first finished encounters (facility,
discrimination, choice shares, median time), the flags for items that look broken, the
bank-wide figures cached for at most ``BANK_ITEM_STATS_MAX_AGE`` seconds, and an
assignment's reliability (KR-20). Each function states the shape it returns."""

import datetime
import math
from dataclasses import dataclass, field
from typing import cast

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Max,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    When,
    Window,
)
from django.db.models.functions import Cast, NullIf, RowNumber
from django.utils import timezone

from questions.models import Attempt, AttemptItem, Choice, Question

MIN_RESIDENTS_FOR_SHARES = 5


def first_attempt_choice_counts(question_ids) -> dict[int, dict]:
    """How residents answered each question the first time they met it: their first
    finished encounters (``AttemptItem.objects.first_encounters()``).

    Returns ``{question_id: {"residents": n, "by_choice": {choice_pk: count}}}``; an
    unanswered first attempt counts towards ``residents`` under the key None. One query."""
    rows = (
        AttemptItem.objects.first_encounters()
        .filter(question_id__in=list(question_ids))
        .values("question_id", "selected_choice_pk")
        .annotate(n=Count("id"))
        .order_by()
    )
    result: dict[int, dict] = {}
    for row in rows:
        entry = result.setdefault(row["question_id"], {"residents": 0, "by_choice": {}})
        entry["residents"] += row["n"]
        entry["by_choice"][row["selected_choice_pk"]] = row["n"]
    return result


_CORRECT_AS_NUMBER = Case(When(is_correct=True, then=1.0), default=0.0, output_field=FloatField())

MIN_RESPONSES_FOR_FLAGS = 20

FACILITY_TOO_HARD = 0.2

FACILITY_TOO_EASY = 0.95

DISCRIMINATION_TOO_LOW = 0.1


@dataclass
class ItemStats:
    question_id: int
    responses: int
    correct: int
    discrimination: float | None
    median_seconds: float | None
    choice_counts: dict = field(default_factory=dict)  # Choice pk (None: no answer) -> count

    @property
    def facility(self) -> float | None:
        return self.correct / self.responses if self.responses else None

    @property
    def flags(self) -> list[str]:
        """Why the item looks broken; empty below MIN_RESPONSES_FOR_FLAGS responses."""
        if self.responses < MIN_RESPONSES_FOR_FLAGS:
            return []
        reasons = []
        # Responses past the minimum: facility is a number, not None.
        if cast(float, self.facility) < FACILITY_TOO_HARD:
            reasons.append(f"facility {self.facility:.2f} is below {FACILITY_TOO_HARD}")
        if cast(float, self.facility) > FACILITY_TOO_EASY:
            reasons.append(f"facility {self.facility:.2f} is above {FACILITY_TOO_EASY}")
        if self.discrimination is None or self.discrimination < DISCRIMINATION_TOO_LOW:
            shown = "undefined" if self.discrimination is None else f"{self.discrimination:.2f}"
            reasons.append(f"discrimination {shown} is below {DISCRIMINATION_TOO_LOW}")
        return reasons


def assignment_items(assignment) -> QuerySet[AttemptItem]:
    """The items of an assignment's finished first attempts: one per resident, so a
    second attempt an educator allowed (having seen the questions once) does not count."""
    return AttemptItem.objects.filter(
        attempt__assignment=assignment,
        attempt__status=Attempt.Status.FINISHED,
        attempt__attempt_number=1,
    )


def _pearson(n, sx, sy, sxy, syy) -> float | None:
    """Correlation of a 0/1 item score x with y from sums (x*x == x, so sxx == sx)."""
    if not n or n < 3:
        return None
    denominator = (n * sx - sx * sx) * (n * syy - sy * sy)
    if denominator <= 1e-12:
        return None
    return (n * sxy - sx * sy) / math.sqrt(denominator)


def item_analysis(items: QuerySet[AttemptItem]) -> dict[int, ItemStats]:
    """Per question among ``items``: responses, correct, discrimination, median seconds and
    choice counts, as ``{question_id: ItemStats}``. Three queries whatever the data size."""
    x = _CORRECT_AS_NUMBER
    y = (Cast("attempt__correct_count", FloatField()) - x) / Cast(
        NullIf(F("attempt__question_count") - 1, 0), FloatField()
    )
    has_rest = Q(attempt__question_count__gte=2)
    rows = (
        items.values("question_id")
        .annotate(
            responses=Count("id"),
            correct=Count("id", filter=Q(is_correct=True)),
            n=Count("id", filter=has_rest),
            sx=Sum(x, filter=has_rest),
            sy=Sum(y, filter=has_rest),
            sxy=Sum(x * y, filter=has_rest),
            syy=Sum(y * y, filter=has_rest),
        )
        .order_by()
    )
    result = {
        r["question_id"]: ItemStats(
            question_id=r["question_id"],
            responses=r["responses"],
            correct=r["correct"],
            discrimination=_pearson(r["n"], r["sx"], r["sy"], r["sxy"], r["syy"]),
            median_seconds=None,
        )
        for r in rows
    }
    for r in items.values("question_id", "selected_choice_pk").annotate(n=Count("id")).order_by():
        result[r["question_id"]].choice_counts[r["selected_choice_pk"]] = r["n"]
    for question_id, median in _median_seconds(items).items():
        result[question_id].median_seconds = median
    return result


def _median_seconds(items: QuerySet[AttemptItem]) -> dict[int, float]:
    """Median ``seconds_spent`` per question over the answers given (a question left
    unanswered or never opened says nothing about how long it takes): rank the rows of each
    question with a window function and keep the middle one (odd count) or two (even
    count). One query."""
    by_question = [F("question_id")]
    middle = (
        items.filter(answered_at__isnull=False, seconds_spent__gt=0)
        .annotate(
            rank=Window(RowNumber(), partition_by=by_question, order_by=[F("seconds_spent"), "id"]),
            size=Window(Count("id"), partition_by=by_question),
        )
        .filter(rank__gte=(F("size") + 1) / 2, rank__lte=(F("size") + 2) / 2)
        .values_list("question_id", "seconds_spent")
    )
    values: dict[int, list[int]] = {}
    for question_id, seconds in middle:
        values.setdefault(question_id, []).append(seconds)
    return {q: sum(v) / len(v) for q, v in values.items()}


# The bank's item statistics change only as residents finish quizzes, and one more resident
# moves a facility by a fraction of a percent: the item analysis page and the question
# admin's flags read them from the cache, at most this old. Computing them reads every first
# encounter (67,000 at 2,000,000 answers: about half a second on PostgreSQL).
BANK_ITEM_STATS_MAX_AGE = 600  # seconds

BANK_ITEM_STATS_KEY = "stats:bank-item-stats:v1"


@dataclass
class BankItemStats:
    computed_at: datetime.datetime
    items: dict[int, ItemStats]


def bank_item_stats(*, fresh: bool = False) -> BankItemStats:
    """``item_analysis`` of every first encounter, cached for BANK_ITEM_STATS_MAX_AGE
    seconds (``fresh``: computed now, and cached). No query from the cache; three when
    computed."""
    cached = None if fresh else cache.get(BANK_ITEM_STATS_KEY)
    if cached is None:
        cached = BankItemStats(
            computed_at=timezone.now(), items=item_analysis(AttemptItem.objects.first_encounters())
        )
        cache.set(BANK_ITEM_STATS_KEY, cached, BANK_ITEM_STATS_MAX_AGE)
    return cached


def flagged_question_ids(*, fresh: bool = False) -> dict[int, list[str]]:
    """Questions whose bank-wide item statistics look broken: ``{question_id: reasons}``
    (from ``bank_item_stats``)."""
    return {q: s.flags for q, s in bank_item_stats(fresh=fresh).items.items() if s.flags}


def item_analysis_rows(
    questions: QuerySet[Question], item_stats: dict[int, ItemStats]
) -> list[dict]:
    """Rows for an item table, by question key: ``{"question", "stats" (or None), "choices":
    [{"letter", "is_correct", "count", "percent"}], "omitted", "flags"}``. Two queries."""
    rows = []
    by_letter = Prefetch("choices", queryset=Choice.objects.order_by("letter"))
    for question in questions.prefetch_related(by_letter).order_by("key"):
        s = item_stats.get(question.pk)
        responses = s.responses if s else 0
        choices = []
        for choice in question.choices.all():
            n = s.choice_counts.get(choice.pk, 0) if s else 0
            choices.append(
                {
                    "letter": choice.letter,
                    "is_correct": choice.is_correct,
                    "count": n,
                    "percent": round(100 * n / responses) if responses else None,
                }
            )
        rows.append(
            {
                "question": question,
                "stats": s,
                "choices": choices,
                "omitted": s.choice_counts.get(None, 0) if s else 0,
                "flags": s.flags if s else [],
            }
        )
    return rows


def reliability(assignment, item_stats: dict[int, ItemStats]) -> dict | None:
    """KR-20 (Cronbach's alpha for items scored 0/1) of an assignment's finished attempts.

    ``{"residents": n, "items": k, "mean": m, "sd": s, "alpha": a, "se_alpha": e,
    "sem": t}``: ``se_alpha`` is the asymptotic standard error of alpha under compound
    symmetry, (1 - alpha) * sqrt(2k / ((k - 1) n)) (van Zyl, Neudecker & Nel 2000);
    ``sem`` is Moodle's "standard error", the standard error of measurement in questions,
    sd * sqrt(1 - alpha). Population variances throughout. None below 2 residents or 2
    items, when residents answered different numbers of questions, or when every resident
    scored the same. One query (plus ``item_stats``)."""
    totals = Attempt.objects.filter(
        assignment=assignment, status=Attempt.Status.FINISHED, attempt_number=1
    ).aggregate(
        n=Count("id"),
        total=Sum("correct_count"),
        squares=Sum(F("correct_count") * F("correct_count")),
        k=Max("question_count"),
        k_min=Min("question_count"),
    )
    n, k = totals["n"], totals["k"]
    # Residents who started after a question was retired answered one fewer: the test
    # is then not the same for everyone, and KR-20 is not defined.
    if n < 2 or k < 2 or totals["k_min"] != k:
        return None
    mean = totals["total"] / n
    variance = totals["squares"] / n - mean * mean
    if variance <= 1e-12:
        return None
    # Items no finished attempt reached have p = 0 and add nothing to the sum.
    item_variance = sum((s.correct / n) * (1 - s.correct / n) for s in item_stats.values())
    alpha = k / (k - 1) * (1 - item_variance / variance)
    sd = math.sqrt(variance)
    return {
        "residents": n,
        "items": k,
        "mean": mean,
        "sd": sd,
        "alpha": alpha,
        "se_alpha": (1 - alpha) * math.sqrt(2 * k / ((k - 1) * n)),
        "sem": sd * math.sqrt(max(0.0, 1 - alpha)),
    }
