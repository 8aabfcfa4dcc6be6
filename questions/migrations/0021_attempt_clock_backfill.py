"""Assignment attempts started before 0020 get the clock they ran on: their time limit as
fixed at the start (already capped by the due date, the best record there is), so an
educator's later change of the due date recomputes their deadline from it instead of
giving them the whole due date."""

from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    Attempt = apps.get_model("questions", "Attempt")
    Attempt.objects.filter(
        assignment__isnull=False,
        mode="timed",
        clock_seconds__isnull=True,
        time_limit_seconds__isnull=False,
    ).update(clock_seconds=F("time_limit_seconds"))


class Migration(migrations.Migration):
    dependencies = [("questions", "0020_assignment_control_and_notifications")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
