"""A resident's profile (program, training year, time setting) and the site's one
setting row."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ResidentProfile(models.Model):
    """A resident's program, training year and accessibility time setting (WCAG 2.2.1)."""

    class TimeSetting(models.TextChoices):
        STANDARD = "standard", "Standard"
        EXTENDED_1_5 = "x1.5", "Extended ×1.5"
        EXTENDED_2 = "x2", "Extended ×2"
        UNTIMED = "untimed", "Untimed"

    TIME_MULTIPLIERS = {"standard": 1.0, "x1.5": 1.5, "x2": 2.0, "untimed": None}

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_profile"
    )
    program = models.CharField(max_length=200, blank=True)
    training_year = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(year, f"PGY-{year}") for year in range(1, 8)]
    )
    time_setting = models.CharField(
        max_length=10, choices=TimeSetting.choices, default=TimeSetting.STANDARD
    )
    has_keyboard_shortcuts = models.BooleanField("keyboard shortcuts", default=True)

    class TextSize(models.TextChoices):
        STANDARD = "standard", "Standard"
        LARGE = "large", "Large"
        LARGER = "larger", "Larger"

    text_size = models.CharField(
        "question text size", max_length=8, choices=TextSize.choices, default=TextSize.STANDARD
    )
    is_timer_hidden = models.BooleanField(
        "hide the clock until the last 5 minutes",
        default=False,
        help_text="The clock still runs on the server; it shows itself for the last 5 minutes.",
    )
    has_strikeout = models.BooleanField("strike-out of choices", default=True)
    has_highlighter = models.BooleanField("highlighter", default=True)
    has_notes = models.BooleanField("notes on questions", default=True)
    has_question_timer = models.BooleanField("time on this question", default=True)

    class EmailNotifications(models.TextChoices):
        ALL = "all", "All notifications"
        ASSIGNMENTS = "assignments", "Only about assignments"
        NONE = "none", "None"

    email_notifications = models.CharField(
        "notifications by e-mail",
        max_length=12,
        choices=EmailNotifications.choices,
        default=EmailNotifications.ALL,
        help_text="What the site e-mails you, when it can send mail. Every notification "
        "also appears under the bell.",
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def time_multiplier(self) -> float | None:
        """Multiplier of the standard pace; None means untimed."""
        return self.TIME_MULTIPLIERS[self.time_setting]


class SiteSetting(models.Model):
    """Site-wide switches an educator controls in the admin (one row)."""

    is_signup_open = models.BooleanField(
        "open sign-up", default=True, help_text="Anyone may create a resident account."
    )
    allows_self_review = models.BooleanField(
        "allow self-review",
        default=False,
        help_text="Let an author publish or re-review their own question. Only for a "
        "one-person program: otherwise another educator reviews every question.",
    )

    class Meta:
        verbose_name = "site setting"

    def __str__(self) -> str:
        return "Site settings"

    @classmethod
    def current(cls) -> SiteSetting:
        return cls.objects.get_or_create(pk=1)[0]
