"""ReviewCard is RecallCard ("review" now means only the editorial review). The table,
constraint and index keep their names, so this migration changes no schema: the first
operation pins the table name the model already had, the rename then finds nothing to do
in the database."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("questions", "0015_review_card"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelTable(name="reviewcard", table="questions_reviewcard"),
        migrations.RenameModel(old_name="ReviewCard", new_name="RecallCard"),
        migrations.AlterField(
            model_name="recallcard",
            name="question",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE,
                related_name="recall_cards",
                to="questions.question",
            ),
        ),
        migrations.AlterField(
            model_name="recallcard",
            name="user",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE,
                related_name="recall_cards",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
