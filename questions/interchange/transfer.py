"""Export and import questions: the whole bank or a selection, as JSON, CSV or Moodle XML.

- Export writes the bank's item format (``fixtures/README.md``); JSON also carries the
  topics and references the questions use, so a JSON export loads into an empty database.
  CSV and Moodle XML carry questions only: their topics and references must exist.
- Import reads every question through the bank-item schema (``schema``), then saves
  inside one transaction with the bank's own rules (``store.save_questions``): if any row
  or question has a problem, nothing is written and every problem is listed where it is
  (``questions[3].choices[1].text: required`` in a JSON file, ``row 5 (key): ...`` in a
  CSV file). A dry run does the same and rolls back, reporting what would be created and
  what would change, field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from questions.authoring import workflow
from questions.interchange.formats import (
    questions_from_csv,
    questions_from_moodle_xml,
    questions_to_csv,
    questions_to_moodle_xml,
)
from questions.interchange.schema import BankItem, check_item
from questions.interchange.store import REFERENCE_FIELDS, LoadSummary, save_questions, upsert_row
from questions.models import Question, QuestionQuerySet, Reference, StatusChange, Topic

FORMATS = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "moodle": ("application/xml", "xml"),
}


def format_of(filename: str) -> str | None:
    """The import format a file name's extension says (any case), or None."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return next((fmt for fmt, (_, ext) in FORMATS.items() if ext == extension), None)


DIFFICULTY_NAMES = {d.value: d.label.lower() for d in Question.Difficulty}
COMPARED_FIELDS = (
    "status", "difficulty", "topics", "stem", "lead_in", "objective", "explanation",
    "choices", "citations", "stem_diagram", "explanation_diagram", "last_reviewed_on",
)  # fmt: skip


def question_item(question: Question) -> dict:
    """One question in the bank's item format (needs ``with_bank_relations()``)."""
    return {
        "key": question.key,
        "status": question.status,
        "difficulty": DIFFICULTY_NAMES[question.difficulty],
        "topics": [t.slug for t in sorted(question.topics.all(), key=lambda t: (t.order, t.slug))],
        "stem": question.stem,
        "lead_in": question.lead_in,
        "objective": question.objective,
        "explanation": question.explanation,
        "choices": [
            {"text": c.text, "correct": c.is_correct, "rationale": c.rationale}
            for c in question.choices.all()
        ],
        "citations": [
            {"ref": c.reference.key, "locator": c.locator} for c in question.citations.all()
        ],
        "last_reviewed_on": (
            question.last_reviewed_on.isoformat() if question.last_reviewed_on else ""
        ),
    } | {
        # Only when set, as the bank files write them.
        name: diagram.slug
        for name, diagram in (
            ("stem_diagram", question.stem_diagram),
            ("explanation_diagram", question.explanation_diagram),
        )
        if diagram is not None
    }


def reference_item(reference: Reference) -> dict:
    return {"key": reference.key} | {name: getattr(reference, name) for name in REFERENCE_FIELDS}


def export_questions(selection: QuestionQuerySet, fmt: str) -> str:
    """The ``selection`` of questions as a file in ``fmt`` (json, csv or moodle). Five
    queries."""
    questions = list(selection.with_bank_relations().order_by("key"))
    items = [question_item(q) for q in questions]
    if fmt == "csv":
        return questions_to_csv(items)
    references = {c.reference.key: c.reference for q in questions for c in q.citations.all()}
    if fmt == "moodle":
        return questions_to_moodle_xml(
            items,
            {
                key: {"text": ref.citation_text, "url": ref.doi_url or ref.pmid_url or ref.url}
                for key, ref in references.items()
            },
        )
    topics = {t.pk: t for q in questions for t in q.topics.all()}
    return json.dumps(
        {
            "topics": [
                {"slug": t.slug, "name": t.name, "description": t.description, "order": t.order}
                for t in sorted(topics.values(), key=lambda t: (t.order, t.slug))
            ],
            "references": [reference_item(r) for _, r in sorted(references.items())],
            "questions": items,
        },
        ensure_ascii=False,
        indent=1,
    )


@dataclass
class ImportPlan:
    """What an import did (or, in a dry run, would do)."""

    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # key -> fields that change
    unchanged: list[str] = field(default_factory=list)
    sent_to_review: list[str] = field(default_factory=list)  # published, content changed
    references_created: list[str] = field(default_factory=list)
    references_changed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dry_run: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportFailed(Exception):
    def __init__(self, plan: ImportPlan):
        super().__init__(f"{len(plan.problems)} problem(s); nothing was imported.")
        self.plan = plan


