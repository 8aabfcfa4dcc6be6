"""Synthetic history at scale, for performance work: `manage.py generate_history`.

Builds N residents in M cohorts (each with its educators), each resident with a history of
finished attempts over the published bank, written with ``bulk_create`` in batches: no
per-row save and no per-row query, so the number of queries grows only with the number of
batches. Everything runs in one transaction: a failure leaves nothing behind.

What the rows look like, so that dashboards and item statistics have something real to show:
- residents have a profile (program, PGY-1 to 4, a few with extended time) and an ability;
  each question has a difficulty (from its own difficulty level) and a discrimination, and
  an answer is right with a 3-parameter logistic (IRT) probability, guessing at 1/choices;
  a resident gets a little better over their history;
- attempts are spread over the past two years, about 60% timed and 40% tutor, items and
  choices in a shuffled order; ``shown`` is ``starting.snapshot`` of the question (computed
  once per question, then its choices re-ordered and relettered per item, as the engine's
  shuffle does), so results pages read it as they read a real one;
- 80 to 90 s a question (log-normal, 5 to 600 s); timed answers are locked when the attempt
  finishes, tutor answers when given; a timed attempt that runs past its deadline finishes
  at the deadline (reason "deadline") and the answers after it are left unanswered; a few
  items are flagged, a few skipped (unanswered counts as wrong).
Accounts get an unusable password (one ``make_password`` call for all): nobody can log in
as a generated user. The same seed (and ``now``) gives the same rows.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from questions.models import (
    JOIN_CODE_ALPHABET,
    Attempt,
    AttemptItem,
    Cohort,
    Question,
    ResidentProfile,
)
from questions.people.roles import ensure_educators_group
from questions.quizzes import grading, starting

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
PROGRAMS = (
    "Anesthesiology",
    "Physical Medicine and Rehabilitation",
    "Pain Medicine",
    "Neurology",
)


class HistoryError(Exception):
    """The generator cannot run as asked; the message says what to do."""


@dataclass
class HistoryReport:
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
class _Item:
    """A question as the generator sees it: its engine snapshot and IRT parameters."""

    question_id: int
    base: dict
    correct_index: int
    difficulty: float
    discrimination: float


def _items(rng: random.Random) -> list[_Item]:
    questions = Question.objects.published().with_bank_relations().order_by("key")
    items = []
    for question in questions:
        # The engine's own snapshot, once per question; only its choice order varies later.
        base = starting.snapshot(question, random.Random(0))
        base["choices"].sort(key=lambda c: c["choice_id"])
        items.append(
            _Item(
                question_id=question.pk,
                base=base,
                correct_index=next(i for i, c in enumerate(base["choices"]) if c["is_correct"]),
                difficulty=(question.difficulty - 2) * 0.8 + rng.gauss(0, 0.5),
                discrimination=rng.uniform(0.6, 1.8),
            )
        )
    return items


class _Snapshots:
    """``shown`` for a question with its choices in a given order, built once per order."""

    def __init__(self):
        self._cache: dict[tuple[int, tuple[int, ...]], dict] = {}
        self._json: dict[int, str] = {}  # id of a cached snapshot -> its JSON text

    def json(self, shown: dict) -> str:
        text = self._json.get(id(shown))
        if text is None:
            text = self._json[id(shown)] = json.dumps(shown)
        return text

    def get(self, item: _Item, order: tuple[int, ...]) -> dict:
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


def _join_code(rng: random.Random) -> str:
    return "".join(rng.choice(JOIN_CODE_ALPHABET) for _ in range(10))


def prefix_in_use(prefix: str) -> bool:
    return (
        get_user_model().objects.filter(username__startswith=prefix).exists()
        or Cohort.objects.filter(name__startswith=prefix).exists()
    )


def generate_history(
    *,
    residents: int = 1000,
    cohorts: int = 10,
    attempts: int = 50,
    questions: int = 40,
    educators_per_cohort: int = 1,
    prefix: str = "load-",
    seed: int = 1,
    batch_size: int = 5000,
    seconds_per_question: int = 90,
    now: datetime.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> HistoryReport:
    """Write the synthetic history; return the rows written per table.

    Raises HistoryError when users or cohorts named with ``prefix`` exist already, or when
    the published bank holds fewer than ``questions`` questions. ``batch_size`` is the
    number of answers (and at most that many attempts) inserted per round: the number of
    queries is a constant plus a few per round. One transaction, then the planner's
    statistics refreshed (``refresh_statistics``): the time reported includes both."""
    started = time.perf_counter()
    with transaction.atomic():
        report = _generate(
            residents=residents,
            cohorts=cohorts,
            attempts=attempts,
            questions=questions,
            educators_per_cohort=educators_per_cohort,
            prefix=prefix,
            seed=seed,
            batch_size=batch_size,
            seconds_per_question=seconds_per_question,
            now=now or timezone.now(),
            progress=progress or (lambda message: None),
            started=started,
        )
    refresh_statistics()
    report.seconds = time.perf_counter() - started
    return report


def refresh_statistics() -> None:
    """What autovacuum would do to freshly bulk-loaded tables after a while, done now, so that
    the first queries on the data are planned as they will be in steady state: ANALYZE (the
    planner's row estimates) and, on PostgreSQL outside a transaction, VACUUM (the visibility
    map, without which the covering indexes' index-only scans read the table anyway). One
    query; the whole database: generate_history never runs on production's."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def _generate(
    *,
    residents,
    cohorts,
    attempts,
    questions,
    educators_per_cohort,
    prefix,
    seed,
    batch_size,
    seconds_per_question,
    now,
    progress,
    started,
) -> HistoryReport:
    if min(residents, cohorts, attempts, questions) < 1 or educators_per_cohort < 0:
        raise HistoryError("Sizes must be at least 1 (educators per cohort at least 0).")
    if prefix_in_use(prefix):
        raise HistoryError(
            f"Users or cohorts named '{prefix}...' exist already. Choose another --prefix "
            "(the generator never changes or deletes existing data)."
        )
    rng = random.Random(seed)
    learning_rng = random.Random(f"learning:{seed}")
    bank = _items(rng)
    if len(bank) < questions:
        raise HistoryError(
            f"The bank has {len(bank)} published questions; {questions} are needed per attempt. "
            "Load it first: manage.py load_bank."
        )
    report = HistoryReport()
    users = _accounts(
        joined=now - datetime.timedelta(days=HISTORY_DAYS + 30),
        residents=residents,
        cohorts=cohorts,
        educators_per_cohort=educators_per_cohort,
        prefix=prefix,
        rng=rng,
        report=report,
        batch_size=batch_size,
    )
    progress(f"{report.total_rows} rows of accounts and cohorts")

    snapshots = _Snapshots()
    per_round = max(1, batch_size // questions)  # residents' attempts whose items fit a round
    pending: list[tuple[Attempt, list[tuple]]] = []
    total_items = residents * attempts * questions
    step = next_report = max(total_items // 10, 1)
    for user, profile, ability in users:
        met: set[int] = set()  # the questions this resident has met: attempts come oldest first
        for index, start in enumerate(_start_times(rng, attempts=attempts, now=now)):
            pending.append(
                _attempt(
                    user=user,
                    met=met,
                    profile=profile,
                    # A resident learns: about +0.4 logits from first attempt to last.
                    ability=ability + 0.4 * index / attempts,
                    start=start,
                    bank=bank,
                    questions=questions,
                    snapshots=snapshots,
                    rng=rng,
                    learning_rng=learning_rng,
                    seconds_per_question=seconds_per_question,
                )
            )
            if len(pending) >= per_round:
                _flush(pending, report, batch_size, snapshots)
                pending = []
                done = report.rows.get("attempt items", 0)
                if done >= next_report:  # about every tenth of the way
                    next_report += step
                    elapsed = time.perf_counter() - started
                    progress(f"{done:,} of {total_items:,} answers ({elapsed:.0f} s)")
    if pending:
        _flush(pending, report, batch_size, snapshots)
    progress(f"{total_items:,} answers written; committing")
    return report


def _accounts(*, joined, residents, cohorts, educators_per_cohort, prefix, rng, report, batch_size):
    """Cohorts, educators and residents (with profiles and memberships): a few bulk inserts.
    Returns ``(user, profile, ability)`` per resident."""
    User = get_user_model()
    password = make_password(None)  # unusable, and computed once for every account
    educators_group = ensure_educators_group()
    # Join codes are unique site-wide: drawn apart from the data, so that the same seed under
    # another prefix does not repeat them.
    codes = random.Random(f"{prefix}:{rng.random()}")
    cohort_rows = Cohort.objects.bulk_create(
        [
            Cohort(
                name=f"{prefix}cohort-{number:03d}",
                program=PROGRAMS[number % len(PROGRAMS)],
                description="Synthetic history (manage.py generate_history).",
                join_code=_join_code(codes),
            )
            for number in range(1, cohorts + 1)
        ],
        batch_size=batch_size,
    )
    report.add("cohorts", len(cohort_rows))
    educators = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}educator-{c:03d}-{e}",
                first_name="Educator",
                last_name=f"{c:03d}-{e}",
                password=password,
                is_staff=True,
                date_joined=joined,
            )
            for c in range(1, cohorts + 1)
            for e in range(1, educators_per_cohort + 1)
        ],
        batch_size=batch_size,
    )
    resident_users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}resident-{number:05d}",
                first_name="Resident",
                last_name=f"{number:05d}",
                password=password,
                date_joined=joined,
            )
            for number in range(1, residents + 1)
        ],
        batch_size=batch_size,
    )
    report.add("users", len(educators) + len(resident_users))
    Belonging = User.groups.through
    report.insert(
        "group memberships",
        Belonging,
        [Belonging(user=u, group=educators_group) for u in educators],
        batch_size,
    )
    Teaching = Cohort.educators.through
    report.insert(
        "cohort educators",
        Teaching,
        [
            Teaching(cohort=cohort_rows[index // educators_per_cohort], user=user)
            for index, user in enumerate(educators)
        ],
        batch_size,
    )
    Membership = Cohort.residents.through
    report.insert(
        "cohort residents",
        Membership,
        [
            Membership(cohort=cohort_rows[index % cohorts], user=user)
            for index, user in enumerate(resident_users)
        ],
        batch_size,
    )
    profiles, abilities = [], []
    for index, user in enumerate(resident_users):
        year = rng.randint(1, 4)
        setting = rng.choices(ResidentProfile.TimeSetting.values, weights=(90, 6, 2, 2), k=1)[0]
        profiles.append(
            ResidentProfile(
                user=user,
                program=PROGRAMS[(index % cohorts) % len(PROGRAMS)],
                training_year=year,
                time_setting=setting,
            )
        )
        # Senior residents know more, with a wide spread within a year.
        abilities.append(rng.gauss(0.3 * (year - 2.5), 0.9))
    report.insert("resident profiles", ResidentProfile, profiles, batch_size)
    return list(zip(resident_users, profiles, abilities, strict=True))


def _start_times(rng, *, attempts, now) -> list[datetime.datetime]:
    """A resident's attempt starts over the past two years, oldest first, in waking hours."""
    days = sorted(rng.uniform(1, HISTORY_DAYS) for _ in range(attempts))
    starts = []
    for day in reversed(days):
        start = now - datetime.timedelta(days=math.floor(day))
        start = start.replace(hour=rng.randint(6, 22), minute=rng.randint(0, 59), second=0)
        starts.append(start.replace(microsecond=0))
    # Two attempts on the same day get their hours at random: sort, so that creation order
    # (the attempt id) is start order and the first encounters marked as they are written
    # are those engine.refresh_first_encounters would mark.
    return sorted(starts)


def _seconds(rng: random.Random, median: int) -> int:
    return int(min(600, max(5, rng.lognormvariate(math.log(median), 0.55))))


# The columns of an attempt item, in the order _attempt builds each row.
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


def _attempt(
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
        seconds = _seconds(rng, median)
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


def _flush(pending, report: HistoryReport, batch_size: int, snapshots: _Snapshots) -> None:
    """Insert a round of attempts, then their items. On PostgreSQL the items go through
    COPY with each snapshot's JSON serialised once: the ORM's per-value preparation and
    ``json.dumps`` per row cost more than the database's own work at millions of rows."""
    attempts = Attempt.objects.bulk_create([a for a, _ in pending], batch_size=batch_size)
    count = sum(len(items) for _, items in pending)
    if connection.vendor == "postgresql":
        columns = ", ".join(
            connection.ops.quote_name(AttemptItem._meta.get_field(name).column)
            for name in ("attempt", *ITEM_FIELDS)
        )
        table = connection.ops.quote_name(AttemptItem._meta.db_table)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for attempt, items in pending:
                for row in items:
                    copy.write_row((attempt.pk, *row[:2], snapshots.json(row[2]), *row[3:]))
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
