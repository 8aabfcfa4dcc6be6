"""The question bank: topics, references, questions, their choices and citations.

Invariants the database holds:
- a question has at most one correct choice (partial unique index);
- a choice's letter is A-E and unique within its question.
The rest (4-5 choices, exactly one correct, at least one citation, an objective and an
explanation before review or publication) is checked by ``questions.bank`` and enforced
by the admin forms and ``manage.py validate_bank``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

CHOICE_LETTERS = "ABCDE"


class Topic(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Reference(models.Model):
    """A work that explanations cite. ``key`` is the marker used in text: ``[@key]``."""

    class Kind(models.TextChoices):
        ARTICLE = "article", "Journal article"
        BOOK = "book", "Book or chapter"
        WEB = "web", "Web page"
        DOCUMENT = "document", "Source document"

    key = models.SlugField(max_length=60, unique=True, help_text="Cited in explanations as [@key].")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ARTICLE)
    authors = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=500)
    journal = models.CharField(max_length=200, blank=True, help_text="Journal, publisher or site.")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    volume = models.CharField(max_length=20, blank=True)
    issue = models.CharField(max_length=20, blank=True)
    pages = models.CharField(max_length=40, blank=True)
    doi = models.CharField("DOI", max_length=100, blank=True)
    pmid = models.CharField("PMID", max_length=12, blank=True)
    url = models.URLField("URL", max_length=300, blank=True)
    is_verified = models.BooleanField(
        "verified", default=False, help_text="Checked against an authoritative source."
    )
    verification_note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pmid="") | Q(pmid__regex=r"^[0-9]+$"), name="reference_pmid_digits"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def pmid_url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/" if self.pmid else ""

    @property
    def citation_text(self) -> str:
        """Vancouver-style text without links.

        Articles: 'Authors. Title. Journal. Year;Vol(Issue):Pages.'
        Books, web pages, documents: 'Authors. Title. Publisher; Year. Pages.'
        """
        parts = [p.rstrip(".") for p in (self.authors, self.title) if p]
        text = ". ".join(parts) + "."
        if self.kind != self.Kind.ARTICLE:
            source = "; ".join(str(p) for p in (self.journal, self.year) if p)
            return (
                text + (f" {source}." if source else "") + (f" {self.pages}." if self.pages else "")
            )
        if self.journal:
            text += f" {self.journal.rstrip('.')}."
        if self.year:
            text += f" {self.year}"
            if self.volume:
                text += f";{self.volume}"
            if self.issue:
                text += f"({self.issue})"
            if self.pages:
                text += f":{self.pages}"
            text += "."
        return text


class QuestionQuerySet(models.QuerySet):
    def published(self) -> QuestionQuerySet:
        return self.filter(status=Question.Status.PUBLISHED)

    def in_topics(self, topics) -> QuestionQuerySet:
        return self.filter(topics__in=topics).distinct()

    def with_bank_relations(self) -> QuestionQuerySet:
        """Prefetch what rendering or checking a question needs: 4 queries for any number."""
        return self.prefetch_related(
            "topics",
            "choices",
            models.Prefetch("citations", queryset=Citation.objects.select_related("reference")),
        )


class Question(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    class Difficulty(models.IntegerChoices):
        EASY = 1, "Easy"
        MEDIUM = 2, "Medium"
        HARD = 3, "Hard"

    key = models.SlugField(
        max_length=80,
        unique=True,
        help_text="Stable identifier used by the bank files and exports.",
    )
    stem = models.TextField(help_text="The clinical vignette or statement.")
    lead_in = models.CharField(max_length=300, help_text="The question itself, ending in '?'.")
    objective = models.TextField(
        "educational objective", blank=True, help_text="Required before review."
    )
    explanation = models.TextField(
        blank=True,
        help_text="Plain text; blank line between paragraphs; cite with [@reference-key].",
    )
    difficulty = models.PositiveSmallIntegerField(
        choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    topics = models.ManyToManyField(Topic, related_name="questions")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_questions",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_reviewed_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[topics])

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    letter = models.CharField(max_length=1, choices=[(letter, letter) for letter in CHOICE_LETTERS])
    text = models.CharField(max_length=500)
    is_correct = models.BooleanField("correct", default=False)
    rationale = models.TextField(blank=True, help_text="Why this choice is right or wrong.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["question_id", "letter"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "letter"], name="choice_letter_unique_per_question"
            ),
            models.UniqueConstraint(
                fields=["question"],
                condition=Q(is_correct=True),
                name="one_correct_choice_per_question",
                violation_error_message="A question can have only one correct choice.",
            ),
            models.CheckConstraint(
                condition=Q(letter__in=list(CHOICE_LETTERS)), name="choice_letter_a_to_e"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.letter}. {self.text}"


class Citation(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="citations")
    reference = models.ForeignKey(Reference, on_delete=models.PROTECT, related_name="citations")
    locator = models.CharField(
        max_length=300, blank=True, help_text="Which claim, page or section is cited."
    )
    order = models.PositiveSmallIntegerField(
        default=0, help_text="Citations are numbered in order."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["question_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "reference"], name="citation_reference_once_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.key} cites {self.reference.key}"


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

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @property
    def time_multiplier(self) -> float | None:
        """Multiplier of the standard pace; None means untimed."""
        return self.TIME_MULTIPLIERS[self.time_setting]


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

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    class FinishReason(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        DEADLINE = "deadline", "Time ran out"

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

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="attempt_user_status")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(status="in_progress", finished_at__isnull=True, correct_count__isnull=True)
                    | Q(status="finished", finished_at__isnull=False, correct_count__isnull=False)
                ),
                name="attempt_finished_has_time_and_score",
            ),
            models.CheckConstraint(
                condition=Q(deadline_at__isnull=True) | Q(mode="timed"),
                name="attempt_deadline_only_when_timed",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} by {self.user}"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED


class AttemptItem(models.Model):
    """A question as it was shown in an attempt.

    ``shown`` keeps what the resident saw (wording, choices in their shuffled order with
    rationales and the key, objective, explanation, citations), so editing or retiring the
    question later never changes a finished attempt. It never reaches the page before the
    answer is locked."""

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
        ]
        indexes = [models.Index(fields=["question", "locked_at"], name="item_question_locked")]

    def __str__(self) -> str:
        return f"item {self.position} of attempt {self.attempt_id}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class SiteSetting(models.Model):
    """Site-wide switches an educator controls in the admin (one row)."""

    is_signup_open = models.BooleanField(
        "open sign-up", default=True, help_text="Anyone may create a resident account."
    )

    class Meta:
        verbose_name = "site setting"

    def __str__(self) -> str:
        return "Site settings"

    @classmethod
    def current(cls) -> SiteSetting:
        return cls.objects.get_or_create(pk=1)[0]
