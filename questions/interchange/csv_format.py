"""Bank questions to and from CSV: one row per question.

Pure functions on the bank's plain item dicts (the format of ``fixtures/questions/*.json``,
``questions.interchange.schema``) and strings; nothing here touches the database.

A header row, then one row per question, with the columns of ``CSV_COLUMNS``:
``key, status, difficulty, topics, stem, lead_in, objective, explanation,
choice_a..choice_e, rationale_a..rationale_e, correct, citations, stem_diagram,
explanation_diagram`` (a diagram's slug, or empty).
``topics`` holds the slugs joined by ``"; "``; ``correct`` the letter of the key;
``citations`` one citation a line, ``ref | locator`` (a line without ``|`` is a
reference with no locator; line breaks inside a locator are written as spaces).
Fewer than five choices leave the trailing choice and rationale cells empty.

Against spreadsheet formula injection, a cell whose text starts with ``= + - @``, a tab or
a carriage return (possibly after apostrophes) is written with one leading apostrophe,
which the import removes again, so a round trip is exact.

On import the header is matched case-insensitively (spaces and hyphens read as ``_``),
unknown columns are ignored, ``status``, ``choice_e``, ``rationale_e`` and the diagram columns
may be left out
(status then defaults to "published"; it may be written in any case, and "in review" for
"review"), a UTF-8 byte-order mark is accepted, line endings become ``\\n`` and every cell
is stripped. Each row is then checked against the bank-item schema. Problems name the row as
a spreadsheet numbers it (the header is row 1), then the column: ``row 5: choice_b: ...``.
Encode the text as ``utf-8-sig`` for Excel to read non-ASCII characters correctly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from questions.interchange.schema import (
    DEFAULT_DIFFICULTY,
    DEFAULT_STATUS,
    DIFFICULTIES,
    STATUSES,
    SchemaProblem,
    canonical,
    check_item,
    clean_text,
    correct_index,
    dump_item,
    say,
)
from questions.models import CHOICE_LETTERS

__all__ = ["CSV_COLUMNS", "questions_from_csv", "questions_to_csv"]

CSV_COLUMNS: tuple[str, ...] = (
    "key",
    "status",
    "difficulty",
    "topics",
    "stem",
    "lead_in",
    "objective",
    "explanation",
    *(f"choice_{letter.lower()}" for letter in CHOICE_LETTERS),
    *(f"rationale_{letter.lower()}" for letter in CHOICE_LETTERS),
    "correct",
    "citations",
    "stem_diagram",
    "explanation_diagram",
)
CSV_OPTIONAL_COLUMNS = frozenset(
    {"status", "choice_e", "rationale_e", "stem_diagram", "explanation_diagram"}
)
FORMULA_START = frozenset("=+-@\t\r")


def _escape(text: str) -> str:
    first = text.lstrip("'")[:1]
    return "'" + text if first and first in FORMULA_START else text


def _unescape(cell: str) -> str:
    first = cell[1:].lstrip("'")[:1]
    return cell[1:] if cell.startswith("'") and first and first in FORMULA_START else cell


def _row(item: dict) -> list[str]:
    choices = item.get("choices") or []
    if len(choices) > len(CHOICE_LETTERS):
        raise ValueError(
            f"question {item.get('key')!r} has {len(choices)} choices; CSV holds at most "
            f"{len(CHOICE_LETTERS)}"
        )
    correct = correct_index(item)
    texts = [clean_text(c.get("text")) for c in choices]
    rationales = [clean_text(c.get("rationale")) for c in choices]
    blanks = [""] * (len(CHOICE_LETTERS) - len(choices))
    citations = []
    for citation in item.get("citations") or []:
        ref = clean_text(citation.get("ref")).strip()
        locator = re.sub(r"\s*\n\s*", " ", clean_text(citation.get("locator")).strip())
        citations.append(f"{ref} | {locator}" if locator else ref)
    return [
        clean_text(item.get("key")),
        clean_text(item.get("status") or DEFAULT_STATUS),
        clean_text(item.get("difficulty") or DEFAULT_DIFFICULTY),
        "; ".join(clean_text(topic) for topic in item.get("topics") or []),
        clean_text(item.get("stem")),
        clean_text(item.get("lead_in")),
        clean_text(item.get("objective")),
        clean_text(item.get("explanation")),
        *texts,
        *blanks,
        *rationales,
        *blanks,
        "" if correct is None else CHOICE_LETTERS[correct],
        "\n".join(citations),
        clean_text(item.get("stem_diagram")),
        clean_text(item.get("explanation_diagram")),
    ]


def questions_to_csv(items: list[dict]) -> str:
    """The items as CSV text: a header row, then one row per item (see the module doc).

    Raises ``ValueError`` for an item the format cannot hold (more than five choices, or
    more than one marked correct).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow([_escape(cell) for cell in _row(item)])
    return out.getvalue()


