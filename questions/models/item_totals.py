"""Running totals of the first encounters (``AttemptItem.first_encounter``) per question, so
that the bank's item analysis reads a few rows per question instead of every first
encounter: per question and quiz length, the integer sums the facility and discrimination
need (``ItemTotal``); per question and choice, how many picked it (``ItemChoiceCount``);
per question and whole second, how many answers took that long (``ItemSecondsCount``), from
which the median is read. docs/statistics.md says how the figures come out of them.

Every figure is an integer, so the totals equal a full recomputation
(``rebuild_item_totals``) exactly, whatever order attempts finish in. They count every
account's first encounters, staff included: whether an account is staff can change at any
time, so the item analysis subtracts staff's own rows (few) as it reads. What can change
the first encounters, and how the totals follow:
- an attempt finishing marks its items, and may take a mark from a finished attempt started
  after it: ``engine.refresh_first_encounters`` passes the rows it flips, in its transaction,
  to ``count_encounters``;
- deleting an account deletes its attempts: the ``pre_delete`` receiver below takes their
  marked rows out first, in the deletion's transaction (no other account's marks move);
- nothing else changes a marked row: a finished attempt is terminal, its score and its
  items' answers, times and correctness fixed, and no code deletes one (discarding refuses
  finished attempts; an attempt in progress holds no mark); editing or restoring a question
  changes its current text, never the frozen items.
Rows marked outside refresh_first_encounters need counting too: ``manage.py
generate_history`` adds its bulk-written rows with ``add_item_totals``; after SQL by hand,
``rebuild_item_totals``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.apps import apps as global_apps
from django.conf import settings
from django.db import connections, models, router
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.signals import pre_delete

from questions.models.attempts import AttemptItem
from questions.models.bank import Question


class ItemTotal(models.Model):
    """Sums over the first encounters with a question in quizzes of ``question_count``
    questions. With x the item's score (1 right, 0 wrong or unanswered) and r the rest of
    the quiz's score (its correct count less x): responses n, correct Σx, rest Σr,
    correct_rest Σxr, rest_squares Σr². The discrimination correlates x with r / (length - 1)
    (the share of the rest answered right), so the sums are kept per length to stay
    integers."""

    # No index of its own on question: the unique constraint's index starts with it.
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="item_totals", db_index=False
    )
    question_count = models.PositiveSmallIntegerField()
    responses = models.IntegerField(default=0)
    correct = models.IntegerField(default=0)
    rest = models.BigIntegerField(default=0)
    correct_rest = models.BigIntegerField(default=0)
    rest_squares = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "question_count"], name="item_total_per_length"
            )
        ]

    def __str__(self) -> str:
        return f"totals of question {self.question_id} in {self.question_count}-question quizzes"


NO_CHOICE = 0  # ItemChoiceCount.choice_pk of an unanswered item (Choice ids start at 1)


class ItemChoiceCount(models.Model):
    """How many first encounters with a question picked a choice (by the Choice's id at
    the time; NO_CHOICE: no answer)."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="item_choice_counts", db_index=False
    )
    choice_pk = models.PositiveBigIntegerField()
    responses = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "choice_pk"], name="item_choice_count")
        ]

    def __str__(self) -> str:
        return f"choice {self.choice_pk} of question {self.question_id}"


