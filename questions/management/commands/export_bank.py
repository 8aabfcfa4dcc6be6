from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from questions.interchange import transfer
from questions.models import Question


class Command(BaseCommand):
    help = "Export questions (all, or filtered) as JSON, CSV or Moodle XML."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(transfer.FORMATS), default="json")
        parser.add_argument("--status", choices=Question.Status.values, help="Only this status.")
        parser.add_argument("--topic", help="Only questions in the topic with this slug.")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, **options):
        questions = Question.objects.all()
        if options["status"]:
            questions = questions.filter(status=options["status"])
        if options["topic"]:
            questions = questions.filter(topics__slug=options["topic"]).distinct()
        if not questions.exists():
            raise CommandError("No question matches; nothing exported.")
        text = transfer.export_questions(questions, options["format"])
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"{questions.count()} question(s) written to {options['output']}.")
        else:
            self.stdout.write(text)
