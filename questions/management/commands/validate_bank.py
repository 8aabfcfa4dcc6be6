from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from questions.analytics import item_stats
from questions.authoring import item_writing, rules, workflow
from questions.models import Question

ATTENTION = {
    "review_overdue": "not reviewed in the last {months} months",
    "unverified_reference": "cite a reference that is not verified",
    "item_flagged": "flagged by item analysis",
}


class Command(BaseCommand):
    help = (
        "Check every question in the bank against the authoring rules, and the published "
        "ones against the item-writing checker (questions.authoring.item_writing). Lists "
        "what is wrong and exits with status 1 on any rule problem or item-writing error; "
        "item-writing warnings are listed with the share of patient vignettes. Then lists "
        "published questions that need an educator's attention (review overdue, unverified "
        "references, item-analysis flags), which do not fail the check."
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
        writing = self._item_writing(
            [q for q in questions if q.status == Question.Status.PUBLISHED]
        )
        self._attention(options["months"] or settings.QUESTION_REVIEW_MONTHS)
        published = sum(q.status == Question.Status.PUBLISHED for q in questions)
        summary = f"{len(questions)} questions checked ({published} published)"
        if failing or writing.errors:
            count = sum(len(p) for _, p in failing)
            raise CommandError(
                f"{summary}: {count} problem(s) in {len(failing)} question(s), "
                f"{writing.errors} item-writing error(s)."
            )
        self.stdout.write(self.style.SUCCESS(f"{summary}: no problems."))

    def _item_writing(self, published: list[Question]) -> item_writing.BankReport:
        report = item_writing.check_bank(item_writing.item_of(q) for q in published)
        if report.findings:
            self.stdout.write("Item writing (published questions):")
        for key, findings in report.findings.items():
            for finding in findings:
                self.stdout.write(
                    f"  {key}: {finding.severity}: {finding.message} [{finding.code}]"
                )
        self.stdout.write(
            f"Item writing: {report.errors} error(s), {report.warnings} warning(s); patient "
            f"vignettes: {report.vignettes} of {report.total} published questions "
            f"({report.vignette_share:.0%})."
        )
        return report

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
