from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from questions.analytics import item_stats
from questions.authoring import rules, workflow
from questions.models import Question

ATTENTION = {
    "review_overdue": "not reviewed in the last {months} months",
    "unverified_reference": "cite a reference that is not verified",
    "item_flagged": "flagged by item analysis",
}


class Command(BaseCommand):
    help = (
        "Check every question in the bank against the authoring rules. Lists what is wrong "
        "and exits with status 1 if anything is. Then lists published questions that need "
        "an educator's attention (review overdue, unverified references, item-analysis "
        "flags), which do not fail the check."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=None,
            help="Review interval in months (default: the QUESTION_REVIEW_MONTHS setting).",
        )

    def handle(self, *args, **options):
        questions = list(Question.objects.with_bank_relations().order_by("key"))
        failing = rules.bank_problems(questions)
        for question, problems in failing:
            self.stdout.write(
                f"{question.key} ({question.get_status_display()}, id {question.pk}):"
            )
            for problem in problems:
                self.stdout.write(f"  - {problem.message} [{problem.code}]")
        self._attention(options["months"] or settings.QUESTION_REVIEW_MONTHS)
        published = sum(q.status == Question.Status.PUBLISHED for q in questions)
        summary = f"{len(questions)} questions checked ({published} published)"
        if failing:
            count = sum(len(p) for _, p in failing)
            raise CommandError(f"{summary}: {count} problem(s) in {len(failing)} question(s).")
        self.stdout.write(self.style.SUCCESS(f"{summary}: no problems."))

    def _attention(self, months: int) -> None:
        groups = {
            reason: sorted(qs.values_list("key", flat=True))
            for reason, qs in workflow.needing_attention(
                today=timezone.localdate(), months=months
            ).items()
        }
        flagged = item_stats.flagged_question_ids(fresh=True)
        groups["item_flagged"] = sorted(
            Question.objects.filter(pk__in=list(flagged)).values_list("key", flat=True)
        )
        if not any(groups.values()):
            return
        self.stdout.write("Needs attention (not errors):")
        for reason, keys in groups.items():
            if keys:
                label = ATTENTION[reason].format(months=months)
                self.stdout.write(f"  {len(keys)} question(s) {label}: {', '.join(keys)}")
