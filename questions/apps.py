from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, **kwargs):
    from questions.people.roles import ensure_educators_group

    ensure_educators_group()


def _ensure_cache_tables(sender, using="default", **kwargs):
    """The database cache tables (import staging; rate limits without Redis): created by
    every migrate, so no deployment step can forget them. Existing tables are left alone."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class QuestionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "questions"
    verbose_name = "Question bank"

    def ready(self):
        # After every migrate (including the test database's), so the group's permissions
        # exist once their content types do.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="questions_ensure_roles")
        post_migrate.connect(
            _ensure_cache_tables, sender=self, dispatch_uid="questions_ensure_cache_tables"
        )
        from django.contrib.auth.signals import user_logged_in

        from questions.people.limits import mark_logged_in

        # The login limits count every login that did not log someone in.
        user_logged_in.connect(mark_logged_in, dispatch_uid="questions_rate_limit_logins")
