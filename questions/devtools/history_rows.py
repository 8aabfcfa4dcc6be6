"""The rows of the synthetic history (``questions.devtools.history``): each question's
difficulty and discrimination, each attempt's items answered with an IRT probability, the
frozen wording computed once per question, and the batches written with ``bulk_create``.
The shares and timings below are what the generated history looks like."""

from __future__ import annotations

import datetime
import json
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import connection

from questions.models import (
    Attempt,
    AttemptItem,
    Question,
)
from questions.quizzes import grading, starting

if TYPE_CHECKING:
    from django.db.models import Field

HISTORY_DAYS = 730

TIMED_SHARE = 0.6

FLAGGED_SHARE = 0.03

SKIPPED_SHARE = 0.02

# Confidence, given with about 60% of answers: residents are sure more often when right, and
# still sure of about a quarter of their wrong answers (the misconceptions). About 30% of
# misses get a reason tagged; a question the clock ran out on is tagged "time".
CONFIDENCE_SHARE = 0.6

CONFIDENCE_WEIGHTS = {True: (0.6, 0.3, 0.1), False: (0.25, 0.45, 0.3)}  # sure, unsure, guess

MISS_TAGGED_SHARE = 0.3

MISS_REASON_WEIGHTS = (0.5, 0.2, 0.3)  # knowledge gap, misread, reasoning error

# Seconds a question, log-normal around these medians (means near 80 and 90 s): under the
# clock residents keep to the 90 s pace, so about one timed attempt in twelve runs out.
MEDIAN_SECONDS = {"timed": 68, "tutor": 76}


