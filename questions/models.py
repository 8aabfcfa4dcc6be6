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
from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
    MaxLengthValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import Q
from django.utils.crypto import get_random_string
from simple_history.models import HistoricalRecords

CHOICE_LETTERS = "ABCDE"


IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif"]


def validate_image_size(file) -> None:
    if file.size > IMAGE_MAX_BYTES:
        raise ValidationError(
            f"The image is {file.size / 1024 / 1024:.1f} MB; the limit is "
            f"{IMAGE_MAX_BYTES // 1024 // 1024} MB.",
            code="image_too_large",
        )


class Illustrated(models.Model):
    """An optional image (an ultrasound or fluoroscopy view, a diagram) with the alt text
    a screen reader reads and a credit line: both required when there is an image."""

    image = models.ImageField(
        upload_to="questions/%Y/%m/",
        blank=True,
        validators=[FileExtensionValidator(IMAGE_EXTENSIONS), validate_image_size],
        help_text="JPEG, PNG, WebP or GIF, up to 2 MB.",
    )
    image_alt = models.CharField(
        "image alt text",
        max_length=300,
        blank=True,
        help_text="What the image shows, for residents who cannot see it.",
    )
    image_credit = models.CharField(
        max_length=300, blank=True, help_text="Source and licence, e.g. 'Author, CC BY 4.0'."
    )

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.image:
            errors = {}
            if not self.image_alt.strip():
                errors["image_alt"] = ValidationError(
                    "Describe the image for residents who cannot see it.", code="image_alt"
                )
            if not self.image_credit.strip():
                errors["image_credit"] = ValidationError(
                    "Credit the image's source.", code="image_credit"
                )
            if errors:
                raise ValidationError(errors)

    def image_data(self) -> dict | None:
        """What a snapshot keeps of the image (its URL, alt text and credit)."""
        if not self.image:
            return None
        return {"url": self.image.url, "alt": self.image_alt, "credit": self.image_credit}


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


class Question(Illustrated):
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
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who last changed its wording, choices or citations (the author until "
        "someone else does): another educator must review that version.",
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


class StatusChange(models.Model):
    """Who moved a question from one status to another, and when (also: re-reviews, where
    the status stays published and ``last_reviewed_on`` moves)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=Question.Status.choices)
    to_status = models.CharField(max_length=10, choices=Question.Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="status_changes",
    )
    changed_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.question.key}: {self.from_status} -> {self.to_status}"


class Choice(Illustrated):
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
        help_text="The assignment this attempt answers, if any (one attempt per resident).",
    )
    start_token = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The quiz builder form this attempt was started from: the same form sent "
        "again (a double click, a retry) resumes this attempt instead of starting another.",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "status"], name="attempt_user_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "user"],
                condition=Q(assignment__isnull=False),
                name="attempt_once_per_assignment",
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
    first_encounter = models.BooleanField(
        default=False,
        editable=False,
        help_text="The resident's first finished encounter with this question (the earliest "
        "started of their finished attempts that drew it): what item statistics count. Kept "
        "by engine.refresh_first_encounters when an attempt finishes.",
    )

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
                {"join_code": "Use letters and digits only (no O, I, 0 or 1)."},
                code="join_code",
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


class ReviewCard(models.Model):
    """A question on a resident's spaced-review schedule: it enters when they miss it or
    answer it unsure or by guessing, and each later answer reschedules it (FSRS, through
    the fsrs library: ``questions/review.py``). The fields are the library's card state,
    stored as columns so that "due today" is one indexed count."""

    class Reason(models.TextChoices):
        MISSED = "missed", "Missed"
        UNSURE = "unsure", "Answered unsure or by guessing"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_cards"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="review_cards")
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

    def __str__(self) -> str:
        return f"{self.question_id} for {self.user_id}, due {self.due:%Y-%m-%d}"


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
