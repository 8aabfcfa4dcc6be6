from django.core.management.base import BaseCommand, CommandError

from questions.bank import bank_problems
from questions.models import Question


class Command(BaseCommand):
    help = (
        "Check every question in the bank against the authoring rules. Lists what is wrong "
        "and exits with status 1 if anything is."
    )

    def handle(self, *args, **options):
        questions = list(Question.objects.with_bank_relations().order_by("key"))
        failing = bank_problems(questions)
        for question, problems in failing:
            self.stdout.write(
                f"{question.key} ({question.get_status_display()}, id {question.pk}):"
            )
            for problem in problems:
                self.stdout.write(f"  - {problem.message} [{problem.code}]")
        published = sum(q.status == Question.Status.PUBLISHED for q in questions)
        summary = f"{len(questions)} questions checked ({published} published)"
        if failing:
            count = sum(len(p) for _, p in failing)
            raise CommandError(f"{summary}: {count} problem(s) in {len(failing)} question(s).")
        self.stdout.write(self.style.SUCCESS(f"{summary}: no problems."))