class ItemSecondsCount(models.Model):
    """How many first encounters with a question were answered in ``seconds``; under
    NOT_TIMED those that say nothing about how long it takes: left unanswered, or answered in
    under a second. Every first encounter is counted once, so that any change of marks
    writes to this table too (a finish's query count does not depend on its answers)."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="item_seconds_counts", db_index=False
    )
    seconds = models.PositiveIntegerField()
    responses = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "seconds"], name="item_seconds_count")
        ]

    def __str__(self) -> str:
        return f"{self.seconds} s on question {self.question_id}"


NOT_TIMED = 0  # ItemSecondsCount.seconds of an item left out of the median

TOTAL_SUMS = ("responses", "correct", "rest", "correct_rest", "rest_squares")

# Each totals table: its model's name, its key fields, its sums (count_encounters and
# add_item_totals give their deltas in this order).
TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("ItemTotal", ("question", "question_count"), TOTAL_SUMS),
    ("ItemChoiceCount", ("question", "choice_pk"), ("responses",)),
    ("ItemSecondsCount", ("question", "seconds"), ("responses",)),
)

# What a first encounter adds to the totals, read from its AttemptItem row, in this order.
ENCOUNTER_FIELDS = (
    "question_id",
    "attempt__question_count",
    "attempt__correct_count",
    "is_correct",
    "selected_choice_pk",
    "answered_at",
    "seconds_spent",
)


def count_encounters(changes: Iterable[tuple[int, Sequence[Any]]]) -> None:
    """Add each ``(sign, row)`` to the totals: +1 for a row gaining the first-encounter mark,
    -1 for one losing it (or about to be deleted); ``row`` holds ENCOUNTER_FIELDS in order,
    of a finished attempt. One upsert per table: three queries for any change (below
    UPSERT_BATCH keys), none for none. Rows are locked in key order, the same for every
    writer, so two finishes sharing questions wait for each other instead of deadlocking."""
    totals: dict[tuple, list[int]] = {}
    choices: dict[tuple, list[int]] = {}
    seconds: dict[tuple, list[int]] = {}
    for sign, row in changes:
        question_id, length, score, is_correct, choice_pk, answered_at, spent = row
        x = 1 if is_correct else 0
        r = score - x
        sums = totals.setdefault((question_id, length), [0] * len(TOTAL_SUMS))
        for index, value in enumerate((1, x, r, x * r, r * r)):
            sums[index] += sign * value
        key = (question_id, NO_CHOICE if choice_pk is None else choice_pk)
        choices.setdefault(key, [0])[0] += sign
        timed = spent if answered_at is not None and spent > 0 else NOT_TIMED
        seconds.setdefault((question_id, timed), [0])[0] += sign
    for (name, keys, fields), deltas in zip(TABLES, (totals, choices, seconds), strict=True):
        _add(global_apps.get_model("questions", name), keys, fields, deltas)


def column(model: type[models.Model], name: str) -> str:
    """The database column of ``model``'s field ``name`` (a foreign key's ``..._id``)."""
    return cast("models.Field[Any, Any]", model._meta.get_field(name)).column


UPSERT_BATCH = 1000  # rows a statement: under SQLite's and PostgreSQL's parameter limits


def _add(
    model: type[models.Model],
    keys: tuple[str, ...],
    sums: tuple[str, ...],
    deltas: dict[tuple, list[int]],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE SET sum = sum + EXCLUDED.sum (PostgreSQL and SQLite
    alike; the ORM's upsert can only overwrite), UPSERT_BATCH rows a statement, in key
    order."""
    rows = sorted(deltas.items())
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    key_columns = [quote(column(model, name)) for name in keys]
    sum_columns = [quote(column(model, name)) for name in sums]
    one_row = "(" + ", ".join(["%s"] * (len(keys) + len(sums))) + ")"
    updates = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sum_columns)
    # Within what the backend says a statement may bind (Django assumes SQLite's old 999,
    # which SQLite before 3.32 enforces).
    limit = connection.features.max_query_params
    size = (
        UPSERT_BATCH
        if limit is None
        else max(1, min(UPSERT_BATCH, limit // (len(keys) + len(sums))))
    )
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        sql = (
            f"INSERT INTO {table} ({', '.join(key_columns + sum_columns)}) "
            f"VALUES {', '.join([one_row] * len(batch))} "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for key, values in batch for value in (*key, *values)])


# x, an item's score: 1 right; 0 wrong or unanswered.
_SCORE = Case(When(is_correct=True, then=Value(1)), default=Value(0))


def total_sums(items: QuerySet) -> QuerySet:
    """ItemTotal's rows as ``items`` (AttemptItem rows of finished attempts) add up,
    computed by the database: dicts of question_id, question_count and TOTAL_SUMS."""
    x = _SCORE
    r = F("attempt__correct_count") - x
    return (
        items.values("question_id", question_count=F("attempt__question_count"))
        .annotate(responses=Count("id"), correct=Sum(x), rest=Sum(r), correct_rest=Sum(x * r))
        .annotate(rest_squares=Sum(r * r))
        .order_by()
    )


def choice_counts(items: QuerySet) -> QuerySet:
    """ItemChoiceCount's rows as ``items`` add up: dicts of question_id, choice_pk,
    responses."""
    choice = Coalesce("selected_choice_pk", NO_CHOICE, output_field=BigIntegerField())
    return items.values("question_id", choice_pk=choice).annotate(responses=Count("id")).order_by()


def seconds_counts(items: QuerySet) -> QuerySet:
    """ItemSecondsCount's rows as ``items`` add up: dicts of question_id, seconds,
    responses."""
    timed = Q(answered_at__isnull=False, seconds_spent__gt=0)
    seconds = Case(
        When(timed, then=F("seconds_spent")), default=Value(NOT_TIMED), output_field=IntegerField()
    )
    return items.values("question_id", seconds=seconds).annotate(responses=Count("id")).order_by()


def add_item_totals(items: QuerySet, *, apps=global_apps) -> None:
    """Add ``items`` (marked first encounters not yet counted, of finished attempts) to the
    totals, summed by the database: for rows written in bulk (``generate_history``), at any
    size. Three grouped reads and an upsert per table (per UPSERT_BATCH rows)."""
    grouped_by_table = (total_sums(items), choice_counts(items), seconds_counts(items))
    for (name, keys, sums), grouped in zip(TABLES, grouped_by_table, strict=True):
        key_names = ("question_id", *keys[1:])
        deltas = {tuple(row[k] for k in key_names): [row[s] for s in sums] for row in grouped}
        _add(apps.get_model("questions", name), keys, sums, deltas)


def rebuild_item_totals(*, apps=global_apps) -> None:
    """Recompute the totals from every marked first encounter: the full recomputation the
    running totals must always equal. ``apps``: a migration's model registry (migration
    0022's backfill). 0.55 s on PostgreSQL at 2,000,000 answers (110,000 first
    encounters)."""
    for name, _, _ in TABLES:
        apps.get_model("questions", name).objects.all().delete()
    marked = apps.get_model("questions", "AttemptItem").objects.filter(first_encounter=True)
    add_item_totals(marked, apps=apps)


def _forget_deleted_account(sender, instance, **kwargs) -> None:
    """An account's deletion takes its attempts with it: their marked rows leave the
    totals first (Django sends this inside the deletion's transaction)."""
    marked = AttemptItem.objects.filter(attempt__user=instance, first_encounter=True)
    count_encounters((-1, row) for row in marked.values_list(*ENCOUNTER_FIELDS))


pre_delete.connect(
    _forget_deleted_account,
    sender=settings.AUTH_USER_MODEL,
    dispatch_uid="questions_item_totals_forget_deleted_account",
)
