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
  items are flagged, a few skipped (unanswered counts as wrong);
- each resident's first encounters are marked as written, and added to the item analysis's
  running totals (``questions.models.item_totals``) at the end, as finishing them through
  the engine would have.
Accounts get an unusable password (one ``make_password`` call for all): nobody can log in
as a generated user. The same seed (and ``now``) gives the same rows.
"""

from __future__ import annotations

import datetime
import math
import random
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from questions.devtools.history_rows import (
    HISTORY_DAYS,
    HistorySummary,
    Snapshots,
    attempt_rows,
    bank_items,
    flush,
)
from questions.models import (
    JOIN_CODE_ALPHABET,
    Attempt,
    AttemptItem,
    Cohort,
    ResidentProfile,
)
from questions.models.item_totals import add_item_totals
from questions.people.roles import ensure_educators_group

PROGRAMS = (
    "Anesthesiology",
    "Physical Medicine and Rehabilitation",
    "Pain Medicine",
    "Neurology",
)


class HistoryError(Exception):
    """The generator cannot run as asked; the message says what to do."""


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
) -> HistorySummary:
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
) -> HistorySummary:
    if min(residents, cohorts, attempts, questions) < 1 or educators_per_cohort < 0:
        raise HistoryError("Sizes must be at least 1 (educators per cohort at least 0).")
    if prefix_in_use(prefix):
        raise HistoryError(
            f"Users or cohorts named '{prefix}...' exist already. Choose another --prefix "
            "(the generator never changes or deletes existing data)."
        )
    rng = random.Random(seed)
    learning_rng = random.Random(f"learning:{seed}")
    bank = bank_items(rng)
    if len(bank) < questions:
        raise HistoryError(
            f"The bank has {len(bank)} published questions; {questions} are needed per attempt. "
            "Load it first: manage.py load_bank."
        )
    report = HistorySummary()
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

    snapshots = Snapshots()
    per_round = max(1, batch_size // questions)  # residents' attempts whose items fit a round
    pending: list[tuple[Attempt, list[tuple]]] = []
    total_items = residents * attempts * questions
    step = next_report = max(total_items // 10, 1)
    for user, profile, ability in users:
        met: set[int] = set()  # the questions this resident has met: attempts come oldest first
        for index, start in enumerate(_start_times(rng, attempts=attempts, now=now)):
            pending.append(
                attempt_rows(
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
                flush(pending, report, batch_size, snapshots)
                pending = []
                done = report.rows.get("attempt items", 0)
                if done >= next_report:  # about every tenth of the way
                    next_report += step
                    elapsed = time.perf_counter() - started
                    progress(f"{done:,} of {total_items:,} answers ({elapsed:.0f} s)")
    if pending:
        flush(pending, report, batch_size, snapshots)
    # The rows went in marked, past refresh_first_encounters: the item analysis's running
    # totals count them here, summed by the database (about a second at 2,000,000 answers).
    add_item_totals(
        AttemptItem.objects.filter(first_encounter=True, attempt__user__username__startswith=prefix)
    )
    progress(f"{total_items:,} answers written and counted; committing")
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