def read_file(text: str, fmt: str) -> tuple[list, dict, list[str]]:
    """Items (as the file has them: a JSON file's are not checked yet), the JSON bank's
    topics and references (if any) and the problems of reading the file."""
    if "\x00" in text:
        return [], {}, ["The file holds a NUL character, which no text may contain."]
    if fmt == "csv":
        items, problems = questions_from_csv(text)
        return items, {}, problems
    if fmt == "moodle":
        items, problems = questions_from_moodle_xml(text)
        return items, {}, problems
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        return [], {}, [f"The file is not valid JSON: {str(exc)[:200]}"]
    if _holds_nul(data):  # written as \u0000: the raw-text check above cannot see it
        return [], {}, ["The file holds a NUL character, which no text may contain."]
    if isinstance(data, list):
        data = {"questions": data}
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return [], {}, ['Expected a list of questions, or {"questions": [...]} with topics.']
    extra = {"topics": data.get("topics") or [], "references": data.get("references") or []}
    wrong = [name for name, value in extra.items() if not isinstance(value, list)]
    if wrong:
        return [], {}, [f"{name}: must be a list" for name in wrong]
    return data["questions"], extra, []


def _holds_nul(value) -> bool:
    """Whether any key or string in parsed JSON holds a NUL (PostgreSQL cannot store it)."""
    stack = [value]
    while stack:  # iterative: json.loads has already bounded the depth
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _normalised(item: dict) -> dict:
    out = {name: item.get(name) for name in COMPARED_FIELDS}
    out["status"] = out["status"] or Question.Status.PUBLISHED
    out["last_reviewed_on"] = out["last_reviewed_on"] or ""
    out["stem_diagram"] = out["stem_diagram"] or ""
    out["explanation_diagram"] = out["explanation_diagram"] or ""
    out["choices"] = [
        {
            "text": (c.get("text") or "").strip(),
            "correct": bool(c.get("correct")),
            "rationale": (c.get("rationale") or "").strip(),
        }
        for c in item.get("choices") or []
    ]
    out["citations"] = [
        {"ref": c.get("ref"), "locator": c.get("locator", "")} for c in item.get("citations") or []
    ]
    return out


def _upsert_extra(extra: dict, *, as_admin: bool) -> tuple[list[str], list[str], list[str]]:
    """Create or update the JSON file's references (and, for an administrator, topics).
    Returns (references created, references changed, problems)."""
    created, changed, problems = [], [], []
    report = LoadSummary()
    if as_admin:
        for i, t in enumerate(extra.get("topics", [])):
            problem = _entry_problem(f"topics[{i}]", t, "slug")
            if problem:
                problems.append(problem)
                continue
            values = {k: t[k] for k in ("name", "description", "order") if k in t}
            try:
                upsert_row(
                    Topic, lookup={"slug": t["slug"]}, values=values, report=report, kind="topic"
                )
            except (ValidationError, TypeError, ValueError) as exc:
                problems.append(f"topics[{i}] ({t['slug']}): {_messages(exc)}")
    for i, r in enumerate(extra.get("references", [])):
        problem = _entry_problem(f"references[{i}]", r, "key")
        if problem:
            problems.append(problem)
            continue
        values = {name: r[name] for name in REFERENCE_FIELDS if name in r}
        existing = Reference.objects.filter(key=r["key"]).first()
        try:
            upsert_row(
                Reference, lookup={"key": r["key"]}, values=values, report=report, kind="reference"
            )
        except (ValidationError, TypeError, ValueError) as exc:
            problems.append(f"references[{i}] ({r['key']}): {_messages(exc)}")
            continue
        if existing is None:
            created.append(r["key"])
        elif any(getattr(existing, k) != v for k, v in values.items()):
            changed.append(r["key"])
    return created, changed, problems


def _entry_problem(where: str, entry, key: str) -> str:
    """What keeps a topic or reference entry from being read at all ("" if nothing)."""
    if not isinstance(entry, dict):
        return f"{where}: must be an object"
    if key not in entry:
        return f"{where}.{key}: required"
    if not isinstance(entry[key], str):
        return f"{where}.{key}: must be text"
    return ""


def _messages(exc: Exception) -> str:
    return "; ".join(exc.messages if isinstance(exc, ValidationError) else [str(exc)])


