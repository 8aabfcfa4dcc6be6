"""The editorial workflow: a question's status moves draft -> in review -> published ->
retired along ``TRANSITIONS`` only, nobody publishes their own question, a published
question edited goes back to review, and questions due for their periodic editorial review
are listed. Choices and citations are saved here too, so that the admin and the importers
keep the database's one-correct-choice rule the same way.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from questions.authoring.rules import ChoiceData, Problem, question_problems
from questions.models import (
    Choice,
    Citation,
    Question,
    Reference,
    SiteSetting,
    StatusChange,
)

# Which status an action may move a question to, from where.
TRANSITIONS: dict[str, frozenset[str]] = {
    Question.Status.DRAFT: frozenset({Question.Status.IN_REVIEW, Question.Status.RETIRED}),
    Question.Status.IN_REVIEW: frozenset(
        {Question.Status.DRAFT, Question.Status.PUBLISHED, Question.Status.RETIRED}
    ),
    Question.Status.PUBLISHED: frozenset({Question.Status.IN_REVIEW, Question.Status.RETIRED}),
    Question.Status.RETIRED: frozenset({Question.Status.DRAFT}),
}


class TransitionError(Exception):
    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)

    @property
    def detail(self) -> str:
        """The reason with every rule problem, as one sentence for an author."""
        return " ".join([str(self), *(p.message for p in self.problems)])


def _self_review_refused(question: Question, by) -> bool:
    """Whoever wrote the question's current version (its last editor, else its author) may
    not be the one who publishes or re-reviews it, unless the site allows self-review (a
    one-person program). Once another educator edits it, the author may review the edit."""
    writer_id = question.last_edited_by_id or question.author_id
    return (
        by is not None
        and writer_id is not None
        and writer_id == by.pk
        and not SiteSetting.current().allows_self_review
    )


SELF_REVIEW_MESSAGE = (
    "Another educator must review it: you wrote its current version. "
    "(A one-person program can allow self-review in Site settings.)"
)


@transaction.atomic
def change_status(
    *, question: Question, to: str, by=None, now: datetime.datetime | None = None
) -> Question:
    """Move a question to status ``to`` if the transition is allowed, the question meets
    the rules of that status and, when publishing, ``by`` is not its author (unless
    self-review is allowed). Publishing stamps ``last_reviewed_on``. Every move is logged
    as a StatusChange with who and when (``by`` None: a command, not a person).
    Raises TransitionError."""
    now = now or timezone.now()
    # Only the question's row: its diagrams are outer-joined, which PostgreSQL cannot lock.
    question = (
        Question.objects.select_for_update(of=("self",))
        .filter(pk=question.pk)
        .with_bank_relations()
        .get()
    )
    if to == question.status:
        raise TransitionError(f"It is already {question.get_status_display().lower()}.")
    if to not in TRANSITIONS[question.status]:
        raise TransitionError(
            f"A {question.get_status_display().lower()} question cannot be moved to "
            f"{Question.Status(to).label.lower()}."
        )
    if to == Question.Status.PUBLISHED and _self_review_refused(question, by):
        raise TransitionError(SELF_REVIEW_MESSAGE)
    if problems := question_problems(question, status=to):
        raise TransitionError("It is not ready:", problems)
    StatusChange.objects.create(
        question=question, from_status=question.status, to_status=to, changed_by=by, changed_at=now
    )
    question.status = to
    if to == Question.Status.PUBLISHED:
        question.last_reviewed_on = timezone.localdate(now)
    question.save(update_fields=["status", "last_reviewed_on", "updated_at"])
    return question


def back_to_review_if_published(
    *, question: Question, by, note: str, now: datetime.datetime | None = None
) -> bool:
    """A published question whose content changed goes back to review (logged), so that
    residents only ever see wording another educator has reviewed. True if it moved."""
    if question.status != Question.Status.PUBLISHED:
        return False
    StatusChange.objects.create(
        question=question,
        from_status=Question.Status.PUBLISHED,
        to_status=Question.Status.IN_REVIEW,
        changed_by=by,
        changed_at=now or timezone.now(),
        note=note,
    )
    question.status = Question.Status.IN_REVIEW
    question.save(update_fields=["status", "updated_at"])
    return True


@transaction.atomic
def mark_reviewed(*, question: Question, by, now: datetime.datetime | None = None) -> Question:
    """Record that ``by`` checked a published question and found it still accurate: its
    ``last_reviewed_on`` becomes today. Same rules as publishing. Raises TransitionError."""
    now = now or timezone.now()
    # Only the question's row: its diagrams are outer-joined, which PostgreSQL cannot lock.
    question = (
        Question.objects.select_for_update(of=("self",)).with_bank_relations().get(pk=question.pk)
    )
    if question.status != Question.Status.PUBLISHED:
        raise TransitionError("Only a published question is re-reviewed; publish it instead.")
    if _self_review_refused(question, by):
        raise TransitionError(SELF_REVIEW_MESSAGE)
    if problems := question_problems(question):
        raise TransitionError("It no longer meets the rules:", problems)
    StatusChange.objects.create(
        question=question,
        from_status=question.status,
        to_status=question.status,
        changed_by=by,
        changed_at=now,
        note="reviewed: still accurate",
    )
    question.last_reviewed_on = timezone.localdate(now)
    question.save(update_fields=["last_reviewed_on", "updated_at"])
    return question


def review_due_before(today: datetime.date, months: int) -> datetime.date:
    """The date before which a last review is overdue: ``months`` calendar months ago."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(today.day, last_day))


