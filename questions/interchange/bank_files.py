"""Load the question bank from its JSON files (format: ``fixtures/README.md``).

``load_bank`` is idempotent: topics, references and questions are matched by their slug or
key, rows are written only when something changed (so reloading adds no history), and
choices and citations are made to match the files exactly (``questions.interchange.store``).
Each question is read through the bank-item schema (``questions.interchange.schema``).
Everything happens in one transaction: if any question is malformed or breaks a rule of
``questions.authoring.rules``, nothing is written.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from questions.interchange.schema import BankItem, check_item
from questions.interchange.store import REFERENCE_FIELDS, LoadSummary, save_questions, upsert_row
from questions.models import Diagram, Reference, Topic

__all__ = ["BankFileError", "LoadSummary", "load_bank", "read_question_files"]


class BankFileError(Exception):
    """The bank files are malformed or break a rule; ``errors`` lists each problem."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s) in the question bank:\n" + "\n".join(errors))
        self.errors = errors


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


def _checked_questions(directory: Path) -> tuple[list[tuple[str, BankItem]], list[str]]:
    """The question files' items that pass the schema, each with where it came from
    (``file.json: key``), and the problems of the others."""
    checked, errors = [], []
    for filename, data in read_question_files(directory):
        key = data.get("key") if isinstance(data, dict) else None
        where = f"{filename}: {key if isinstance(key, str) and key else '(no key)'}"
        item, problems = check_item(data)
        errors += [problem.located(where) for problem in problems]
        if item is not None:
            checked.append((where, item))
    return checked, errors


DIAGRAM_FIELDS = ("title", "alt", "credit", "source_note")


def _load_diagrams(directory: Path, report: LoadSummary) -> tuple[dict[str, Diagram], list[str]]:
    """The diagrams of ``directory/diagrams/``: each entry of its ``diagrams.json`` (slug,
    title, alt, credit, source_note) with its drawing in ``<slug>.svg``; a bank without
    the folder has none. Returns them by slug, and the problems (a missing file, an
    unsafe drawing, a missing alt text or credit)."""
    folder = directory / "diagrams"
    if not (folder / "diagrams.json").exists():
        return {}, []
    diagrams, errors = {}, []
    for entry in _read_json(folder / "diagrams.json"):
        slug = entry.get("slug", "")
        where = f"diagrams/{slug or '(no slug)'}"
        try:
            svg = (folder / f"{slug}.svg").read_text(encoding="utf-8")
        except OSError as exc:
            errors.append(f"{where}: cannot read its drawing ({exc})")
            continue
        try:
            diagrams[slug] = upsert_row(
                Diagram,
                lookup={"slug": slug},
                values={name: entry.get(name, "") for name in DIAGRAM_FIELDS} | {"svg": svg},
                report=report,
                kind="diagram",
            )
        except ValidationError as exc:
            errors += [
                f"{where}: {name}: {message}" if name != "__all__" else f"{where}: {message}"
                for name, messages in exc.message_dict.items()
                for message in messages
            ]
    return diagrams, errors


@transaction.atomic
def load_bank(*, directory: Path, today: datetime.date | None = None) -> LoadSummary:
    """Load topics, references, diagrams and questions from ``directory``. Raises
    BankFileError."""
    today = today or timezone.localdate()
    report = LoadSummary()

    topics = {
        t["slug"]: upsert_row(
            Topic,
            lookup={"slug": t["slug"]},
            values={
                "name": t["name"],
                "description": t.get("description", ""),
                "order": t.get("order", 0),
            },
            report=report,
            kind="topic",
        )
        for t in _read_json(directory / "topics.json")
    }
    references = {
        r["key"]: upsert_row(
            Reference,
            lookup={"key": r["key"]},
            values={
                name: r.get(name) if name == "year" else r.get(name, "")
                for name in REFERENCE_FIELDS
            }
            | {"is_verified": bool(r.get("is_verified", False))},
            report=report,
            kind="reference",
        )
        for r in _read_json(directory / "references.json")
    }

    diagrams, errors = _load_diagrams(directory, report)
    checked, problems = _checked_questions(directory)
    errors += problems
    errors += save_questions(
        checked,
        topics=topics,
        references=references,
        report=report,
        today=today,
        diagrams=diagrams,
    )
    if errors:
        raise BankFileError(errors)
    return report
