"""The bank item: one declared schema for a question with its choices, citations and topics.

Every way into the bank reads its questions through ``check_item``: the bank files loader
(``bank_files``), the JSON import (``transfer``) and the CSV and Moodle XML readers
(``csv_format``, ``moodle``). The schema holds the shape of an item (which fields, of what
type, which values), not the bank's content rules (``questions.authoring.rules``: 4-5
choices, one key, rationales, citations...) nor what needs the database (known topics and
references, the key's uniqueness and slug form, field lengths). Each problem comes back
located by its path in the item (``choices[1].text``), which each reader puts after its own
location: ``questions[3].choices[1].text: required`` in a JSON file (indices count from 0, as
in the file), ``row 5: choice_b: required`` in a CSV file, ``question 2 (name): answer 2:
required`` in a Moodle XML file.

The item (``fixtures/README.md``):

    key          text, not blank; required
    difficulty   easy, medium or hard, in any case; default medium
    status       draft, review, published or retired, exactly; default published
    topics       a list of topic slugs (text); required
    stem, lead_in            text; required
    objective, explanation   text; default ""
    choices      a list of at most five {text: not blank, required; correct: true or false,
                 default false; rationale: text, default ""}; required
    citations    a list of {ref: not blank, required; locator: text, default ""}, each
                 reference cited once; required
    stem_diagram, explanation_diagram   a diagram's slug, or ""; default ""
    last_reviewed_on   a date written YYYY-MM-DD, or ""; default ""

Texts (stem, lead-in, objective, explanation, a choice's text and rationale) are stripped of
surrounding whitespace; keys, slugs, references and locators are kept as written. Other
fields (the authoring metadata ``facts``, ``fact_parts`` and ``errata``) are ignored.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from questions.models import CHOICE_LETTERS, Question

__all__ = [
    "DEFAULT_DIFFICULTY",
    "DEFAULT_STATUS",
    "DIFFICULTIES",
    "STATUSES",
    "BankItem",
    "ChoiceItem",
    "CitationItem",
    "SchemaProblem",
    "canonical",
    "check_item",
    "clean_text",
    "correct_index",
    "dump_item",
    "say",
]

# The bank's own vocabulary (constants only: nothing here queries the database).
DIFFICULTIES = tuple(d.label.lower() for d in Question.Difficulty)
STATUSES = tuple(Question.Status.values)
DEFAULT_STATUS = "published"
DEFAULT_DIFFICULTY = "medium"
# What a spreadsheet or Moodle tag may say for a status (the JSON files say "review").
STATUS_ALIASES = {"in review": "review", "in_review": "review", "in-review": "review"}
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def say(value: str) -> str:
    """A value quoted for a problem message, or "empty"."""
    return repr(value) if value else "empty"


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "required")
    return value


def _present(value: str) -> str:
    """Not blank, and kept as written (a key or a reference key)."""
    _not_blank(value)
    return value


def _difficulty(value: str) -> str:
    if value.lower() not in DIFFICULTIES:
        raise PydanticCustomError(
            "difficulty",
            "must be easy, medium or hard (it is {given})",
            {"given": say(value)},
        )
    return value.lower()


def _status(value: str) -> str:
    if value not in STATUSES:
        raise PydanticCustomError(
            "status",
            "must be one of {allowed} (it is {given})",
            {"allowed": ", ".join(STATUSES), "given": say(value)},
        )
    return value


def _date(value: str) -> str:
    if value:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date", "must be a date written YYYY-MM-DD (it is {given})", {"given": say(value)}
            ) from None
    return value


Text = Annotated[StrictStr, AfterValidator(str.strip)]
NotBlank = Annotated[StrictStr, AfterValidator(_not_blank)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChoiceItem(_Strict):
    text: NotBlank
    correct: StrictBool = False
    rationale: Text = ""


class CitationItem(_Strict):
    ref: Annotated[StrictStr, AfterValidator(_present)]
    locator: StrictStr = ""


class BankItem(_Strict):
    """One question of the bank, as the files and every import format carry it."""

    key: Annotated[StrictStr, AfterValidator(_present)]
    difficulty: Annotated[StrictStr, AfterValidator(_difficulty)] = DEFAULT_DIFFICULTY
    status: Annotated[StrictStr, AfterValidator(_status)] = DEFAULT_STATUS
    topics: list[StrictStr]
    stem: Text
    lead_in: Text
    objective: Text = ""
    explanation: Text = ""
    choices: Annotated[list[ChoiceItem], Field(max_length=len(CHOICE_LETTERS))]
    citations: list[CitationItem]
    stem_diagram: StrictStr = ""
    explanation_diagram: StrictStr = ""
    last_reviewed_on: Annotated[StrictStr, AfterValidator(_date)] = ""

    @field_validator("citations")
    @classmethod
    def _each_reference_once(cls, citations: list[CitationItem]) -> list[CitationItem]:
        seen: set[str] = set()
        for citation in citations:
            if citation.ref in seen:
                raise PydanticCustomError(
                    "cited_twice", "cites {ref} more than once", {"ref": repr(citation.ref)}
                )
            seen.add(citation.ref)
        return citations


@dataclass(frozen=True)
class SchemaProblem:
    """What is wrong (``message``) and where in the item (``loc``: field names and list
    positions, from 0; empty for the item itself)."""

    loc: tuple[str | int, ...]
    message: str

    @property
    def path(self) -> str:
        """``choices[1].text``; "" for the item itself."""
        parts: list[str] = []
        for part in self.loc:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            else:
                parts.append(f".{part}" if parts else part)
        return "".join(parts)

    def located(self, where: str, *, joined: bool = False) -> str:
        """The problem for an author: ``where: path: message``, or with ``joined``
        (a JSON file's own path) ``where.path: message``."""
        if not self.path:
            return f"{where}: {self.message}"
        if joined:
            glue = "" if self.path.startswith("[") else "."
            return f"{where}{glue}{self.path}: {self.message}"
        return f"{where}: {self.path}: {self.message}"


_WORDS = {
    "missing": "required",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


def _problem(error: Any) -> SchemaProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "too_long":
        context = error.get("ctx") or {}
        message = f"at most {context.get('max_length')} (it has {context.get('actual_length')})"
    elif not loc and kind in ("model_type", "model_attributes_type"):
        message = "must be an object with the question's fields"
    else:
        message = _WORDS.get(kind, error["msg"])
    return SchemaProblem(loc, message)


def check_item(data: object) -> tuple[BankItem | None, list[SchemaProblem]]:
    """``data`` (parsed JSON, or what a reader made of a row or question) as a bank item,
    or None and every problem of its shape. Never raises for any input."""
    try:
        return BankItem.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(error) for error in exc.errors(include_url=False)]


def dump_item(item: BankItem) -> dict:
    """The item in the bank's plain dict format; ``last_reviewed_on`` and the diagrams only
    when set."""
    data = item.model_dump()
    for optional in ("last_reviewed_on", "stem_diagram", "explanation_diagram"):
        if not data[optional]:
            del data[optional]
    return data


# --------------------------------------------------------------------------- the formats' share


def canonical(value: str, allowed: tuple[str, ...]) -> str | None:
    """A status or difficulty as a spreadsheet or a Moodle tag may write it (any case,
    surrounding spaces, "in review"), as the bank writes it; None if it is none of
    ``allowed``."""
    value = value.strip().lower()
    value = STATUS_ALIASES.get(value, value)
    return value if value in allowed else None


def clean_text(value: Any) -> str:
    """The value as text with ``\\n`` line endings and no characters XML cannot hold."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return XML_ILLEGAL.sub("", text)


def correct_index(item: dict) -> int | None:
    """Position of the correct choice; the formats hold exactly one key (or none).
    Raises ``ValueError`` when several choices are marked correct."""
    correct = [i for i, choice in enumerate(item.get("choices") or []) if choice.get("correct")]
    if len(correct) > 1:
        raise ValueError(
            f"question {item.get('key')!r}: {len(correct)} choices are marked correct; "
            "a single-answer question has one"
        )
    return correct[0] if correct else None
