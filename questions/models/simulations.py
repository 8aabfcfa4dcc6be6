"""Exam simulations: a sequence of timed blocks with a break between them, as the
computer-based board exams run. Each block is an ordinary timed ``Attempt``
(``Attempt.simulation``, ``Attempt.block_number``); the states and transitions are
``questions.quizzes.simulation``."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from questions.models.attempts import Attempt
from questions.models.bank import Topic

MIN_BLOCKS, MAX_BLOCKS = 2, 8
MIN_BLOCK_SIZE, MAX_BLOCK_SIZE = 5, 40
MAX_BREAK_SECONDS = 15 * 60
DEFAULT_BREAK_SECONDS = 10 * 60


class ExamSimulation(models.Model):
    """A resident's simulated exam: ``block_count`` blocks of ``block_size`` questions, a
    break of ``break_seconds`` after each block but the last.

    What it will ask is fixed when it is created: ``question_ids`` holds
    ``block_count * block_size`` distinct questions drawn from the pool, block 1's first,
    so no question comes back in a later block and a later block never finds the pool
    empty. The pace is fixed then too (``seconds_per_question``: the standard pace times
    the resident's time setting), so every block has the same clock. A state machine:
    in progress -> finished (terminal), finished as of its last block's end."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_simulations"
    )
    block_count = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_BLOCKS), MaxValueValidator(MAX_BLOCKS)]
    )
    block_size = models.PositiveSmallIntegerField(
        "questions per block",
        validators=[MinValueValidator(MIN_BLOCK_SIZE), MaxValueValidator(MAX_BLOCK_SIZE)],
    )
    seconds_per_question = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="The resident's pace when the simulation was created (the standard pace "
        "times their time setting); each block's clock is its questions times this.",
    )
    break_seconds = models.PositiveIntegerField(
        default=DEFAULT_BREAK_SECONDS,
        validators=[MaxValueValidator(MAX_BREAK_SECONDS)],
        help_text="The break after each block but the last (0: the next block starts as "
        "soon as one ends).",
    )
    pool = models.CharField(max_length=10, choices=Attempt.Pool.choices, default=Attempt.Pool.ALL)
    topics = models.ManyToManyField(Topic, related_name="exam_simulations", blank=True)
    question_ids = models.JSONField(
        default=list,
        help_text="The questions drawn when it was created, in the order the blocks ask them.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    start_token = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The builder form it was created from: the same form sent again (a double "
        "click, a retry) opens this simulation instead of creating another.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(block_count__gte=MIN_BLOCKS, block_count__lte=MAX_BLOCKS)
                & Q(block_size__gte=MIN_BLOCK_SIZE, block_size__lte=MAX_BLOCK_SIZE)
                & Q(break_seconds__lte=MAX_BREAK_SECONDS, seconds_per_question__gte=1),
                name="simulation_sizes_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status="in_progress", finished_at__isnull=True)
                | Q(status="finished", finished_at__isnull=False),
                name="simulation_finished_has_time",
            ),
            models.UniqueConstraint(
                fields=["user", "start_token"],
                condition=Q(start_token__isnull=False),
                name="simulation_once_per_start_token",
            ),
        ]

    def __str__(self) -> str:
        return f"exam simulation {self.pk} by {self.user}"

    def get_absolute_url(self) -> str:
        return reverse("questions:simulation_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED

    @property
    def block_seconds(self) -> int:
        """The clock of a full block."""
        return self.block_size * self.seconds_per_question

    @property
    def total_seconds(self) -> int:
        """Every block's clock and every break: the longest the simulation can last."""
        return self.block_count * self.block_seconds + (self.block_count - 1) * self.break_seconds

    def block_question_ids(self, block_number: int) -> list[int]:
        """The questions planned for block ``block_number`` (1-based), in order."""
        start = (block_number - 1) * self.block_size
        return list(self.question_ids[start : start + self.block_size])
