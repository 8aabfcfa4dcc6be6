from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from questions.devtools.history import HistoryError, generate_history


class Command(BaseCommand):
    help = (
        "Generate a synthetic load for performance work: residents in cohorts with their "
        "educators, each with finished attempts over the published bank, in bulk (default "
        "1,000 residents x 50 attempts x 40 questions: 2 million answers). Accounts get an "
        "unusable password. Refuses to run with DJANGO_DEBUG off unless --force, and when "
        "users or cohorts with the prefix exist already (choose another --prefix): it never "
        "changes or deletes existing data. Needs the bank: manage.py load_bank."
    )

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=1000)
        parser.add_argument("--cohorts", type=int, default=10)
        parser.add_argument("--attempts", type=int, default=50, help="Attempts per resident.")
        parser.add_argument("--questions", type=int, default=40, help="Questions per attempt.")
        parser.add_argument("--educators-per-cohort", type=int, default=1)
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument(
            "--prefix", default="load-", help="Of usernames and cohort names (default 'load-')."
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Answers inserted per round."
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DJANGO_DEBUG off (not production!)."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "generate_history fills the database with synthetic residents and results; "
                "it runs only with DJANGO_DEBUG on, or with --force on a database that is "
                "not production."
            )
        verbosity = options["verbosity"]
        size = options["residents"] * options["attempts"] * options["questions"]
        if verbosity:
            self.stdout.write(
                f"Generating {options['residents']:,} residents in {options['cohorts']:,} "
                f"cohorts, {options['attempts']} attempts of {options['questions']} questions "
                f"each: {size:,} answers on {connection.vendor}."
            )
        try:
            # With DEBUG on, every INSERT's SQL text (megabytes each) would be formatted and
            # kept in connection.queries: slower, and gigabytes of memory at the default size.
            with override_settings(DEBUG=False):
                report = generate_history(
                    residents=options["residents"],
                    cohorts=options["cohorts"],
                    attempts=options["attempts"],
                    questions=options["questions"],
                    educators_per_cohort=options["educators_per_cohort"],
                    prefix=options["prefix"],
                    seed=options["seed"],
                    batch_size=options["batch_size"],
                    progress=self.stdout.write if verbosity > 1 or size >= 100_000 else None,
                )
        except HistoryError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity:
            for table, count in report.rows.items():
                self.stdout.write(f"  {table:<20} {count:>10,}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {report.total_rows:,} rows in {report.seconds:.1f} s "
                    f"({report.total_rows / max(report.seconds, 0.001):,.0f} rows/s)."
                )
            )
