"""Cohorts (a program or class an educator follows, joined by code) and the
assignments set for them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.crypto import get_random_string

from questions.models.attempts import Attempt
from questions.models.bank import Question, Topic

JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I to misread


def new_join_code() -> str:
    return get_random_string(8, JOIN_CODE_ALPHABET)


def normalize_join_code(typed: str) -> str | None:
    """A join code as stored: residents type it in any case, with spaces. None when what
    is left is empty or holds a character no code has (a NUL among them)."""
    code = "".join((typed or "").split()).upper()
    return code if code and all(c in JOIN_CODE_ALPHABET for c in code) else None


class Cohort(models.Model):
    """A residency program or class: the educators who follow it and the residents in it.

    Educators see the results of their own cohorts only; a superuser sees every cohort."""

    name = models.CharField(max_length=200, unique=True)
    program = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    educators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="taught_cohorts", blank=True
    )
    residents = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cohorts", blank=True)
    join_code = models.CharField(
        max_length=12,
        unique=True,
        default=new_join_code,
        help_text="Residents join the cohort by entering this code; they are never added "
        "without it, because joining shares their results with its educators.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        # Keep the code in the form residents' typing is matched against.
        code = normalize_join_code(self.join_code)
        if code is None:
            raise ValidationError(
                {
                    "join_code": ValidationError(
                        "Use letters and digits only (no O, I, 0 or 1).", code="join_code"
                    )
                }
            )
        self.join_code = code


class Assignment(models.Model):
    """A quiz an educator sets for a cohort, open between two dates.

    A fixed set names its questions; a rule (topics and a count) is drawn once, when the
    assignment is created, so every resident answers the same questions (in their own
    shuffled order) and the item statistics and reliability compare like with like."""

    class Kind(models.TextChoices):
        FIXED = "fixed", "Fixed set of questions"
        RULE = "rule", "Rule: topics and a number of questions"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RULE)
    topics = models.ManyToManyField(Topic, related_name="assignments", blank=True)
    questions = models.ManyToManyField(Question, related_name="assignments")
    question_count = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=10, choices=Attempt.Mode.choices, default=Attempt.Mode.TIMED)
    time_limit_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Blank: the standard pace. Residents' extended-time settings still apply.",
    )
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_assignments",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__gt=models.F("opens_at")),
                name="assignment_due_after_open",
                violation_error_message="The due date must be after the opening date.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now) -> bool:
        return self.opens_at <= now <= self.due_at
