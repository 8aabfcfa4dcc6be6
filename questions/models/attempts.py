"""Quizzes residents take (``Attempt``, a state machine) and each question in them
(``AttemptItem``, with the wording frozen when the quiz started)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from questions.models.bank import Question, Topic


def visible_attempts(cohort, *, prefix: str = "") -> Q:
    """What the educators of ``cohort`` may see of a resident's attempts: practice quizzes
    and this cohort's assignments, never another cohort's assignments. No limit for None
    (the resident's own view). ``prefix`` reaches the attempt from another model
    (``"attempt__"`` from an item)."""
    if cohort is None:
        return Q()
    return Q(**{f"{prefix}assignment__isnull": True}) | Q(**{f"{prefix}assignment__cohort": cohort})


class AttemptQuerySet(models.QuerySet["Attempt"]):
    def finished(self) -> AttemptQuerySet:
        return self.filter(status=Attempt.Status.FINISHED)

    def visible_to(self, cohort) -> AttemptQuerySet:
        """The attempts the educators of ``cohort`` may see (all of them for None)."""
        return self.filter(visible_attempts(cohort))


class AttemptItemQuerySet(models.QuerySet["AttemptItem"]):
    def scored(self) -> AttemptItemQuerySet:
        """Items once locked: answered in tutor mode, or any item of a finished quiz, where
        an unanswered question scores as wrong, exactly as in the quiz's own score. What
        every resident figure counts."""
        return self.filter(locked_at__isnull=False)

    def visible_to(self, cohort) -> AttemptItemQuerySet:
        """Items of the attempts the educators of ``cohort`` may see (all for None)."""
        return self.filter(visible_attempts(cohort, prefix="attempt__"))

    def first_encounters(self) -> AttemptItemQuerySet:
        """Each resident's (non-staff user's) first finished encounter with each question:
        the rows ``engine.refresh_first_encounters`` marks as each attempt finishes. Ranking
        every answer on each read instead took 4.8 s for a 40-question results page at
        2,000,000 answers on PostgreSQL."""
        return self.filter(first_encounter=True, attempt__user__is_staff=False)


class Attempt(models.Model):
    """One quiz a resident takes. A state machine: in progress -> finished (terminal).

    The deadline is frozen when the attempt starts; an attempt past its deadline is finished
    lazily by the engine, stamped at the deadline rather than when it was noticed."""

    class Mode(models.TextChoices):
        TIMED = "timed", "Timed"
        TUTOR = "tutor", "Tutor"

    class Pool(models.TextChoices):
        ALL = "all", "All published questions"
        UNUSED = "unused", "Unused"
        INCORRECT = "incorrect", "Incorrect"
        FLAGGED = "flagged", "Flagged"
        DUE = "due", "Due for review"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    class FinishReason(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        DEADLINE = "deadline", "Time ran out"
        COMPLETED = "completed", "All answered, left open"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices)
    pool = models.CharField(max_length=10, choices=Pool.choices, default=Pool.ALL)
    topics = models.ManyToManyField(Topic, related_name="attempts", blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    time_limit_seconds = models.PositiveIntegerField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    finish_reason = models.CharField(max_length=10, choices=FinishReason.choices, blank=True)
    question_count = models.PositiveSmallIntegerField()
    correct_count = models.PositiveSmallIntegerField(null=True, blank=True)
    current_position = models.PositiveSmallIntegerField(default=1)
    position_entered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the resident opened the current question."
    )
    assignment = models.ForeignKey(
        "Assignment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attempts",
        help_text="The assignment this attempt answers, if any (one attempt per resident "
        "unless an educator grants another).",
    )
    attempt_number = models.PositiveSmallIntegerField(
        default=1, help_text="Which of the resident's attempts at the assignment this is."
    )
    clock_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="An assignment attempt's clock as granted when it started, before the due "
        "date capped it (null: no clock, only the due date). Moving the due date recomputes "
        "the deadline from it; nothing else changes it.",
    )
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the resident paused this practice quiz (null: running). While "
        "paused, deadline_at already holds the latest it can move to (the pause allowance "
        "left), so an abandoned pause ends by itself; resuming sets it to the deadline "
        "before the pause plus the time paused.",
    )
    deadline_before_pause = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(
        default=0, help_text="Seconds paused so far (at most engine.PAUSE_LIMIT_SECONDS)."
    )
    start_token = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The quiz builder form this attempt was started from: the same form sent "
        "again (a double click, a retry) resumes this attempt instead of starting another.",
    )
    simulation = models.ForeignKey(
        "ExamSimulation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="blocks",
        help_text="The exam simulation this attempt is a block of, if any.",
    )
    block_number = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="attempt_user_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "user", "attempt_number"],
                condition=Q(assignment__isnull=False),
                name="attempt_numbered_per_assignment",
            ),
            models.UniqueConstraint(
                fields=["user", "start_token"],
                condition=Q(start_token__isnull=False),
                name="attempt_once_per_start_token",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="in_progress", finished_at__isnull=True, correct_count__isnull=True)
                    | Q(status="finished", finished_at__isnull=False, correct_count__isnull=False)
                ),
                name="attempt_finished_has_time_and_score",
            ),
            models.CheckConstraint(
                condition=Q(deadline_at__isnull=True)
                | Q(mode="timed")
                | Q(assignment__isnull=False),
                name="attempt_deadline_when_timed_or_assigned",
            ),
            models.CheckConstraint(
                condition=Q(paused_at__isnull=True, deadline_before_pause__isnull=True)
                | Q(
                    paused_at__isnull=False,
                    deadline_before_pause__isnull=False,
                    status="in_progress",
                    assignment__isnull=True,
                ),
                name="attempt_paused_practice_in_progress",
            ),
            # A block of an exam simulation is a timed practice attempt, each number once.
            models.UniqueConstraint(
                fields=["simulation", "block_number"],
                condition=Q(simulation__isnull=False),
                name="attempt_block_once",
            ),
            models.CheckConstraint(
                condition=Q(simulation__isnull=True, block_number__isnull=True)
                | Q(
                    simulation__isnull=False,
                    block_number__gte=1,
                    mode="timed",
                    assignment__isnull=True,
                ),
                name="attempt_block_is_timed_practice",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} by {self.user}"

    def get_absolute_url(self) -> str:
        """Resume: the question the resident was on, or the results once finished."""
        return reverse("questions:attempt_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED

    @property
    def pause_ends_at(self) -> datetime.datetime | None:
        """When the current pause ends by itself (its allowance spent); None when running.
        While paused the deadline holds the allowance left, so this is the pause's start
        plus that allowance."""
        if self.paused_at is None or self.deadline_at is None or self.deadline_before_pause is None:
            return None
        return self.paused_at + (self.deadline_at - self.deadline_before_pause)

    def question_url(self, position: int) -> str:
        return reverse("questions:attempt_question", args=[self.pk, position])

    def submit_url(self) -> str:
        return reverse("questions:attempt_submit", args=[self.pk])

    def results_url(self) -> str:
        """Where a finished attempt leads: its results; for a block of an exam simulation,
        the simulation's page (the break, or the summary after the last block), whose
        summary links to each block's results."""
        if self.simulation_id is not None:
            return reverse("questions:simulation_detail", args=[self.simulation_id])
        return reverse("questions:attempt_results", args=[self.pk])


