"""Load the question bank from its JSON files (format: ``fixtures/README.md``).

``load_bank`` is idempotent: topics, references and questions are matched by their slug or
key, rows are written only when something changed (so reloading adds no history), and
choices and citations are made to match the files exactly. Everything happens in one
transaction: if any question breaks a rule of ``questions.authoring.rules``, nothing is written.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from questions.authoring import rules, workflow
from questions.models import CHOICE_LETTERS, Question, Reference, Topic

DIFFICULTIES = {d.label.lower(): d.value for d in Question.Difficulty}
REFERENCE_FIELDS = (
    "kind", "authors", "title", "journal", "year", "volume", "issue", "pages",
    "doi", "pmid", "url", "is_verified", "verification_note",
)  # fmt: skip


class BankFileError(Exception):
    """The bank files are malformed or break a rule; ``errors`` lists each problem."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s) in the question bank:\n" + "\n".join(errors))
        self.errors = errors


@dataclass
class LoadReport:
    created: dict[str, int] = field(
        default_factory=lambda: {"topic": 0, "reference": 0, "question": 0}
    )
    updated: dict[str, int] = field(
        default_factory=lambda: {"topic": 0, "reference": 0, "question": 0}
    )

    def __str__(self) -> str:
        return ", ".join(
            f"{kind}s: {self.created[kind]} created, {self.updated[kind]} updated"
            for kind in self.created
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BankFileError([f"{path.name}: cannot read JSON ({exc})"]) from exc


def read_question_files(directory: Path) -> list[tuple[str, dict]]:
    """Every question in ``directory/questions/*.json`` as (file name, data), in file order."""
    items = []
    for path in sorted((directory / "questions").glob("*.json")):
        data = _read_json(path)
        if not isinstance(data, list):
            raise BankFileError([f"{path.name}: expected a JSON list of questions"])
        items += [(path.name, item) for item in data]
    return items


def _upsert(model: type[models.Model], lookup: dict, values: dict, report: LoadReport, kind: str):
    """Create or update one row, saving only when a value differs."""
    obj = model.objects.filter(**lookup).first()
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


def _question_values(where: str, item: dict, errors: list[str]) -> dict:
    missing = [
        k for k in ("key", "stem", "lead_in", "choices", "citations", "topics") if k not in item
    ]
    if missing:
        errors.append(f"{where}: missing {', '.join(missing)}")
        return {}
    before = len(errors)
    difficulty = DIFFICULTIES.get(str(item.get("difficulty", "medium")).lower())
    if difficulty is None:
        errors.append(f"{where}: difficulty must be one of {', '.join(DIFFICULTIES)}")
    status = item.get("status", Question.Status.PUBLISHED)
    if status not in Question.Status.values:
        errors.append(f"{where}: status must be one of {', '.join(Question.Status.values)}")
    if len(item["choices"]) > len(CHOICE_LETTERS):
        errors.append(f"{where}: at most {len(CHOICE_LETTERS)} choices")
    if len(errors) > before:
        return {}
    return {
        "stem": item["stem"].strip(),
        "lead_in": item["lead_in"].strip(),
        "objective": item.get("objective", "").strip(),
        "explanation": item.get("explanation", "").strip(),
        "difficulty": difficulty,
        "status": status,
    }


@transaction.atomic
def load_bank(*, directory: Path, today: datetime.date | None = None) -> LoadReport:
    """Load topics, references and questions from ``directory``. Raises BankFileError."""
    today = today or timezone.localdate()
    report = LoadReport()
    errors: list[str] = []

    topics = {
        t["slug"]: _upsert(
            Topic,
            {"slug": t["slug"]},
            {
                "name": t["name"],
                "description": t.get("description", ""),
                "order": t.get("order", 0),
            },
            report,
            "topic",
        )
        for t in _read_json(directory / "topics.json")
    }
    references = {
        r["key"]: _upsert(
            Reference,
            {"key": r["key"]},
            {name: r.get(name) if name == "year" else r.get(name, "") for name in REFERENCE_FIELDS}
            | {"is_verified": bool(r.get("is_verified", False))},
            report,
            "reference",
        )
        for r in _read_json(directory / "references.json")
    }

    errors += _import_questions(
        [
            (f"{filename}: {item.get('key', '(no key)')}", item)
            for filename, item in read_question_files(directory)
        ],
        topics=topics,
        references=references,
        report=report,
        today=today,
    )
    if errors:
        raise BankFileError(errors)
    return report


def _import_questions(
    items: list[tuple[str, dict]],
    *,
    topics: dict[str, Topic],
    references: dict[str, Reference],
    report: LoadReport,
    today: datetime.date | None,
) -> list[str]:
    """Create or update each question (by key) inside the caller's transaction; return
    every problem, each naming where it came from. The caller rolls back if any.
    A new question without ``last_reviewed_on`` is stamped ``today`` (None: left blank)."""
    errors: list[str] = []
    seen: set[str] = set()
    failed: set[str] = set()
    for where, item in items:
        values = _question_values(where, item, errors)
        if not values:
            continue
        if item["key"] in seen:
            errors.append(f"{where}: duplicate key")
            continue
        seen.add(item["key"])
        unknown_topics = [s for s in item["topics"] if s not in topics]
        unknown_refs = [c.get("ref") for c in item["citations"] if c.get("ref") not in references]
        if unknown_topics or unknown_refs:
            errors.append(f"{where}: unknown topics {unknown_topics} or references {unknown_refs}")
            continue
        choices = [
            rules.ChoiceData(
                letter=CHOICE_LETTERS[i],
                text=c["text"].strip(),
                is_correct=bool(c.get("correct", False)),
                rationale=c.get("rationale", "").strip(),
            )
            for i, c in enumerate(item["choices"])
        ]
        problems = (
            rules.content_problems(
                status=values["status"],
                objective=values["objective"],
                explanation=values["explanation"],
            )
            + rules.choice_problems(status=values["status"], choices=choices)
            + rules.citation_problems(
                status=values["status"],
                explanation=values["explanation"],
                citation_keys=[c["ref"] for c in item["citations"]],
            )
        )
        if problems:
            errors += [f"{where}: {p.message} [{p.code}]" for p in problems]
            continue
        existed = Question.objects.filter(key=item["key"]).exists()
        try:
            if item.get("last_reviewed_on"):
                values["last_reviewed_on"] = datetime.date.fromisoformat(item["last_reviewed_on"])
            elif not existed and today is not None:
                values["last_reviewed_on"] = today
            question = _upsert(Question, {"key": item["key"]}, values, report, "question")
            workflow.save_choices(question=question, choices=choices)
            workflow.save_citations(
                question, [(references[c["ref"]], c.get("locator", "")) for c in item["citations"]]
            )
        except (ValidationError, ValueError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            errors.append(f"{where}: {'; '.join(messages)}")
            failed.add(item["key"])  # reported once; its half-saved rows roll back with the rest
            continue
        wanted_topics = {topics[s].pk for s in item["topics"]}
        if set(question.topics.values_list("pk", flat=True)) != wanted_topics:
            question.topics.set(wanted_topics)

    loaded = Question.objects.filter(key__in=seen - failed).with_bank_relations()
    errors += [
        f"{q.key}: {p.message} [{p.code}]"
        for q, problems in rules.bank_problems(loaded)
        for p in problems
    ]
    return errors
