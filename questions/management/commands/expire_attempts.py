from django.core.management.base import BaseCommand

from questions.quizzes import engine


class Command(BaseCommand):
    help = (
        "Finish every timed attempt (and assignment attempt) past its deadline, as of the "
        "deadline, so abandoned quizzes count; and every tutor quiz with all its questions "
        "answered and no answer for an hour, as of its last answer. Safe to run from cron on "
        "several hosts at once: each attempt is finished under a row lock, exactly once."
    )

    def handle(self, *args, **options):
        finished = engine.expire_overdue()
        self.stdout.write(f"{finished} overdue attempt(s) finished.")
        completed = engine.finish_completed()
        self.stdout.write(
            f"{completed} tutor attempt(s) with every question answered and left open finished."
        )
