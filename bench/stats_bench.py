"""Time the dashboard and item-analysis aggregates on a large synthetic history.

Run by `make bench` (SQLite, then PostgreSQL when BENCH_POSTGRES_URL is reachable). It builds
a throwaway test database, loads the question bank, inserts RESIDENTS residents with
ATTEMPTS quizzes of 10 questions each (default 200 x 20 = 40,000 answers), and prints the
median of 5 runs of each aggregate with its query count. Nothing here is asserted: the
numbers go to docs/benchmarks.md by hand.
"""

import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quizsite.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from questions.analytics import cohort_stats, item_stats, progress  # noqa: E402

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", 200))
ATTEMPTS = int(os.environ.get("BENCH_ATTEMPTS", 20))


def build():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from questions.models import Cohort, Question, ResidentProfile
    from tests.factories import finished_attempts

    call_command("load_bank", verbosity=0)
    questions = list(Question.objects.published().prefetch_related("choices", "citations"))
    rng = random.Random(1)
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"bench-{i:04d}", password="!") for i in range(RESIDENTS)
    )
    ResidentProfile.objects.bulk_create(
        ResidentProfile(user=u, training_year=1 + i % 4) for i, u in enumerate(users)
    )
    cohort = Cohort.objects.create(name="Bench cohort")
    cohort.residents.add(*users)
    rows = []
    for user in users:
        ability = rng.random()
        for _ in range(ATTEMPTS):
            answers = []
            for question in rng.sample(questions, 10):
                key = next(c.letter for c in question.choices.all() if c.is_correct)
                letter = key if rng.random() < ability else rng.choice("ABCD")
                answers.append((question, letter, rng.randint(20, 120)))
            rows.append((user, answers))
    finished_attempts(rows)
    return cohort, users[0]


def measure(name, fn):
    fn()
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    median_ms = round(1000 * statistics.median(times))
    print(f"  {name:<34} {median_ms:>6} ms  {len(queries.captured_queries):>2} queries")


def main():
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        from questions.models import AttemptItem

        cohort, resident = build()
        vendor = connection.vendor
        print(f"{vendor}: {RESIDENTS} residents, {AttemptItem.objects.count()} answers")
        measure("item analysis (first encounters)", lambda: item_stats.flagged_question_ids())
        measure("cohort table", lambda: cohort_stats.cohort_table(cohort))
        measure("cohort topic grid", lambda: cohort_stats.cohort_topic_grid(cohort))
        measure("resident summary", lambda: progress.resident_summary(resident))
        measure("topic mastery", lambda: progress.topic_mastery(resident))
        measure("score trend", lambda: progress.score_trend(resident))
        measure("percentile", lambda: progress.percentile_rank(resident))
    finally:
        runner.teardown_databases(databases)


if __name__ == "__main__":
    main()
