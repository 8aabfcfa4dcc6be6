"""Aggregate reads behind pages. Each function states the shape it returns."""

import datetime
import math
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
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
from django.db.models.functions import Cast, NullIf, RowNumber, TruncMonth
from django.utils import timezone

from .models import Assignment, Attempt, AttemptItem, Choice, Question, ResidentProfile, Topic


def topics_with_published_counts():
    """Topics in curriculum order, each annotated with ``published_count``: one query.

    The order is explicit because Django ignores Meta.ordering in GROUP BY queries."""
    return Topic.objects.annotate(
        published_count=Count("questions", filter=Q(questions__status=Question.Status.PUBLISHED))
    ).order_by("order", "name")


MIN_RESIDENTS_FOR_SHARES = 5


def first_attempt_choice_counts(question_ids) -> dict[int, dict]:
    """How residents answered each question the first time they met it: their first
    finished encounters (``first_encounter_items``).

    Returns ``{question_id: {"residents": n, "by_choice": {choice_pk: count}}}``; an
    unanswered first attempt counts towards ``residents`` under the key None. One query."""
    rows = (
        first_encounter_items()
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


# --- Scored items: what every resident figure counts ----------------------------------------
# An item counts once it is locked (scored): answered in tutor mode, or any item of a finished
# quiz, where an unanswered question scores as wrong, exactly as in the quiz's own score.


def _scored_items(*, cohort=None, **filters):
    return AttemptItem.objects.filter(locked_at__isnull=False, **filters).filter(
        visible_attempts(cohort, prefix="attempt__")
    )


def visible_attempts(cohort, *, prefix: str = "") -> Q:
    """What the educators of ``cohort`` may see of a resident's attempts: practice quizzes
    and this cohort's assignments, never another cohort's assignments. No limit for None
    (the resident's own view). ``prefix`` reaches the attempt from another model
    (``"attempt__"`` from an item)."""
    if cohort is None:
        return Q()
    return Q(**{f"{prefix}assignment__isnull": True}) | Q(**{f"{prefix}assignment__cohort": cohort})


_CORRECT_AS_NUMBER = Case(When(is_correct=True, then=1.0), default=0.0, output_field=FloatField())


def _percent(correct: int, total: int) -> float | None:
    return round(100 * correct / total, 1) if total else None


def resident_summary(user, *, cohort=None) -> dict:
    """``{"answered", "correct", "percent", "avg_seconds"}`` over the user's scored items
    (as the educators of ``cohort`` may see them, when given). ``avg_seconds`` averages
    questions the resident opened and answered. One query."""
    row = _scored_items(attempt__user=user, cohort=cohort).aggregate(
        answered=Count("id"),
        correct=Count("id", filter=Q(is_correct=True)),
        avg_seconds=Avg("seconds_spent", filter=Q(answered_at__isnull=False, seconds_spent__gt=0)),
    )
    row["percent"] = _percent(row["correct"], row["answered"])
    if row["avg_seconds"] is not None:
        row["avg_seconds"] = round(row["avg_seconds"])
    return row


def score_trend(user, *, limit: int = 20, cohort=None) -> list[dict]:
    """The user's last ``limit`` finished quizzes, oldest first:
    ``{"attempt": pk, "finished_at", "correct", "total", "percent", "mode"}``. One query."""
    rows = list(
        Attempt.objects.filter(user=user, status=Attempt.Status.FINISHED)
        .filter(visible_attempts(cohort))
        .order_by("-finished_at", "-id")
        .values("pk", "finished_at", "correct_count", "question_count", "mode")[:limit]
    )
    return [
        {
            "attempt": r["pk"],
            "finished_at": r["finished_at"],
            "correct": r["correct_count"],
            "total": r["question_count"],
            "percent": _percent(r["correct_count"], r["question_count"]),
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
        for r in _scored_items(attempt__user=user, cohort=cohort)
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
                "percent": _percent(c["correct"], c["answered"]),
            }
        )
    return rows


# --- confidence and miss types ---------------------------------------------------------


def _calibration_rows(counts: dict[str, tuple[int, int]]) -> list[dict]:
    rows = []
    for value, label in AttemptItem.Confidence.choices:
        answered, correct = counts.get(value, (0, 0))
        rows.append(
            {
                "confidence": value,
                "label": label,
                "answered": answered,
                "correct": correct,
                "percent": _percent(correct, answered),
            }
        )
    return rows


def calibration_of(items) -> list[dict]:
    """Per confidence (sure, unsure, guess, in that order): ``{"confidence", "label",
    "answered", "correct", "percent"}`` over the locked ``items`` that carry one. Well
    calibrated: "sure" near 100%, "guess" near chance. No query (items already read)."""
    counts: dict[str, tuple[int, int]] = {}
    for item in items:
        if item.locked_at is not None and item.confidence:
            answered, correct = counts.get(item.confidence, (0, 0))
            counts[item.confidence] = (answered + 1, correct + bool(item.is_correct))
    return _calibration_rows(counts)


def calibration(user, *, cohort=None) -> list[dict]:
    """``calibration_of`` every scored answer of ``user`` (as ``cohort``'s educators may
    see them, when given). One query."""
    rows = (
        _scored_items(attempt__user=user, cohort=cohort)
        .exclude(confidence="")
        .values("confidence")
        .annotate(answered=Count("id"), correct=Count("id", filter=Q(is_correct=True)))
        .order_by()
    )
    return _calibration_rows({r["confidence"]: (r["answered"], r["correct"]) for r in rows})


NO_TOPIC = "No topic"


def confident_misses(user, *, cohort=None) -> list[dict]:
    """The questions ``user`` answered wrongly while sure (the misconceptions that feel
    like knowledge), by topic in curriculum order: ``[{"topic", "questions": [{"question_id",
    "key", "lead_in", "times", "last"}]}]``, each topic's most recent first. A question in
    two topics is listed under both, one without a topic under NO_TOPIC, last. One query."""
    rows = (
        _scored_items(attempt__user=user, cohort=cohort)
        .filter(confidence=AttemptItem.Confidence.SURE, is_correct=False)
        .values(
            "question_id",
            "question__key",
            "question__lead_in",
            "question__topics",
            "question__topics__name",
            "question__topics__order",
        )
        .annotate(times=Count("id"), last=Max("locked_at"))
        .order_by("question__topics__order", "question__topics__name", "-last", "question_id")
    )
    groups: dict[int, dict] = {}
    for r in rows:
        topic_id = r["question__topics"]
        if topic_id not in groups:
            topic = Topic(
                pk=topic_id,
                name=r["question__topics__name"] or NO_TOPIC,
                order=r["question__topics__order"] or 0,
            )
            groups[topic_id] = {"topic": topic, "questions": []}
        groups[topic_id]["questions"].append(
            {
                "question_id": r["question_id"],
                "key": r["question__key"],
                "lead_in": r["question__lead_in"],
                "times": r["times"],
                "last": r["last"],
            }
        )
    return sorted(groups.values(), key=lambda g: g["topic"].pk is None)  # "No topic" last


def topics_by_question(question_ids) -> dict[int, list[Topic]]:
    """``{question_id: [Topic, ...]}`` in curriculum order; a question without a topic is
    missing. One query."""
    topics: dict[int, list[Topic]] = {}
    links = (
        Question.topics.through.objects.filter(question_id__in=set(question_ids))
        .select_related("topic")
        .order_by("topic__order", "topic__name")
    )
    for link in links:
        topics.setdefault(link.question_id, []).append(link.topic)
    return topics


def items_by_topic(items) -> list[dict]:
    """``items`` grouped under their questions' topics in curriculum order: ``[{"topic",
    "items"}]``; an item in two topics is under both, one in none under NO_TOPIC, last.
    One query, none for no items."""
    if not items:
        return []
    topics_of = topics_by_question(i.question_id for i in items)
    groups: dict[int, dict] = {}
    for item in items:
        for topic in topics_of.get(item.question_id, ()):
            groups.setdefault(topic.pk, {"topic": topic, "items": []})["items"].append(item)
    ordered = sorted(groups.values(), key=lambda g: (g["topic"].order, g["topic"].name))
    rest = [i for i in items if i.question_id not in topics_of]
    return ordered + ([{"topic": NO_TOPIC, "items": rest}] if rest else [])


def _miss_mix_rows(misses: dict, tagged: dict) -> list[dict]:
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
        _scored_items(attempt__user=user, cohort=cohort)
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
    return _miss_mix_rows(misses, tagged)


def cohort_miss_type_mix(cohort, *, table: list[dict]) -> dict:
    """Why the residents of ``cohort`` missed questions, over everything its educators may
    see: ``{"misses", "counts": [(label, n, percent of tagged)], "tagged", "untagged"}``.
    The misses are the cohort table's answered minus correct (``table``: ``cohort_table``'s
    rows), so only the tagged ones are read, from their partial index: one query. Counting
    the misses themselves cost the cohort page 100 ms at 2,000,000 answers."""
    misses = sum(row["answered"] - row["correct"] for row in table)
    tagged = dict(
        _scored_items(attempt__user__cohorts=cohort, cohort=cohort)
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
            (label, tagged.get(value, 0), _percent(tagged.get(value, 0), total_tagged))
            for value, label in AttemptItem.MissType.choices
        ],
    }


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


