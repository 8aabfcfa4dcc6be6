"""A question's earlier versions (django-simple-history), what changed in its choices and
citations between them, and restoring one."""

from __future__ import annotations

import datetime
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from questions.authoring.rules import ChoiceData, question_problems
from questions.authoring.workflow import (
    TransitionError,
    back_to_review_if_published,
    save_choices,
    save_citations,
)
from questions.models import (
    Choice,
    Citation,
    Diagram,
    Question,
    Reference,
    Topic,
)


@dataclass(frozen=True)
class Version:
    """A question as it stood between one save of it and the next, with its choices and
    citations as they were then (the admin saves the question first, then its inlines)."""

    # The HistoricalQuestion that opened the version (a model simple-history makes at run time).
    record: Any
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
        "image", "image_alt", "image_credit", "stem_diagram_id", "explanation_diagram_id",
    ):  # fmt: skip
        setattr(question, name, getattr(record, name))
    # A diagram deleted since is left out, as a deleted topic is.
    kept = set(
        Diagram.objects.filter(
            pk__in=[question.stem_diagram_id, question.explanation_diagram_id]
        ).values_list("pk", flat=True)
    )
    if question.stem_diagram_id not in kept:
        question.stem_diagram_id = None
    if question.explanation_diagram_id not in kept:
        question.explanation_diagram_id = None
    if by is not None:
        question.last_edited_by = by
    # Read by simple-history when the save writes the history record.
    question._change_reason = f"Restored the version of {record.history_date:%Y-%m-%d %H:%M}"  # type: ignore[attr-defined]
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