@dataclass
class HistorySummary:
    """Rows written per table, and the seconds it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count

    def insert(self, table: str, model, rows: list, batch_size: int) -> list:
        """bulk_create ``rows`` of ``model`` and count them under ``table``."""
        created = model.objects.bulk_create(rows, batch_size=batch_size)
        self.add(table, len(created))
        return created


@dataclass(frozen=True)
class BankItem:
    """A question as the generator sees it: its engine snapshot and IRT parameters."""

    question_id: int
    base: dict
    correct_index: int
    difficulty: float
    discrimination: float


def bank_items(rng: random.Random) -> list[BankItem]:
    questions = Question.objects.published().with_bank_relations().order_by("key")
    items = []
    for question in questions:
        # The engine's own snapshot, once per question; only its choice order varies later.
        base = starting.snapshot(question, random.Random(0))
        base["choices"].sort(key=lambda c: c["choice_id"])
        items.append(
            BankItem(
                question_id=question.pk,
                base=base,
                correct_index=next(i for i, c in enumerate(base["choices"]) if c["is_correct"]),
                difficulty=(question.difficulty - 2) * 0.8 + rng.gauss(0, 0.5),
                discrimination=rng.uniform(0.6, 1.8),
            )
        )
    return items


class Snapshots:
    """``shown`` for a question with its choices in a given order, built once per order."""

    def __init__(self):
        self._cache: dict[tuple[int, tuple[int, ...]], dict] = {}
        self._json: dict[int, str] = {}  # id of a cached snapshot -> its JSON text

    def json(self, shown: dict) -> str:
        text = self._json.get(id(shown))
        if text is None:
            text = self._json[id(shown)] = json.dumps(shown)
        return text

    def get(self, item: BankItem, order: tuple[int, ...]) -> dict:
        key = (item.question_id, order)
        shown = self._cache.get(key)
        if shown is None:
            choices = item.base["choices"]
            shown = dict(
                item.base,
                choices=[
                    dict(choices[index], letter=grading.LETTERS[position])
                    for position, index in enumerate(order)
                ],
            )
            self._cache[key] = shown
        return shown


def answer_seconds(rng: random.Random, median: int) -> int:
    return int(min(600, max(5, rng.lognormvariate(math.log(median), 0.55))))


# The columns of an attempt item, in the order attempt_rows builds each row.
ITEM_FIELDS = (
    "position",
    "question_id",
    "shown",
    "selected_letter",
    "selected_choice_pk",
    "answered_at",
    "locked_at",
    "is_correct",
    "is_flagged",
    "seconds_spent",
    "first_encounter",
    "confidence",
    "miss_type",
)


def confidence_for(rng: random.Random, answered: bool, right: bool) -> str:
    if not answered or rng.random() >= CONFIDENCE_SHARE:
        return ""
    levels = AttemptItem.Confidence.values  # sure, unsure, guess
    return rng.choices(levels, weights=CONFIDENCE_WEIGHTS[right], k=1)[0]


def miss_reason_for(rng: random.Random, right: bool, late: bool) -> str:
    if right or rng.random() >= MISS_TAGGED_SHARE:
        return ""
    if late:
        return AttemptItem.MissType.TIME
    reasons = [
        AttemptItem.MissType.KNOWLEDGE,
        AttemptItem.MissType.MISREAD,
        AttemptItem.MissType.REASONING,
    ]
    return rng.choices(reasons, weights=MISS_REASON_WEIGHTS, k=1)[0]


def attempt_rows(
    *,
    user,
    met,
    profile,
    ability,
    start,
    bank,
    questions,
    snapshots,
    rng,
    learning_rng,
    seconds_per_question,
) -> tuple[Attempt, list[tuple]]:
    """One finished attempt and its items (tuples in ITEM_FIELDS order), as the engine
    would have left them. ``met``: the questions of the resident's earlier attempts, which
    this one adds to (its other questions are first encounters). Confidence and miss
    reasons come from ``learning_rng``, so that adding them left the rest of the rows that a
    seed gives unchanged."""
    timed = rng.random() < TIMED_SHARE
    limit = grading.time_limit_seconds(
        question_count=questions,
        timed=timed,
        multiplier=profile.time_multiplier,
        seconds_per_question=seconds_per_question,
    )
    deadline = start + datetime.timedelta(seconds=limit) if limit else None
    median = MEDIAN_SECONDS["timed" if timed else "tutor"]
    items, clock, correct = [], start, 0
    for position, item in enumerate(rng.sample(bank, questions), start=1):
        order = list(range(len(item.base["choices"])))
        rng.shuffle(order)
        shown = snapshots.get(item, tuple(order))
        seconds = answer_seconds(rng, median)
        entered, clock = clock, clock + datetime.timedelta(seconds=seconds)
        late = deadline is not None and clock > deadline
        if late:  # time ran out on this question: it, and any after it, stay unanswered
            seconds = max(0, int((deadline - entered).total_seconds()))
            clock = deadline
        chosen = None
        if not late and rng.random() >= SKIPPED_SHARE:
            guess = 1 / len(order)
            logit = item.discrimination * (ability - item.difficulty)
            if rng.random() < guess + (1 - guess) / (1 + math.exp(-logit)):
                chosen = order.index(item.correct_index)
            else:
                # Distractors are not equally tempting: those later in the bank's order more.
                wrong = [p for p, index in enumerate(order) if index != item.correct_index]
                chosen = rng.choices(wrong, weights=[order[p] + 1 for p in wrong], k=1)[0]
        letter = "" if chosen is None else grading.LETTERS[chosen]
        is_right = grading.is_correct(selected_letter=letter, choices=shown["choices"])
        correct += is_right
        items.append(
            [
                position,
                item.question_id,
                shown,
                letter,
                None if chosen is None else shown["choices"][chosen]["choice_id"],
                None if chosen is None else clock,
                # Tutor answers are locked when given; the rest when the attempt finishes.
                clock if chosen is not None and not timed else None,
                is_right,
                rng.random() < FLAGGED_SHARE,
                seconds,
                item.question_id not in met,
                confidence_for(learning_rng, chosen is not None, is_right),
                miss_reason_for(learning_rng, is_right, late),
            ]
        )
        met.add(item.question_id)
    finished = clock + datetime.timedelta(seconds=rng.randint(5, 60))
    reason = Attempt.FinishReason.SUBMITTED
    if deadline is not None and finished > deadline:
        finished, reason = deadline, Attempt.FinishReason.DEADLINE
    for row in items:
        if row[6] is None:
            row[6] = finished
    attempt = Attempt(
        user=user,
        mode=Attempt.Mode.TIMED if timed else Attempt.Mode.TUTOR,
        pool=Attempt.Pool.ALL,
        status=Attempt.Status.FINISHED,
        started_at=start,
        time_limit_seconds=limit,
        deadline_at=deadline,
        finished_at=finished,
        finish_reason=reason,
        question_count=questions,
        correct_count=correct,
        current_position=questions,
        position_entered_at=items[-1][5] or start,
    )
    return attempt, [tuple(row) for row in items]


def flush(pending, report: HistorySummary, batch_size: int, snapshots: Snapshots) -> None:
    """Insert a round of attempts, then their items. On PostgreSQL the items go through
    COPY with each snapshot's JSON serialised once: the ORM's per-value preparation and
    ``json.dumps`` per row cost more than the database's own work at millions of rows."""
    attempts = Attempt.objects.bulk_create([a for a, _ in pending], batch_size=batch_size)
    count = sum(len(items) for _, items in pending)
    if connection.vendor == "postgresql":
        named = [
            cast("Field[Any, Any]", AttemptItem._meta.get_field(name))
            for name in ("attempt", *ITEM_FIELDS)
        ]
        # Django's defaults are not the database's: COPY must give every other column
        # (the exam tools' strike-outs, highlights, note...) its model default itself.
        rest = [
            field
            for field in AttemptItem._meta.concrete_fields
            if field not in named and not field.primary_key
        ]
        defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in rest)
        columns = ", ".join(connection.ops.quote_name(field.column) for field in named + rest)
        table = connection.ops.quote_name(AttemptItem._meta.db_table)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for attempt, items in pending:
                for row in items:
                    copy.write_row(
                        (attempt.pk, *row[:2], snapshots.json(row[2]), *row[3:], *defaults)
                    )
    else:
        AttemptItem.objects.bulk_create(
            (
                AttemptItem(attempt=attempt, **dict(zip(ITEM_FIELDS, row, strict=True)))
                for attempt, items in pending
                for row in items
            ),
            batch_size=batch_size,
        )
    report.add("attempts", len(attempts))
    report.add("attempt items", count)
