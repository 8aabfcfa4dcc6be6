from django.core.management.base import BaseCommand

from questions import engine


class Command(BaseCommand):
    help = (
        "Finish every timed attempt (and assignment attempt) past its deadline, as of the "
        "deadline, so abandoned quizzes count. Safe to run from cron on several hosts at "
        "once: each attempt is finished under a row lock, exactly once."
    )

    def handle(self, *args, **options):
        finished = engine.expire_overdue()
        self.stdout.write(f"{finished} overdue attempt(s) finished.")
