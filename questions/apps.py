from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, **kwargs):
    from questions.people.roles import ensure_educators_group

    ensure_educators_group()


class QuestionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "questions"
    verbose_name = "Question bank"

    def ready(self):
        # After every migrate (including the test database's), so the group's permissions
        # exist once their content types do.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="questions_ensure_roles")
