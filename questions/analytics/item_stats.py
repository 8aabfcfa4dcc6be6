"""Item analysis: classical test theory over residents' first finished encounters (facility,
discrimination, choice shares, median time), the flags for items that look broken, the
bank-wide figures read from running totals (``questions/models/item_totals.py``) and cached
for at most ``BANK_ITEM_STATS_MAX_AGE`` seconds, and an assignment's reliability (KR-20).
Each function states the shape it returns."""

import datetime
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import cast

from django.core.cache import cache
from django.db import connections
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
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, NullIf, RowNumber
from django.utils import timezone

from questions.models import (
    Attempt,
    AttemptItem,
    Choice,
    ItemChoiceCount,
    ItemSecondsCount,
    ItemTotal,
    Question,
    item_totals,
)

MIN_RESIDENTS_FOR_SHARES = 5


def first_attempt_choice_counts(question_ids) -> dict[int, dict]:
    """How residents answered each question the first time they met it: their first
    finished encounters (``AttemptItem.objects.first_encounters()``), as the running totals
    count them (``ItemChoiceCount``, less staff's rows).

    Returns ``{question_id: {"residents": n, "by_choice": {choice_pk: count}}}``; an
    unanswered first attempt counts towards ``residents`` under the key None. One query."""
    result: dict[int, dict] = {}
    for question_id, choice_pk, n in _first_choices(list(question_ids)):
        entry = result.setdefault(question_id, {"residents": 0, "by_choice": {}})
        entry["residents"] += n
        entry["by_choice"][choice_pk] = n
    return result


def _first_choices(question_ids: list[int] | None = None) -> list[tuple[int, int | None, int]]:
    """``(question_id, choice_pk, n)``: how many residents' first encounters with each
    question (of ``question_ids``, all when None) picked each choice, None for no answer;
    the running totals less staff's rows. One query."""
    totals = ItemChoiceCount.objects.all()
    staff = _staff_first_encounters()
    if question_ids is not None:
        totals = totals.filter(question_id__in=question_ids)
        staff = staff.filter(question_id__in=question_ids)
    counts = _less_staff(
        totals, item_totals.choice_counts(staff), ("question_id", "choice_pk", "responses")
    )
    return [
        (question_id, None if choice_pk == item_totals.NO_CHOICE else choice_pk, n)
        for (question_id, choice_pk), (n,) in counts.items()
    ]


def _staff_first_encounters() -> QuerySet[AttemptItem]:
    """The first encounters the running totals count and the item statistics do not."""
    return AttemptItem.objects.filter(first_encounter=True, attempt__user__is_staff=True)


def _and_staff_negated(totals: QuerySet, staff: QuerySet, columns: tuple[str, ...]) -> QuerySet:
    """A running-totals table's rows and the same sums over staff's first encounters
    (``staff``, one of ``item_totals``' grouped querysets) as one UNION ALL, each row
    ending with its sign: 1, or -1 for staff's, to subtract. Whether an account is staff can
    change at any time, so staff's rows (few) are taken out as the figures are read."""
    rows = totals.annotate(sign=Value(1)).values_list(*columns, "sign")
    return rows.union(staff.annotate(sign=Value(-1)).values_list(*columns, "sign"), all=True)


def _less_staff(
    totals: QuerySet, staff: QuerySet, columns: tuple[str, ...]
) -> dict[tuple, list[int]]:
    """``_and_staff_negated`` added up: ``{key: [sums]}``, the key the first two of the
    ``columns`` (question and length, choice or second), without the rows left at zero.
    One query."""
    merged: dict[tuple, list[int]] = {}
    for *row, sign in _and_staff_negated(totals, staff, columns):
        sums = merged.setdefault(tuple(row[:2]), [0] * (len(row) - 2))
        for index, value in enumerate(row[2:]):
            sums[index] += sign * value
    return {key: sums for key, sums in merged.items() if any(sums)}


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


def bank_item_analysis() -> dict[int, ItemStats]:
    """``item_analysis`` of every first encounter (``AttemptItem.objects.first_encounters()``,
    staff's left out), read from the running totals (``questions.models.item_totals``): the
    same figures, counts and medians identical, the discrimination computed in exact
    rational arithmetic from integer sums (the SQL's float sums agree to about 1e-14).
    ``{question_id: ItemStats}``; three queries, of a few rows per question."""
    staff = _staff_first_encounters()
    totals = _less_staff(
        ItemTotal.objects.all(),
        item_totals.total_sums(staff),
        ("question_id", "question_count", *item_totals.TOTAL_SUMS),
    )
    by_question: dict[int, list[tuple[int, list[int]]]] = {}
    for (question_id, length), sums in totals.items():
        by_question.setdefault(question_id, []).append((length, sums))
    result = {
        question_id: ItemStats(
            question_id=question_id,
            responses=sum(sums[0] for _, sums in lengths),
            correct=sum(sums[1] for _, sums in lengths),
            discrimination=_exact_discrimination(lengths),
            median_seconds=None,
        )
        for question_id, lengths in by_question.items()
    }
    for question_id, choice_pk, n in _first_choices():
        result[question_id].choice_counts[choice_pk] = n
    for question_id, median in _median_seconds_from_totals(staff).items():
        result[question_id].median_seconds = median
    return result