# --- Item analysis ---------------------------------------------------------------------------
# Classical test theory as Moodle's quiz statistics define it, computed from each resident's
# first finished encounter with a question:
# - facility: the share of those residents who got it right;
# - discrimination: the Pearson correlation between the item score (0/1) and the score on the
#   rest of the quiz it was in. Quizzes here differ in length, so the rest score is the
#   fraction right on the other questions; for quizzes of equal length this is Moodle's index.
# Every sum is taken in the database; Python only combines the five sums of each question.

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
        if self.facility < FACILITY_TOO_HARD:
            reasons.append(f"facility {self.facility:.2f} is below {FACILITY_TOO_HARD}")
        if self.facility > FACILITY_TOO_EASY:
            reasons.append(f"facility {self.facility:.2f} is above {FACILITY_TOO_EASY}")
        if self.discrimination is None or self.discrimination < DISCRIMINATION_TOO_LOW:
            shown = "undefined" if self.discrimination is None else f"{self.discrimination:.2f}"
            reasons.append(f"discrimination {shown} is below {DISCRIMINATION_TOO_LOW}")
        return reasons


def first_encounter_items() -> QuerySet[AttemptItem]:
    """Each resident's (non-staff user's) first finished encounter with each question: the
    rows ``engine.refresh_first_encounters`` marks as each attempt finishes. Ranking every
    answer on each read instead took 4.8 s for a 40-question results page at 2,000,000
    answers on PostgreSQL."""
    return AttemptItem.objects.filter(first_encounter=True, attempt__user__is_staff=False)


