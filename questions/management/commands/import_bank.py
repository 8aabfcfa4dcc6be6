from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from questions.interchange import transfer


class Command(BaseCommand):
    help = (
        "Import questions from a JSON, CSV or Moodle XML file. Everything is checked first; "
        "any problem imports nothing. --dry-run shows what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=sorted(transfer.FORMATS))
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        path = Path(options["path"])
        fmt = options["format"] or transfer.format_of(path.name)
        if fmt is None:
            raise CommandError("Say --format json, csv or moodle for this file.")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            plan = transfer.import_questions(text, fmt, dry_run=options["dry_run"], as_admin=True)
        except transfer.ImportFailed as exc:
            for problem in exc.plan.problems:
                self.stdout.write(f"  - {problem}")
            raise CommandError(str(exc)) from exc
        verb = "Would create" if plan.dry_run else "Created"
        self.stdout.write(f"{verb} {len(plan.created)}: {', '.join(plan.created) or '-'}")
        verb = "Would change" if plan.dry_run else "Changed"
        self.stdout.write(f"{verb} {len(plan.changed)}:")
        for key, fields in plan.changed.items():
            self.stdout.write(f"  {key}: {', '.join(fields)}")
        self.stdout.write(f"Unchanged: {len(plan.unchanged)}")
        if plan.dry_run:
            self.stdout.write("Dry run: nothing was written.")
