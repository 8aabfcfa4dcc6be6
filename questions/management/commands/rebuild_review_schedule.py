from django.core.management.base import BaseCommand

from questions.learning import recall


class Command(BaseCommand):
    help = (
        "Rebuild residents' spaced-review schedules from their finished quizzes (run once "
        "after upgrading to a version with spaced review, so that earlier misses come back "
        "too). Replaces the schedules of the residents named, or of everyone."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="only these residents")

    def handle(self, *args, usernames=(), **options):
        from django.contrib.auth import get_user_model

        user_ids = None
        if usernames:
            users = get_user_model().objects.filter(username__in=usernames)
            user_ids = list(users.values_list("pk", flat=True))
            missing = set(usernames) - set(users.values_list("username", flat=True))
            if missing:
                self.stderr.write(f"No such user: {', '.join(sorted(missing))}")
        cards = recall.rebuild(user_ids=user_ids)
        self.stdout.write(f"{cards} question(s) on the review schedules rebuilt.")
