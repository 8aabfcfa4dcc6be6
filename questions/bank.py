"""Which questions exist and are servable, and the rules a question must meet.

The rules are pure functions over plain data, so that the admin's forms, the bank loader
and ``manage.py validate_bank`` apply exactly the same ones:

- always: if a question has choices, exactly one is correct; every ``[@key]`` marker in
  the explanation names one of the question's citations;
- in review or published ("strict" statuses), also: 4 or 5 choices lettered from A without
  gaps, a rationale on every choice, no catch-all choices ("all of the above"), at least
  one citation, an educational objective and an explanation; published questions cite
  only verified references (source documents excepted: they are cited to correct them).
"""

from __future__ import annotations

import calendar
import datetime
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from . import review
from .models import (
    CHOICE_LETTERS,
    Attempt,
    AttemptItem,
    Choice,
    Citation,
    Question,
    Reference,
    ReviewCard,
    SiteSetting,
    StatusChange,
    Topic,
)

CITATION_MARKER = re.compile(r"\[@([A-Za-z0-9_-]+)\]")
CATCH_ALL_CHOICE = re.compile(r"\b(all|none|both|neither) of the (above|following)\b", re.I)
MIN_CHOICES, MAX_CHOICES = 4, 5

STRICT_STATUSES = frozenset({Question.Status.IN_REVIEW, Question.Status.PUBLISHED})

