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

import datetime
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from .models import CHOICE_LETTERS, Attempt, AttemptItem, Choice, Question, Reference

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


@transaction.atomic
def change_status(*, question: Question, to: str, now: datetime.datetime | None = None) -> Question:
    """Move a question to status ``to`` if the transition is allowed and the question meets
    the rules of that status. Publishing stamps ``last_reviewed_on``. Raises TransitionError."""
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
    if problems := question_problems(question, status=to):
        raise TransitionError("It is not ready:", problems)
    question.status = to
    if to == Question.Status.PUBLISHED:
        question.last_reviewed_on = timezone.localdate(now)
    question.save(update_fields=["status", "last_reviewed_on", "updated_at"])
    return question


def save_choices(*, question: Question, choices: Sequence[ChoiceData]) -> None:
    """Make the question's choices exactly ``choices`` (matched by letter), in one transaction.

    The old key is cleared first, so the one-correct-choice index never sees two keys at once.
    """
    with transaction.atomic():
        question.choices.filter(is_correct=True).exclude(
            letter__in=[c.letter for c in choices if c.is_correct]
        ).update(is_correct=False)
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
    - flagged: flagged in the user's most recent attempt that showed it.
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
    return questions


def draw_questions(
    *, user, count: int, topics=None, pool: str = Attempt.Pool.ALL, rng: random.Random | None = None
) -> list[Question]:
    """``count`` distinct questions from the pool in random order, with what rendering and
    snapshotting them needs prefetched. Raises PoolTooSmall."""
    rng = rng or random.SystemRandom()
    ids = sorted(pool_questions(user=user, topics=topics, pool=pool).values_list("pk", flat=True))
    if count < 1 or len(ids) < count:
        raise PoolTooSmall(available=len(ids), requested=count)
    chosen = rng.sample(ids, count)
    by_id = Question.objects.with_bank_relations().in_bulk(chosen)
    return [by_id[pk] for pk in chosen]
