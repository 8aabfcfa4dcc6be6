"""The question bank: topics, references, questions, their choices and citations, and
the record of each question's status changes.

Invariants the database holds:
- a question has at most one correct choice (partial unique index);
- a choice's letter is A-E and unique within its question.
The rest (4-5 choices, exactly one correct, at least one citation, an objective and an
explanation before review or publication) is checked by ``questions.authoring.rules`` and
enforced by the admin forms and ``manage.py validate_bank``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    FileExtensionValidator,
)
from django.db import models
from django.db.models import Q
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


def pending_assessments(user, now) -> models.QuerySet:
    """The (assignment, question) rows of the assignments of ``user``'s cohorts whose
    questions are still being assessed at ``now``: what ``QuestionQuerySet.assessed_for``
    holds back from practice and ``analytics.release.held_back`` from the resident's results.

    An assignment assesses its questions until the last resident's due date has passed (an
    extension granted to one resident included) and, when its results are released by
    hand, until they are; archiving it changes neither, so its own results and the
    practice pools agree. ``user``: a user or an id. Rows may repeat (one per
    grant); use it as a subquery."""
    manual = Q(assignment__release="manual") & (
        Q(assignment__released_at__isnull=True) | Q(assignment__released_at__gt=now)
    )
    return Question.assignments.through.objects.filter(
        Q(assignment__due_at__gt=now) | Q(assignment__grants__due_at__gt=now) | manual,
        assignment__cohort__residents=user,
    )


def assessed_condition(user, now) -> Q:
    """The condition on Question behind ``QuestionQuerySet.assessed_for``: an assignment of
    ``user``'s cohorts still assesses the question at ``now`` (``pending_assessments``)."""
    return Q(pk__in=pending_assessments(user, now).values("question_id"))


class QuestionQuerySet(models.QuerySet["Question"]):
    def published(self) -> QuestionQuerySet:
        return self.filter(status=Question.Status.PUBLISHED)

    def in_topics(self, topics) -> QuestionQuerySet:
        return self.filter(topics__in=topics).distinct()

    def assessed_for(self, user, now) -> QuestionQuerySet:
        """The questions an assignment of ``user``'s cohorts is still assessing at ``now``
        (``pending_assessments``): they stay out of the resident's practice (their pools,
        reviews and flashcards) until then, so that practice cannot show their keys."""
        return self.filter(assessed_condition(user, now))

    def not_assessed_for(self, user, now) -> QuestionQuerySet:
        """Without ``assessed_for(user, now)``."""
        return self.exclude(assessed_condition(user, now))

    def with_bank_relations(self) -> QuestionQuerySet:
        """Prefetch what rendering or checking a question needs: 4 queries for any number."""
        return (
            self.select_related("stem_diagram", "explanation_diagram")
            .defer("stem_diagram__svg", "explanation_diagram__svg")
            .prefetch_related(
                "topics",
                "choices",
                models.Prefetch("citations", queryset=Citation.objects.select_related("reference")),
            )
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
    stem_diagram = models.ForeignKey(
        "questions.Diagram",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stem_questions",
        help_text="A diagram shown with the question (it must not give the answer away).",
    )
    explanation_diagram = models.ForeignKey(
        "questions.Diagram",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="explanation_questions",
        help_text="A diagram shown with the explanation, once the answer is locked.",
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