# Which status an action may move a question to, from where.
TRANSITIONS: dict[str, frozenset[str]] = {
    Question.Status.DRAFT: frozenset({Question.Status.IN_REVIEW, Question.Status.RETIRED}),
    Question.Status.IN_REVIEW: frozenset(
        {Question.Status.DRAFT, Question.Status.PUBLISHED, Question.Status.RETIRED}
    ),
    Question.Status.PUBLISHED: frozenset({Question.Status.IN_REVIEW, Question.Status.RETIRED}),
    Question.Status.RETIRED: frozenset({Question.Status.DRAFT}),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a question: a stable ``code`` and a message for an author."""

    code: str
    message: str


@dataclass(frozen=True)
class ChoiceData:
    letter: str
    text: str
    is_correct: bool
    rationale: str = ""


def is_strict(status: str) -> bool:
    return status in STRICT_STATUSES


def cited_keys(text: str) -> list[str]:
    """The reference keys of the ``[@key]`` markers in ``text``, in order of appearance."""
    return CITATION_MARKER.findall(text or "")


def content_problems(*, status: str, objective: str, explanation: str) -> list[Problem]:
    if not is_strict(status):
        return []
    problems = []
    if not (objective or "").strip():
        problems.append(
            Problem("no_objective", "Write the educational objective before review or publishing.")
        )
    if not (explanation or "").strip():
        problems.append(
            Problem("no_explanation", "Write the explanation before review or publishing.")
        )
    return problems


def choice_problems(*, status: str, choices: Sequence[ChoiceData]) -> list[Problem]:
    problems = []
    correct = [c.letter for c in choices if c.is_correct]
    if choices and not correct:
        problems.append(
            Problem("no_correct_choice", "Mark exactly one choice as correct: none is.")
        )
    elif len(correct) > 1:
        problems.append(
            Problem(
                "several_correct_choices",
                f"Only one choice can be correct; {len(correct)} are marked correct "
                f"({', '.join(correct)}).",
            )
        )
    texts = [c.text.strip().casefold() for c in choices]
    if len(set(texts)) < len(texts):
        problems.append(Problem("duplicate_choice", "Two choices have the same text."))
    if not is_strict(status):
        return problems
    if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        problems.append(
            Problem(
                "choice_count",
                f"A question in review or published needs {MIN_CHOICES} or {MAX_CHOICES} "
                f"choices; it has {len(choices)}.",
            )
        )
    letters = "".join(sorted(c.letter for c in choices))
    if letters != CHOICE_LETTERS[: len(choices)]:
        problems.append(
            Problem(
                "letters_not_in_order", f"Choices must be lettered from A without gaps: {letters}."
            )
        )
    for choice in choices:
        if not choice.rationale.strip():
            problems.append(
                Problem(
                    "no_rationale",
                    f"Choice {choice.letter} needs a rationale (why right or wrong).",
                )
            )
        if CATCH_ALL_CHOICE.search(choice.text):
            problems.append(
                Problem(
                    "catch_all_choice",
                    f"Choice {choice.letter} is a catch-all ('all/none of the above'); "
                    "board items use single, specific options.",
                )
            )
    return problems


def citation_problems(
    *, status: str, explanation: str, citation_keys: Iterable[str]
) -> list[Problem]:
    keys = set(citation_keys)
    problems = [
        Problem(
            "unknown_citation",
            f"The explanation cites [@{key}], which is not one of this question's citations.",
        )
        for key in dict.fromkeys(cited_keys(explanation))
        if key not in keys
    ]
    if is_strict(status) and not keys:
        problems.append(
            Problem("no_citation", "A question in review or published needs at least one citation.")
        )
    return problems


def question_problems(question: Question, *, status: str | None = None) -> list[Problem]:
    """Every rule applied to a saved question (use ``with_bank_relations`` to avoid queries).

    ``status`` checks the question as if it had that status, before a transition.
    """
    status = status or question.status
    choices = [
        ChoiceData(c.letter, c.text, c.is_correct, c.rationale) for c in question.choices.all()
    ]
    citations = list(question.citations.all())
    problems = content_problems(
        status=status, objective=question.objective, explanation=question.explanation
    )
    problems += choice_problems(status=status, choices=choices)
    problems += citation_problems(
        status=status,
        explanation=question.explanation,
        citation_keys=[c.reference.key for c in citations],
    )
    if status == Question.Status.PUBLISHED:
        problems += [
            Problem(
                "unverified_reference",
                f"Cites [{c.reference.key}], which is not marked verified; verify it or cite "
                "another source before publishing.",
            )
            for c in citations
            if not c.reference.is_verified and c.reference.kind != Reference.Kind.DOCUMENT
        ]
    return problems


def bank_problems(
    questions: Iterable[Question] | None = None,
) -> list[tuple[Question, list[Problem]]]:
    """Each question that breaks a rule, with its problems, in key order (5 queries in all)."""
    if questions is None:
        questions = Question.objects.with_bank_relations().order_by("key")
    return [(q, problems) for q in questions if (problems := question_problems(q))]


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
    question = (
        Question.objects.select_for_update().filter(pk=question.pk).with_bank_relations().get()
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
    question = Question.objects.select_for_update().with_bank_relations().get(pk=question.pk)
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


@dataclass(frozen=True)
class Version:
    """A question as it stood between one save of it and the next, with its choices and
    citations as they were then (the admin saves the question first, then its inlines)."""

    record: object  # the HistoricalQuestion that opened the version
    topic_ids: list[int]
    choices: list[ChoiceData]
    citations: list[tuple[int, str]]  # (reference id, locator) in citation order


def version_of(*, question: Question, history_id: int) -> Version:
    """The version of ``question`` that its history record ``history_id`` opened."""
    record = question.history.get(history_id=history_id)
    later = (
        question.history.filter(history_date__gt=record.history_date)
        .order_by("history_date")
        .first()
    )
    # Just before the next save of the question, or now for the latest version.
    as_of = later.history_date - datetime.timedelta(microseconds=1) if later else timezone.now()
    choices = sorted(
        Choice.history.as_of(as_of).filter(question_id=question.pk), key=lambda c: c.letter
    )
    citations = sorted(
        Citation.history.as_of(as_of).filter(question_id=question.pk),
        key=lambda c: (c.order, c.pk),
    )
    return Version(
        record=record,
        topic_ids=[row.topic_id for row in record.topics.all()],
        choices=[
            ChoiceData(letter=c.letter, text=c.text, is_correct=c.is_correct, rationale=c.rationale)
            for c in choices
        ],
        citations=[(c.reference_id, c.locator) for c in citations],
    )


def _quoted(text: str, limit: int = 120) -> str:
    text = str(text)
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _choice_change_lines(previous, record) -> list[str]:
    name = f"Choice {record.letter}"
    if record.history_type == "+":
        key = " (the key)" if record.is_correct else ""
        return [f"{name} added{key}: {_quoted(record.text)}"]
    if record.history_type == "-":
        return [f"{name} deleted: {_quoted(record.text)}"]
    if previous is None:
        return []
    lines = []
    if previous.letter != record.letter:
        lines.append(f"Choice {previous.letter} re-lettered {record.letter}")
    if previous.is_correct != record.is_correct:
        lines.append(
            f"{name} is now the key" if record.is_correct else f"{name} is no longer the key"
        )
    if previous.text != record.text:
        lines.append(f"{name}: text changed to {_quoted(record.text)}")
    if previous.rationale != record.rationale:
        lines.append(f"{name}: rationale changed to {_quoted(record.rationale)}")
    return lines


def _citation_change_lines(previous, record, keys: dict[int, str]) -> list[str]:
    name = keys.get(record.reference_id, f"reference {record.reference_id}")
    if record.history_type == "+":
        return [f"Cites {name}" + (f" ({record.locator})" if record.locator else "")]
    if record.history_type == "-":
        return [f"No longer cites {name}"]
    if previous is None:
        return []
    lines = []
    if previous.reference_id != record.reference_id:
        lines.append(f"Citation of {keys.get(previous.reference_id)} now cites {name}")
    if previous.locator != record.locator:
        lines.append(f"Citation of {name}: locator changed to {_quoted(record.locator)}")
    if previous.order != record.order:
        lines.append(f"Citation of {name} moved to number {record.order}")
    return lines


def choice_and_citation_changes(question: Question) -> dict[int, list[str]]:
    """What each save of ``question`` changed in its choices and citations, keyed by the
    ``history_id`` of the question version it belongs to: ``{history_id: [line, ...]}``.

    The admin saves the question first and its choices and citations just after, so a
    change belongs to the latest question version saved before it. Saves that changed
    nothing are left out. Four queries whatever the length of the history."""
    versions = list(
        question.history.order_by("history_date", "history_id").values_list(
            "history_id", "history_date"
        )
    )
    if not versions:
        return {}
    dates = [date for _, date in versions]
    order = ("id", "history_date", "history_id")
    choices = list(Choice.history.filter(question_id=question.pk).order_by(*order))
    citations = list(Citation.history.filter(question_id=question.pk).order_by(*order))
    keys = dict(
        Reference.objects.filter(pk__in={c.reference_id for c in citations}).values_list(
            "pk", "key"
        )
    )
    changes: dict[int, list[str]] = {}
    for records, describe in (
        (choices, _choice_change_lines),
        (citations, lambda previous, record: _citation_change_lines(previous, record, keys)),
    ):
        # Each row's records in order: a record is compared with the one before it.
        for previous, record in zip([None, *records], records, strict=False):
            same_row = previous is not None and previous.id == record.id
            if lines := describe(previous if same_row else None, record):
                version = versions[max(bisect_right(dates, record.history_date) - 1, 0)]
                changes.setdefault(version[0], []).extend(lines)
    return changes


@transaction.atomic
def restore_version(*, question: Question, history_id: int, by=None) -> Question:
    """Make the question's wording, image, topics, choices and citations those of an
    earlier version. A published question must still meet the published rules once
    restored (or nothing changes), and then goes back to review: residents only see
    reviewed wording. Raises TransitionError."""
    version = version_of(question=question, history_id=history_id)
    record = version.record
    references = Reference.objects.in_bulk([ref for ref, _ in version.citations])
    if missing := [ref for ref, _ in version.citations if ref not in references]:
        raise TransitionError(
            f"That version cites {len(missing)} reference(s) deleted since; it cannot be restored."
        )
    question = Question.objects.select_for_update().get(pk=question.pk)
    for name in (
        "stem", "lead_in", "objective", "explanation", "difficulty",
        "image", "image_alt", "image_credit",
    ):  # fmt: skip
        setattr(question, name, getattr(record, name))
    if by is not None:
        question.last_edited_by = by
    question._change_reason = f"Restored the version of {record.history_date:%Y-%m-%d %H:%M}"
    question.save()
    # A topic deleted since is left out: its questions no longer belong to it anywhere.
    question.topics.set(Topic.objects.filter(pk__in=version.topic_ids))
    save_choices(question=question, choices=version.choices)
    save_citations(question, [(references[ref], locator) for ref, locator in version.citations])
    restored = Question.objects.with_bank_relations().get(pk=question.pk)
    if problems := question_problems(restored):
        transaction.set_rollback(True)
        raise TransitionError("That version breaks the rules of its status:", problems)
    back_to_review_if_published(question=restored, by=by, note="restored an earlier version")
    return restored


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


class PoolTooSmall(Exception):
    def __init__(self, *, available: int, requested: int):
        super().__init__(
            f"Only {available} question{'s' if available != 1 else ''} match these settings; "
            f"choose {available} or fewer, or widen the topics or pool."
            if available
            else "No question matches these settings: choose other topics or another pool."
        )
        self.available = available
        self.requested = requested


def pool_questions(*, user, topics=None, pool: str = Attempt.Pool.ALL) -> QuerySet[Question]:
    """Published questions in ``topics`` (all when empty) that belong to ``pool`` for ``user``:

    - all: every published question;
    - unused: never shown to the user in any attempt;
    - incorrect: the user's most recent locked answer to it was wrong (or left unanswered);
    - flagged: flagged in the user's most recent attempt that showed it;
    - due: on the user's spaced-review schedule and due now (``review``).
    """
    questions = Question.objects.published()
    if topics:
        questions = questions.filter(pk__in=Question.objects.filter(topics__in=topics).values("pk"))
    mine = AttemptItem.objects.filter(question=OuterRef("pk"), attempt__user=user)
    if pool == Attempt.Pool.UNUSED:
        questions = questions.exclude(
            pk__in=AttemptItem.objects.filter(attempt__user=user).values("question")
        )
    elif pool == Attempt.Pool.INCORRECT:
        last = mine.filter(locked_at__isnull=False).order_by("-locked_at", "-id")
        questions = questions.alias(last_correct=Subquery(last.values("is_correct")[:1])).filter(
            last_correct=False
        )
    elif pool == Attempt.Pool.FLAGGED:
        last = mine.order_by("-attempt__started_at", "-id")
        questions = questions.alias(last_flag=Subquery(last.values("is_flagged")[:1])).filter(
            last_flag=True
        )
    elif pool == Attempt.Pool.DUE:
        questions = questions.filter(pk__in=review.due_question_ids(user))
    return questions


def draw_questions(
    *, user, count: int, topics=None, pool: str = Attempt.Pool.ALL, rng: random.Random | None = None
) -> list[Question]:
    """``count`` distinct questions from the pool in random order, with what rendering and
    snapshotting them needs prefetched. Raises PoolTooSmall."""
    rng = rng or random.SystemRandom()
    questions = pool_questions(user=user, topics=topics, pool=pool)
    if pool == Attempt.Pool.DUE:
        # The most overdue first, so that none waits behind the others indefinitely.
        due = ReviewCard.objects.filter(user=user, question=OuterRef("pk")).values("due")[:1]
        ids = list(
            questions.annotate(card_due=Subquery(due))
            .order_by("card_due", "pk")
            .values_list("pk", flat=True)
        )
    else:
        ids = sorted(questions.values_list("pk", flat=True))
    if count < 1 or len(ids) < count:
        raise PoolTooSmall(available=len(ids), requested=count)
    chosen = rng.sample(ids[:count], count) if pool == Attempt.Pool.DUE else rng.sample(ids, count)
    by_id = Question.objects.with_bank_relations().in_bulk(chosen)
    return [by_id[pk] for pk in chosen]