def import_questions(
    text: str, fmt: str, *, dry_run: bool, by=None, as_admin: bool = False
) -> ImportPlan:
    """Import a file; all or nothing. Raises ImportFailed (nothing written) with every
    problem; returns the plan (rolled back when ``dry_run``).

    An educator's import (``as_admin`` False) goes through the review workflow: new
    questions arrive as drafts authored by ``by``, existing ones keep their status, a
    published question whose content changes goes back to review, review dates in the file
    are ignored, and the file's topics are not touched (educators cannot edit topics).
    An administrator's import (a superuser moving a bank, or the command line) applies the
    file's statuses, review dates and topics; status changes are logged either way."""
    raw_items, extra, problems = read_file(text, fmt)
    plan = ImportPlan(problems=list(problems), dry_run=dry_run)
    labelled: list[tuple[str, BankItem]] = []
    for n, raw in enumerate(raw_items):
        where = _where(fmt, n)
        if not as_admin:
            raw = _for_review(raw)
        item, item_problems = check_item(raw)
        plan.problems += [p.located(where, joined=fmt == "json") for p in item_problems]
        if item is not None:
            labelled.append((f"{where} ({item.key})", item))
    if plan.problems:
        raise ImportFailed(plan)
    keys = [item.key for _, item in labelled]
    existing = {q.key: q for q in Question.objects.filter(key__in=keys).with_bank_relations()}
    before = {key: _normalised(question_item(q)) for key, q in existing.items()}
    if not as_admin:
        labelled = [
            (
                label,
                item.model_copy(
                    update={
                        "status": existing[item.key].status
                        if item.key in existing
                        else Question.Status.DRAFT
                    }
                ),
            )
            for label, item in labelled
        ]
    with transaction.atomic():
        created_refs, changed_refs, extra_problems = _upsert_extra(extra, as_admin=as_admin)
        plan.references_created, plan.references_changed = created_refs, changed_refs
        plan.problems = extra_problems + save_questions(
            labelled,
            topics={t.slug: t for t in Topic.objects.all()},
            references={r.key: r for r in Reference.objects.all()},
            report=LoadSummary(),
            today=None,
        )
        if not plan.problems:
            _settle(plan, keys, before, by=by)
        if plan.problems or dry_run:
            transaction.set_rollback(True)
    if plan.problems:
        raise ImportFailed(plan)
    return plan


def _where(fmt: str, n: int) -> str:
    """Where the file's nth question (from 0) is: ``questions[n]`` in JSON, the row as a
    spreadsheet numbers it in CSV (the header is row 1), ``question n+1`` in Moodle XML."""
    if fmt == "json":
        return f"questions[{n}]"
    return f"row {n + 2}" if fmt == "csv" else f"question {n + 1}"


def _for_review(raw):
    """An educator's item: the status and review date that the import decides, not the
    file (only their types are checked), so that any text there passes the schema."""
    if not isinstance(raw, dict):
        return raw
    raw = dict(raw)
    if isinstance(raw.get("status", ""), str):
        raw["status"] = Question.Status.DRAFT  # settled once the existing questions are known
    if isinstance(raw.get("last_reviewed_on", ""), str):
        raw.pop("last_reviewed_on", None)
    return raw


def _settle(plan: ImportPlan, keys: list[str], before: dict, *, by) -> None:
    """Classify each key, stamp authors and history, log status changes, and send edited
    published questions back to review (inside the import's transaction)."""
    questions = {q.key: q for q in Question.objects.filter(key__in=keys).with_bank_relations()}
    now = timezone.now()
    for key in keys:
        question = questions[key]
        after = _normalised(question_item(question))
        if key not in before:
            plan.created.append(key)
            if by is not None and question.author_id is None:
                question.author = by
                question.last_edited_by = by
                question.save(update_fields=["author", "last_edited_by"])
            if question.status != Question.Status.DRAFT:
                StatusChange.objects.create(
                    question=question,
                    from_status=Question.Status.DRAFT,
                    to_status=question.status,
                    changed_by=by,
                    changed_at=now,
                    note="imported",
                )
            continue
        changed = [f for f in COMPARED_FIELDS if before[key][f] != after[f]]
        if not changed:
            plan.unchanged.append(key)
            continue
        plan.changed[key] = changed
        # One history version per imported change, even when only choices changed.
        question._change_reason = "Imported from a file"  # type: ignore[attr-defined]
        if by is not None:
            question.last_edited_by = by
        question.save()
        if before[key]["status"] != after["status"]:
            StatusChange.objects.create(
                question=question,
                from_status=before[key]["status"],
                to_status=after["status"],
                changed_by=by,
                changed_at=now,
                note="imported",
            )
        elif workflow.back_to_review_if_published(
            question=question, by=by, note="changed by an import", now=now
        ):
            plan.sent_to_review.append(key)
