from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from questions.interchange.bank_files import BankFileError, load_bank


class Command(BaseCommand):
    help = "Load (or update) the question bank from the JSON files in fixtures/. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--directory",
            type=Path,
            default=None,
            help="Folder holding topics.json, references.json and questions/ (default: fixtures/).",
        )

    def handle(self, *args, directory=None, **options):
        directory = directory or Path(settings.QUESTION_BANK_DIR)
        try:
            report = load_bank(directory=directory)
        except BankFileError as exc:
            raise CommandError(f"Nothing was loaded. {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Question bank loaded from {directory}: {report}."))
