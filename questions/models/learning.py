"""A resident's spaced-recall schedule, one card per question (FSRS state)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from questions.models.bank import Question


class RecallCard(models.Model):
    """A question on a resident's spaced-recall schedule: it enters when they miss it or
    answer it unsure or by guessing, and each later answer reschedules it (FSRS, through
    the fsrs library: ``questions/learning/recall.py``). The fields are the library's card state,
    stored as columns so that "due today" is one indexed count."""

    class Reason(models.TextChoices):
        MISSED = "missed", "Missed"
        UNSURE = "unsure", "Answered unsure or by guessing"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recall_cards"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="recall_cards")
    reason = models.CharField(max_length=6, choices=Reason.choices)
    created_at = models.DateTimeField()
    # fsrs.Card's state: State (1 learning, 2 review, 3 relearning), step, stability (days),
    # difficulty (1-10), when it is due and when it was last reviewed.
    state = models.PositiveSmallIntegerField()
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()
    last_review = models.DateTimeField(null=True, blank=True)
    reviews = models.PositiveIntegerField(
        default=0, help_text="Answers counted, the first included."
    )
    lapses = models.PositiveIntegerField(default=0, help_text="Times missed again after entering.")
    mastered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was answered correctly (not by a guess) at a review after entering; "
        "cleared if missed again.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="review_card_unique")
        ]
        indexes = [models.Index(fields=["user", "due"], name="review_card_due")]
        # The table, constraint and index keep the names they had as ReviewCard.
        db_table = "questions_reviewcard"

    def __str__(self) -> str:
        return f"{self.question_id} for {self.user_id}, due {self.due:%Y-%m-%d}"