def _exact_discrimination(lengths: list[tuple[int, list[int]]]) -> float | None:
    """``item_analysis``' discrimination from ItemTotal's sums per quiz length: y = r / (length
    - 1) for the quizzes of two questions or more, its sums added as fractions (each length's
    divides by its own length - 1), then ``_pearson``'s formula in exact arithmetic, to its
    last square root (so a variance is zero only when it is, with no float tolerance)."""
    n, sx, sy, sxy, syy = 0, 0, Fraction(0), Fraction(0), Fraction(0)
    for length, (responses, correct, rest, correct_rest, rest_squares) in lengths:
        if length < 2:
            continue
        n, sx = n + responses, sx + correct
        sy += Fraction(rest, length - 1)
        sxy += Fraction(correct_rest, length - 1)
        syy += Fraction(rest_squares, (length - 1) ** 2)
    if n < 3:
        return None
    denominator = (n * sx - sx * sx) * (n * syy - sy * sy)
    if denominator <= 0:
        return None
    return float(n * sxy - sx * sy) / math.sqrt(denominator)


# The median read from the counts per second (ItemSecondsCount, less staff's: a left join,
# which keeps the table's index order): per question, the running count up to each second
# (a window), and the one or two seconds holding the middle ranks, (size + 1) / 2 and
# (size + 2) / 2 counted from 1 (integer division). In SQL, so that two rows a question
# come back instead of every second's count: reading the 21,000 counts of 2,000,000 answers
# into Python made the whole analysis three times slower. The ORM cannot join a grouped
# subquery this way, hence the SQL.
_MEDIAN_FROM_COUNTS = """
WITH staff (question_id, seconds, responses) AS ({staff})
SELECT question_id, seconds FROM (
    SELECT question_id, seconds, n,
        SUM(n) OVER (PARTITION BY question_id ORDER BY seconds) AS upto,
        SUM(n) OVER (PARTITION BY question_id) AS size
    FROM (
        SELECT counts.{question} AS question_id, counts.{seconds} AS seconds,
            counts.{responses} - CAST(COALESCE(staff.responses, 0) AS INTEGER) AS n
        FROM {table} counts LEFT JOIN staff
            ON staff.question_id = counts.{question} AND staff.seconds = counts.{seconds}
        WHERE counts.{seconds} > {not_timed}
    ) less_staff
) ranked
WHERE n > 0 AND upto >= (size + 1) / 2 AND upto - n < (size + 2) / 2
"""


def _median_seconds_from_totals(staff: QuerySet[AttemptItem]) -> dict[int, float]:
    """``_median_seconds`` of the first encounters, from the running counts per second:
    ``{question_id: median}``, the middle value or the mean of the middle two. One query."""
    staff_counts = item_totals.seconds_counts(staff)
    using = staff_counts.db
    connection = connections[using]
    staff_sql, params = staff_counts.query.get_compiler(using=using).as_sql()
    quote = connection.ops.quote_name
    columns = {
        name: quote(item_totals.column(ItemSecondsCount, name))
        for name in ("question", "seconds", "responses")
    }
    sql = _MEDIAN_FROM_COUNTS.format(
        staff=staff_sql,
        table=quote(ItemSecondsCount._meta.db_table),
        not_timed=int(item_totals.NOT_TIMED),
        **columns,
    )
    values: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for question_id, seconds in cursor.fetchall():
            values.setdefault(question_id, []).append(seconds)
    return {q: sum(v) / len(v) for q, v in values.items()}


# The bank's item statistics change only as residents finish quizzes, and one more resident
# moves a facility by a fraction of a percent: the item analysis page and the question
# admin's flags read them from the cache, at most this old. Computed from the running totals
# (bank_item_analysis), a few rows per question: 29 ms at 2,000,000 answers on PostgreSQL,
# where recomputing them from every first encounter took 474 ms, measured side by side.
BANK_ITEM_STATS_MAX_AGE = 600  # seconds

BANK_ITEM_STATS_KEY = "stats:bank-item-stats:v1"


@dataclass
class BankItemStats:
    computed_at: datetime.datetime
    items: dict[int, ItemStats]


def bank_item_stats(*, fresh: bool = False) -> BankItemStats:
    """``bank_item_analysis``, cached for BANK_ITEM_STATS_MAX_AGE seconds (``fresh``:
    computed now, and cached). No query from the cache; three when computed."""
    cached = None if fresh else cache.get(BANK_ITEM_STATS_KEY)
    if cached is None:
        cached = BankItemStats(computed_at=timezone.now(), items=bank_item_analysis())
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