class AttemptItem(models.Model):
    """A question as it was shown in an attempt.

    ``shown`` keeps what the resident saw (wording, choices in their shuffled order with
    rationales and the key, objective, explanation, citations), so editing or retiring the
    question later never changes a finished attempt. It never reaches the page before the
    answer is locked."""

    class Confidence(models.TextChoices):
        SURE = "sure", "Sure"
        UNSURE = "unsure", "Unsure"
        GUESS = "guess", "Guess"

    class MissType(models.TextChoices):
        KNOWLEDGE = "knowledge", "Knowledge gap"
        MISREAD = "misread", "Misread the question"
        REASONING = "reasoning", "Reasoning error"
        TIME = "time", "Ran out of time"

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="attempt_items")
    shown = models.JSONField()
    selected_letter = models.CharField(max_length=1, blank=True)
    selected_choice_pk = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The chosen Choice's id, for choice statistics."
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    is_correct = models.BooleanField(null=True)
    is_flagged = models.BooleanField(default=False)
    seconds_spent = models.PositiveIntegerField(default=0)
    confidence = models.CharField(
        max_length=6,
        choices=Confidence.choices,
        blank=True,
        help_text="How sure the resident said they were, with the answer (blank: not said). "
        "Fixed once the answer is locked.",
    )
    miss_type = models.CharField(
        max_length=9,
        choices=MissType.choices,
        blank=True,
        help_text="Why the resident says they missed it, tagged on review (misses only).",
    )
    struck_letters = models.CharField(
        max_length=8,
        blank=True,
        help_text="The choices the resident struck out, by letter (they stay selectable).",
    )
    highlights = models.JSONField(
        default=list,
        blank=True,
        help_text="Highlighted text of the frozen stem: sorted, disjoint [start, end) "
        "character ranges.",
    )
    note = models.TextField(blank=True, max_length=2000)
    note_updated_at = models.DateTimeField(null=True, blank=True)
    first_encounter = models.BooleanField(
        default=False,
        editable=False,
        help_text="The resident's first finished encounter with this question (the earliest "
        "started of their finished attempts that drew it): what item statistics count. Kept "
        "by engine.refresh_first_encounters when an attempt finishes.",
    )

    objects = AttemptItemQuerySet.as_manager()

    class Meta:
        ordering = ["attempt_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="item_position_unique"),
            models.UniqueConstraint(fields=["attempt", "question"], name="item_question_unique"),
            models.CheckConstraint(
                condition=Q(locked_at__isnull=True, is_correct__isnull=True)
                | Q(locked_at__isnull=False, is_correct__isnull=False),
                name="item_locked_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(miss_type="") | Q(is_correct=False), name="item_miss_type_on_miss"
            ),
        ]
        # Rows carry the frozen snapshot (about 2 KB each), so aggregates that read them
        # from the table read a page per row. The two covering indexes (PostgreSQL; SQLite
        # ignores INCLUDE) hold what the statistics read, so they are answered from the
        # index alone: a 100-resident cohort page at 2,000,000 answers, 954 ms -> 293 ms.
        indexes = [
            models.Index(fields=["question", "locked_at"], name="item_question_locked"),
            # Every resident's scores: by attempt, then user through the attempt.
            models.Index(
                fields=["attempt"],
                include=[
                    "id",
                    "question",
                    "is_correct",
                    "locked_at",
                    "answered_at",
                    "seconds_spent",
                ],
                name="item_scores",
            ),
            # Misses tagged with a reason: the few rows the miss-type mixes count.
            models.Index(
                fields=["attempt"],
                include=["miss_type", "locked_at"],
                condition=~Q(miss_type=""),
                name="item_miss_tagged",
            ),
            # Item statistics read only first encounters: about one row per resident and
            # question, where the table holds one per answer.
            models.Index(
                fields=["question"],
                include=[
                    "id",
                    "attempt",
                    "selected_choice_pk",
                    "is_correct",
                    "seconds_spent",
                    "answered_at",
                ],
                condition=Q(first_encounter=True),
                name="item_first_encounter",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.position} of attempt {self.attempt_id}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None
