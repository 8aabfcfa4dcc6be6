"""Error reports: a resident's report of a problem with a question and the
educator's decision."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import Q

from questions.models.attempts import AttemptItem
from questions.models.bank import Question


class ErrorReport(models.Model):
    """A resident's report of a problem with a question, seen on its review page, and what
    an educator made of it. The resident sees the status and the educator's reply."""

    class Kind(models.TextChoices):
        WRONG_KEY = "wrong_key", "The marked answer is wrong"
        UNCLEAR = "unclear", "Unclear or ambiguous wording"
        OUTDATED_REFERENCE = "reference", "Outdated or wrong reference"
        TYPO = "typo", "Typo"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted: being fixed"
        REJECTED = "rejected", "Rejected"
        FIXED = "fixed", "Fixed"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="error_reports")
    attempt_item = models.ForeignKey(
        AttemptItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="error_reports",
        help_text="Where the resident met the question (its wording and choice order then).",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="error_reports"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # No NUL: PostgreSQL cannot store it in text, and no honest form sends one.
    comment = models.TextField(
        max_length=2000, validators=[MaxLengthValidator(2000), ProhibitNullCharactersValidator()]
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    reply = models.TextField(
        blank=True, help_text="Shown to the resident: what was decided, and why."
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handled_reports",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="report_status_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "question", "kind"],
                condition=Q(status="new"),
                name="one_open_report_per_kind",
                violation_error_message="You have already reported this; it awaits review.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.question.key}"