def _header_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _column(problem: SchemaProblem) -> str:
    """The column a schema problem is in: ``choices[1].text`` is ``choice_b``."""
    loc = problem.loc
    if loc[:1] == ("choices",) and len(loc) >= 3 and isinstance(loc[1], int):
        letter = CHOICE_LETTERS[loc[1]].lower() if loc[1] < len(CHOICE_LETTERS) else "?"
        return {"text": f"choice_{letter}", "rationale": f"rationale_{letter}"}.get(
            str(loc[2]), "correct"
        )
    return str(loc[0]) if loc else ""


def _item(cell: Callable[[str], str], where: str) -> tuple[dict | None, list[str]]:
    """One row as a bank item, or None and its problems."""
    problems: list[str] = []
    texts = [cell(f"choice_{letter.lower()}") for letter in CHOICE_LETTERS]
    rationales = [cell(f"rationale_{letter.lower()}") for letter in CHOICE_LETTERS]
    filled = max((i + 1 for i, text in enumerate(texts) if text), default=0)
    for i, letter in enumerate(CHOICE_LETTERS):
        if i < filled and not texts[i]:
            problems.append(
                f"{where}: choice_{letter.lower()}: empty, but a later choice is filled; "
                "fill the choices from A without gaps"
            )
        elif not texts[i] and rationales[i]:
            problems.append(
                f"{where}: rationale_{letter.lower()}: there is no choice {letter} to explain"
            )
    correct = cell("correct").upper()
    letters = CHOICE_LETTERS[:filled]
    if letters and correct not in letters:
        span = letters if len(letters) == 1 else f"{letters[0]}-{letters[-1]}"
        problems.append(
            f"{where}: correct: must be one of the filled choices {span} (it is {say(correct)})"
        )
    elif not letters and correct:
        problems.append(f"{where}: correct: it is {correct!r} but no choice is filled in")

    citations = []
    for number, line in enumerate(cell("citations").split("\n"), start=1):
        if not line.strip():
            continue
        ref, _, locator = line.partition("|")
        if not ref.strip():
            problems.append(f"{where}: citations: line {number} has no reference key before '|'")
            continue
        citations.append({"ref": ref.strip(), "locator": locator.strip()})

    item, schema_problems = check_item(
        {
            "key": cell("key"),
            "difficulty": canonical(cell("difficulty"), DIFFICULTIES) or cell("difficulty"),
            "status": canonical(cell("status") or DEFAULT_STATUS, STATUSES) or cell("status"),
            "topics": [t.strip() for t in re.split(r"[;,\n]", cell("topics")) if t.strip()],
            "stem": cell("stem"),
            "lead_in": cell("lead_in"),
            "objective": cell("objective"),
            "explanation": cell("explanation"),
            # A gap is reported above, in the words of the columns.
            "choices": [
                {"text": texts[i], "correct": letters[i] == correct, "rationale": rationales[i]}
                for i in range(filled)
                if texts[i]
            ],
            "citations": citations,
            "stem_diagram": cell("stem_diagram"),
            "explanation_diagram": cell("explanation_diagram"),
        }
    )
    problems[:0] = [
        f"{where}: {_column(p)}: {p.message}" if p.loc else f"{where}: {p.message}"
        for p in schema_problems
    ]
    if problems or item is None:
        return None, problems
    return dump_item(item), []


def questions_from_csv(text: str) -> tuple[list[dict], list[str]]:
    """Read CSV written by ``questions_to_csv`` (or edited in a spreadsheet).

    Returns the items and the problems; a row with a problem is left out of the items.
    Blank rows are skipped. Never raises.
    """
    text = text.removeprefix("\ufeff")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [], [f"the file is not valid CSV: {exc}"]
    if not rows or not any(cell.strip() for cell in rows[0]):
        return [], ["the file has no header row; row 1 must name the columns"]

    index: dict[str, int] = {}
    problems: list[str] = []
    for position, name in enumerate(_header_name(cell) for cell in rows[0]):
        if name in index and name in CSV_COLUMNS:
            problems.append(f"row 1: the column {name} appears twice")
        index.setdefault(name, position)
    missing = [c for c in CSV_COLUMNS if c not in index and c not in CSV_OPTIONAL_COLUMNS]
    if missing:
        problems.append(f"the file is missing the column(s): {', '.join(missing)}")
    if problems:
        return [], problems

    items: list[dict] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            position = index.get(name)
            raw = row[position] if position is not None and position < len(row) else ""
            return _unescape(raw).replace("\r\n", "\n").replace("\r", "\n").strip()

        item, row_problems = _item(cell, f"row {number}")
        problems.extend(row_problems)
        if item is None:
            continue
        if item["key"] in seen:
            problems.append(
                f"row {number}: key: {item['key']!r} is also used in row {seen[item['key']]}"
            )
            continue
        seen[item["key"]] = number
        items.append(item)
    return items, problems
