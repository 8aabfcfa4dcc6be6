from django.core.management.base import BaseCommand, CommandError

from questions.devtools.demo_accounts import DemoAccountsRefused, create_demo_accounts


class Command(BaseCommand):
    help = "Create the demo resident and educator (only when DJANGO_DEBUG is on)."

    def handle(self, *args, **options):
        try:
            accounts = create_demo_accounts()
        except DemoAccountsRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Demo accounts (development only):")
        for account in accounts:
            self.stdout.write(
                f"  {account.role:<9} username: {account.username:<9} password: {account.password}"
            )
