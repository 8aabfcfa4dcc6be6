"""Cohorts (a program or class an educator follows, joined by code) and the
assignments set for them."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Max, Q
from django.utils.crypto import get_random_string
from django.utils.functional import cached_property

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


def default_time_zone() -> str:
    """A new cohort's time zone: the site's COHORT_TIME_ZONE setting."""
    return settings.COHORT_TIME_ZONE


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(
            "Choose a time zone by its IANA name, such as America/Chicago.", code="time_zone"
        )


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
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Assignment dates are entered and shown in this time zone (IANA name).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_text(self, moment: datetime.datetime) -> str:
        """A moment as the cohort reads it: '9 Mar 2026, 23:59 EDT'."""
        return f"{moment.astimezone(self.tzinfo):%-d %b %Y, %H:%M %Z}"

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

    class Release(models.TextChoices):
        """When a resident who finished sees their score and the explanations (Moodle's
        review options, TrueLearn's assessments)."""

        IMMEDIATELY = "immediately", "As soon as each resident finishes"
        AT_DUE = "at_due", "At the due date"
        MANUAL = "manual", "When an educator releases them"

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
        help_text="Blank: the standard pace. Educators' time accommodations for the cohort "
        "apply; residents' own time settings do not.",
    )
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    release = models.CharField(
        "results released", max_length=12, choices=Release.choices, default=Release.AT_DUE
    )
    released_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an educator released the results (a manual release).",
    )
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Archived: off residents' lists and no longer startable; results kept.",
    )
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
        return self.archived_at is None and self.opens_at <= now <= self.due_at

    @cached_property
    def last_due_at(self) -> datetime.datetime:
        """The latest due date of any resident: the assignment's, or a later one an
        educator granted (``AssignmentGrant.due_at``). One query, cached on the instance."""
        granted = self.grants.aggregate(latest=Max("due_at"))["latest"]
        return max(self.due_at, granted) if granted else self.due_at

    def results_released(self, now) -> bool:
        """Whether residents who finished may see their scores and the explanations.

        Immediately: as each resident finishes (the caller checks the attempt finished).
        At the due date: once the last resident's due date has passed, extensions
        included, so nobody still to answer can learn the key from a classmate. Manual:
        from the educator's release."""
        if self.release == self.Release.IMMEDIATELY:
            return True
        if self.release == self.Release.AT_DUE:
            return now >= self.last_due_at
        return self.released_at is not None and self.released_at <= now


class Granted(models.Model):
    """Who granted a record to a resident, and when (``quizzes.control`` sets both)."""

    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField()

    class Meta:
        abstract = True


class Accommodation(Granted):
    """Extended time an educator grants a resident of a cohort, for that cohort's timed
    assignments. A resident's own time setting applies to their practice only."""

    class TimeSetting(models.TextChoices):
        EXTENDED_1_5 = "x1.5", "Extended ×1.5"
        EXTENDED_2 = "x2", "Extended ×2"
        UNTIMED = "untimed", "Untimed (only the due date)"

    MULTIPLIERS = {"x1.5": 1.5, "x2": 2.0, "untimed": None}

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="accommodations")
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accommodations"
    )
    time_setting = models.CharField(max_length=10, choices=TimeSetting.choices)
    note = models.CharField(
        max_length=300, help_text="Why, and on whose authority (kept with the grant)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "resident"], name="accommodation_once_per_cohort"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_time_setting_display()} for {self.resident} in {self.cohort}"

    @property
    def multiplier(self) -> float | None:
        """Multiplier of the assignment's clock; None: untimed (only the due date)."""
        return self.MULTIPLIERS[self.time_setting]


class AssignmentGrant(Granted):
    """What an educator gives one resident on one assignment: a later due date of their
    own, and/or further attempts."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="grants")
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignment_grants"
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="This resident's own due date (null: the assignment's)."
    )
    extra_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Minutes added to this resident's clock (a timed assignment)."
    )
    extra_attempts = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "resident"], name="grant_once")
        ]

    def __str__(self) -> str:
        return f"grant to {self.resident} on {self.assignment}"


class CohortLogEntry(models.Model):
    """One change an educator made to a cohort's assignments or accommodations: who, when,
    what. Written by the domain function that made the change, in its transaction."""

    class Action(models.TextChoices):
        SET = "set", "Set"
        EDITED = "edited", "Edited"
        EXTENDED = "extended", "Extended"
        CLOSED = "closed", "Closed early"
        RELEASED = "released", "Results released"
        ARCHIVED = "archived", "Archived"
        UNARCHIVED = "unarchived", "Restored from the archive"
        EXTENSION = "extension", "Extension for one resident"
        ATTEMPT = "attempt", "Another attempt for one resident"
        ACCOMMODATION = "accommodation", "Accommodation"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="log_entries")
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, null=True, blank=True, related_name="log_entries"
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField()
    action = models.CharField(max_length=16, choices=Action.choices)
    summary = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "cohort log entries"

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.summary}"