def assignment_items(assignment) -> QuerySet[AttemptItem]:
    """The items of an assignment's finished attempts (one attempt per resident)."""
    return AttemptItem.objects.filter(
        attempt__assignment=assignment, attempt__status=Attempt.Status.FINISHED
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
            computed_at=timezone.now(), items=item_analysis(first_encounter_items())
        )
        cache.set(BANK_ITEM_STATS_KEY, cached, BANK_ITEM_STATS_MAX_AGE)
    return cached


def flagged_question_ids(*, fresh: bool = False) -> dict[int, list[str]]:
    """Questions whose bank-wide item statistics look broken: ``{question_id: reasons}``
    (from ``bank_item_stats``)."""
    return {q: s.flags for q, s in bank_item_stats(fresh=fresh).items.items() if s.flags}


def item_report(questions: QuerySet[Question], item_stats: dict[int, ItemStats]) -> list[dict]:
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
        assignment=assignment, status=Attempt.Status.FINISHED
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


# --- Cohorts and assignments -----------------------------------------------------------------


def cohort_table(cohort) -> list[dict]:
    """One row per resident of the cohort, by username: ``{"user", "attempts", "answered",
    "correct", "percent", "last_activity"}`` (last activity: the latest quiz started or
    finished, or answer scored). Four queries whatever the number of residents or
    attempts."""
    residents = list(cohort.residents.order_by("username"))
    visible = Attempt.objects.filter(user__in=[u.pk for u in residents]).filter(
        visible_attempts(cohort)
    )
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
                "percent": _percent(i["correct"], i["answered"]),
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
        "percent": _percent(correct, answered),
    }


def cohort_topic_grid(cohort) -> dict[int, dict[int, dict]]:
    """Mastery per resident and topic: ``{user_id: {topic_id: {"answered", "correct",
    "percent"}}}``; missing pairs mean nothing answered. Counted per resident and question
    in the database, then added up per topic here (joining the topics first multiplied the
    rows to aggregate). Two queries."""
    per_question = list(
        _scored_items(attempt__user__cohorts=cohort, cohort=cohort)
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
            cell["percent"] = _percent(cell["correct"], cell["answered"])
    return grid


def _finished_percent(attempt) -> float | None:
    """An attempt's score in percent once finished; None before, or without an attempt."""
    if attempt is None or not attempt.is_finished:
        return None
    return _percent(attempt.correct_count, attempt.question_count)


def assignment_progress(assignment) -> list[dict]:
    """Each resident of the assignment's cohort with their attempt (None if not started):
    ``{"user", "attempt", "percent"}``, by username. Two queries."""
    attempts = {a.user_id: a for a in Attempt.objects.filter(assignment=assignment)}
    rows = []
    for user in assignment.cohort.residents.order_by("username"):
        attempt = attempts.get(user.pk)
        rows.append({"user": user, "attempt": attempt, "percent": _finished_percent(attempt)})
    return rows


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
            {"assignment": assignment, "attempt": attempt, "percent": _finished_percent(attempt)}
        )
    return rows
