import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from questions import jobs

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Enqueue the periodic jobs whose time has come (reminders, the daily digest, results "
        "released at the due date, the e-mail retries, expire_attempts) for the worker "
        "(manage.py db_worker) to run. Once, for a cron entry every minute; or --loop "
        "SECONDS to keep ticking (make run). Safe on several hosts at once: each job is "
        "enqueued once a period, whichever host gets there first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            type=float,
            metavar="SECONDS",
            help="Tick every SECONDS until interrupted, instead of once.",
        )

    def handle(self, *args, loop=None, verbosity=1, **options):
        if loop is not None and loop <= 0:
            raise CommandError("--loop takes a number of seconds greater than 0.")
        while True:
            try:
                enqueued = jobs.tick()
            except DatabaseError:
                if loop is None:
                    raise
                # The database is away (a restart, a failover): try again next tick.
                logger.exception("The scheduler's tick failed; trying again in %s s", loop)
                enqueued = []
            if verbosity > 1 or (enqueued and loop is None):
                self.stdout.write(f"Enqueued: {', '.join(enqueued) or 'nothing'}.")
            if loop is None:
                return
            try:
                time.sleep(loop)
            except KeyboardInterrupt:
                return