def needing_attention(*, today: datetime.date, months: int) -> dict[str, QuerySet[Question]]:
    """Published questions an educator should look at, by reason: ``{"review_overdue",
    "unverified_reference"}`` (item-analysis flags come from ``stats``)."""
    published = Question.objects.published()
    return {
        "review_overdue": published.filter(
            Q(last_reviewed_on__isnull=True)
            | Q(last_reviewed_on__lt=review_due_before(today, months))
        ),
        "unverified_reference": published.filter(
            pk__in=Citation.objects.filter(reference__is_verified=False)
            .exclude(reference__kind=Reference.Kind.DOCUMENT)
            .values("question")
        ),
    }


def save_citations(question: Question, wanted: list[tuple[Reference, str]]) -> None:
    """Make the question's citations exactly ``wanted`` (reference, locator), numbered in
    that order."""
    question.citations.exclude(reference__in=[ref for ref, _ in wanted]).delete()
    existing = {c.reference_id: c for c in question.citations.all()}
    for order, (reference, locator) in enumerate(wanted, start=1):
        citation = existing.get(reference.pk) or Citation(question=question, reference=reference)
        if citation.pk and (citation.locator, citation.order) == (locator, order):
            continue
        citation.locator, citation.order = locator, order
        citation.full_clean(validate_unique=False, validate_constraints=False)
        citation.save()


def clear_old_key(*, question: Question, keep: Sequence[int]) -> int:
    """Clear ``is_correct`` on the question's choices other than those with ids in ``keep``,
    before the admin's choice forms save the new key: the one-correct-choice index allows
    one key at a time. A queryset update, not recorded in history: the old key's own form
    saves it afterwards, and that save is what history records. Returns the rows changed."""
    return (
        question.choices.filter(is_correct=True).exclude(pk__in=list(keep)).update(is_correct=False)
    )


def save_choices(*, question: Question, choices: Sequence[ChoiceData]) -> None:
    """Make the question's choices exactly ``choices`` (matched by letter), in one transaction.

    The old key is cleared first, so the one-correct-choice index never sees two keys at once.
    """
    with transaction.atomic():
        # Saved one by one (not a queryset update) so that the history records it.
        for old_key in question.choices.filter(is_correct=True).exclude(
            letter__in=[c.letter for c in choices if c.is_correct]
        ):
            old_key.is_correct = False
            old_key.save(update_fields=["is_correct"])
        question.choices.exclude(letter__in=[c.letter for c in choices]).delete()
        existing = {c.letter: c for c in question.choices.all()}
        for data in choices:
            choice = existing.get(data.letter) or Choice(question=question, letter=data.letter)
            fields = {"text": data.text, "is_correct": data.is_correct, "rationale": data.rationale}
            if choice.pk and all(getattr(choice, k) == v for k, v in fields.items()):
                continue
            for name, value in fields.items():
                setattr(choice, name, value)
            choice.full_clean(validate_unique=False, validate_constraints=False)
            choice.save()
