"""Write checked bank items to the database: the one path by which the bank files loader
(``bank_files``) and the file import (``transfer``) save questions.

Rows are matched by their natural key (a topic's slug, a reference's or question's key)
and written only when a value differs, so saving the same items twice adds no history.
A question's choices and citations are made to match its item exactly, through
``questions.authoring.workflow``. Nothing here opens a transaction of its own: the caller
runs it inside one and rolls back when any problem is returned.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from questions.authoring import rules, workflow
from questions.interchange.schema import BankItem
from questions.models import CHOICE_LETTERS, Diagram, Question, Reference, Topic

__all__ = ["REFERENCE_FIELDS", "LoadSummary", "save_questions", "upsert_row"]

DIFFICULTY_VALUES = {d.label.lower(): d.value for d in Question.Difficulty}
REFERENCE_FIELDS = (
    "kind", "authors", "title", "journal", "year", "volume", "issue", "pages",
    "doi", "pmid", "url", "is_verified", "verification_note",
)  # fmt: skip

Row = TypeVar("Row", bound=models.Model)


@dataclass
class LoadSummary:
    """How many rows of each kind were created and updated."""

    created: dict[str, int] = field(
        default_factory=lambda: {"topic": 0, "reference": 0, "diagram": 0, "question": 0}
    )
    updated: dict[str, int] = field(
        default_factory=lambda: {"topic": 0, "reference": 0, "diagram": 0, "question": 0}
    )

    def __str__(self) -> str:
        return ", ".join(
            f"{kind}s: {self.created[kind]} created, {self.updated[kind]} updated"
            for kind in self.created
        )


def upsert_row(
    model: type[Row], *, lookup: dict, values: dict, report: LoadSummary, kind: str
) -> Row:
    """Create or update the one row of ``model`` matching ``lookup``, saving (after
    ``full_clean``, which may raise ``ValidationError``) only when a value differs;
    ``kind`` ("topic", "reference", "question") is what ``report`` counts it as."""
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        report.created[kind] += 1
        return obj
    if any(getattr(obj, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(obj, name, value)
        obj.full_clean()
        obj.save()
        report.updated[kind] += 1
    return obj


def save_questions(
    items: list[tuple[str, BankItem]],
    *,
    topics: dict[str, Topic],
    references: dict[str, Reference],
    report: LoadSummary,
    today: datetime.date | None,
    diagrams: dict[str, Diagram] | None = None,
) -> list[str]:
    """Create or update each question (by key) with its choices, citations and topics, and
    return every problem, each after the ``where`` it came with (then the bank-wide rules'
    problems, after the key). Problems: a key used twice, unknown topics or references, the
    authoring rules of ``questions.authoring.rules`` and the models' own validation.
    A new question without ``last_reviewed_on`` is stamped ``today`` (None: left blank).
    ``diagrams``: the diagrams by slug (None: those in the database)."""
    if diagrams is None:
        diagrams = {d.slug: d for d in Diagram.objects.defer("svg")}
    errors: list[str] = []
    seen: set[str] = set()
    failed: set[str] = set()
    for where, item in items:
        if item.key in seen:
            errors.append(f"{where}: duplicate key")
            continue
        seen.add(item.key)
        unknown_topics = [s for s in item.topics if s not in topics]
        unknown_refs = [c.ref for c in item.citations if c.ref not in references]
        if unknown_topics or unknown_refs:
            errors.append(f"{where}: unknown topics {unknown_topics} or references {unknown_refs}")
            continue
        unknown_diagrams = [
            slug
            for slug in (item.stem_diagram, item.explanation_diagram)
            if slug and slug not in diagrams
        ]
        if unknown_diagrams:
            errors.append(f"{where}: unknown diagrams {unknown_diagrams}")
            continue
        choices = [
            rules.ChoiceData(
                letter=CHOICE_LETTERS[i], text=c.text, is_correct=c.correct, rationale=c.rationale
            )
            for i, c in enumerate(item.choices)
        ]
        problems = (
            rules.content_problems(
                status=item.status, objective=item.objective, explanation=item.explanation
            )
            + rules.choice_problems(status=item.status, choices=choices)
            + rules.citation_problems(
                status=item.status,
                explanation=item.explanation,
                citation_keys=[c.ref for c in item.citations],
            )
        )
        if problems:
            errors += [f"{where}: {p.message} [{p.code}]" for p in problems]
            continue
        values: dict = {
            "stem": item.stem,
            "lead_in": item.lead_in,
            "objective": item.objective,
            "explanation": item.explanation,
            "difficulty": DIFFICULTY_VALUES[item.difficulty],
            "status": item.status,
            # By id: comparing ids needs no query per question.
            "stem_diagram_id": diagrams[item.stem_diagram].pk if item.stem_diagram else None,
            "explanation_diagram_id": (
                diagrams[item.explanation_diagram].pk if item.explanation_diagram else None
            ),
        }
        if item.last_reviewed_on:
            values["last_reviewed_on"] = datetime.date.fromisoformat(item.last_reviewed_on)
        elif today is not None and not Question.objects.filter(key=item.key).exists():
            values["last_reviewed_on"] = today
        try:
            question = upsert_row(
                Question, lookup={"key": item.key}, values=values, report=report, kind="question"
            )
            workflow.save_choices(question=question, choices=choices)
            workflow.save_citations(
                question, [(references[c.ref], c.locator) for c in item.citations]
            )
        except (ValidationError, ValueError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            errors.append(f"{where}: {'; '.join(messages)}")
            failed.add(item.key)  # reported once; its half-saved rows roll back with the rest
            continue
        wanted_topics = {topics[s].pk for s in item.topics}
        if set(question.topics.values_list("pk", flat=True)) != wanted_topics:
            question.topics.set(wanted_topics)

    loaded = Question.objects.filter(key__in=seen - failed).with_bank_relations()
    errors += [
        f"{q.key}: {p.message} [{p.code}]"
        for q, problems in rules.bank_problems(loaded)
        for p in problems
    ]
    return errors
