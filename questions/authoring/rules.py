"""The rules a question must meet, as pure functions over plain data, so that the admin's
forms, the bank loader and ``manage.py validate_bank`` apply exactly the same ones:

- always: if a question has choices, exactly one is correct; every ``[@key]`` marker in
  the explanation names one of the question's citations;
- in review or published ("strict" statuses), also: 4 or 5 choices lettered from A without
  gaps, a rationale on every choice, no catch-all choices ("all of the above"), at least
  one citation, an educational objective and an explanation; published questions cite
  only verified references (source documents excepted: they are cited to correct them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from questions.authoring.citations import cited_keys
from questions.models import (
    CHOICE_LETTERS,
    Question,
    Reference,
)

CATCH_ALL_CHOICE = re.compile(r"\b(all|none|both|neither) of the (above|following)\b", re.I)

MIN_CHOICES, MAX_CHOICES = 4, 5

STRICT_STATUSES = frozenset({Question.Status.IN_REVIEW, Question.Status.PUBLISHED})


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
