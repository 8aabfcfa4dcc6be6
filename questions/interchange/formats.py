"""Convert bank questions to and from CSV and Moodle XML, for import and export.

All four public functions are pure: they take and return the bank's plain item dicts (the
format of ``fixtures/questions/*.json``) and strings, and never touch the database. The
import functions return ``(items, problems)``: ``problems`` lists, in words an author can
act on, whatever made a row or question impossible to convert (that row or question is
then left out of ``items``). They do not apply the bank's content rules (4-5 choices,
rationales, citations...); the caller runs ``questions.authoring.rules``' own checks on the items.
Line endings are normalised to ``\\n`` and every imported string is stripped of
surrounding whitespace. "facts" and "errata" are authoring metadata and never exported.

CSV (``questions_to_csv`` / ``questions_from_csv``)
    A header row, then one row per question, with the columns of ``CSV_COLUMNS``:
    ``key, status, difficulty, topics, stem, lead_in, objective, explanation,
    choice_a..choice_e, rationale_a..rationale_e, correct, citations``.
    ``topics`` holds the slugs joined by ``"; "``; ``correct`` the letter of the key;
    ``citations`` one citation a line, ``ref | locator`` (a line without ``|`` is a
    reference with no locator; line breaks inside a locator are written as spaces).
    Fewer than five choices leave the trailing choice and rationale cells empty.
    Against spreadsheet formula injection, a cell whose text starts with ``= + - @``, a
    tab or a carriage return (possibly after apostrophes) is written with one leading
    apostrophe, which the import removes again, so a round trip is exact. On import the
    header is matched case-insensitively, unknown columns are ignored, ``status``,
    ``choice_e`` and ``rationale_e`` may be left out (status then defaults to
    "published"), a UTF-8 byte-order mark is accepted, and problems name the row as a
    spreadsheet numbers it (the header is row 1). Encode the text as ``utf-8-sig`` for
    Excel to read non-ASCII characters correctly.

Moodle XML (``questions_to_moodle_xml`` / ``questions_from_moodle_xml``)
    https://docs.moodle.org/en/Moodle_XML_format: a ``<quiz>`` holding one
    ``<question type="multichoice">`` per item, with name and idnumber = key; the
    question text as HTML paragraphs (the stem's paragraphs, then
    ``<p class="lead-in"><strong>lead-in</strong></p>``); the general feedback as
    ``<p class="objective"><strong>Objective:</strong> ...</p>``, the explanation's
    paragraphs (``[@key]`` markers as ``<sup>[n]</sup>``, n counting the item's
    citations from 1) and ``<ol class="references">`` with one
    ``<li data-ref=".." data-locator="..">`` per citation, showing the reference's text
    and link; one ``<answer fraction="100|0">`` per choice with the rationale as its
    feedback; and the tags ``topic:<slug>``, ``difficulty:<value>``, ``status:<value>``.
    Text is HTML-escaped and a line break inside a paragraph is written as ``<br>``.
    The import reads that back exactly, and also takes multiple-choice questions written
    by Moodle itself ("foreign" ones, recognised by the missing ``lead-in`` paragraph):
    their HTML is reduced to plain-text paragraphs, the lead-in is the last paragraph if
    it ends with "?" (else the last sentence that does), the key is the idnumber (made a
    slug if it is not one) or else a slug of the name, answers with a positive fraction
    are correct, the general feedback becomes the explanation, and missing tags give
    topics ``[]``, difficulty "medium" and status "draft". Category entries are skipped;
    other question types, multiple-answer questions and images are reported. The file is
    parsed with ``defusedxml`` and a document type declaration (hence any entity) is
    refused.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from questions.authoring.citations import CITATION_MARKER
from questions.models import CHOICE_LETTERS, Question

__all__ = [
    "CSV_COLUMNS",
    "questions_from_csv",
    "questions_from_moodle_xml",
    "questions_to_csv",
    "questions_to_moodle_xml",
]

# The bank's own vocabulary (constants only: nothing here queries the database).
DIFFICULTIES = tuple(d.label.lower() for d in Question.Difficulty)
STATUSES = tuple(Question.Status.values)
DEFAULT_STATUS = "published"
FOREIGN_STATUS = "draft"
DEFAULT_DIFFICULTY = "medium"
KEY_MAX_LENGTH = 60

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
)
CSV_OPTIONAL_COLUMNS = frozenset({"status", "choice_e", "rationale_e"})

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
FORMULA_START = frozenset("=+-@\t\r")
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
STATUS_ALIASES = {"in review": "review", "in_review": "review", "in-review": "review"}


# --------------------------------------------------------------------------- shared


def _clean(value: Any) -> str:
    """The value as text with ``\\n`` line endings and no characters XML cannot hold."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return XML_ILLEGAL.sub("", text)


def _correct_index(item: dict) -> int | None:
    """Position of the correct choice; the formats hold exactly one key (or none)."""
    correct = [i for i, choice in enumerate(item.get("choices") or []) if choice.get("correct")]
    if len(correct) > 1:
        raise ValueError(
            f"question {item.get('key')!r}: {len(correct)} choices are marked correct; "
            "a single-answer question has one"
        )
    return correct[0] if correct else None


def _one_of(value: str, allowed: Iterable[str]) -> str | None:
    value = value.strip().lower()
    value = STATUS_ALIASES.get(value, value)
    return value if value in allowed else None


def _say(value: str) -> str:
    return repr(value) if value else "empty"


def _slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, at most ``KEY_MAX_LENGTH`` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:KEY_MAX_LENGTH].rstrip("-")


# --------------------------------------------------------------------------- CSV


def _csv_escape(text: str) -> str:
    first = text.lstrip("'")[:1]
    return "'" + text if first and first in FORMULA_START else text


def _csv_unescape(cell: str) -> str:
    first = cell[1:].lstrip("'")[:1]
    return cell[1:] if cell.startswith("'") and first and first in FORMULA_START else cell


def _csv_row(item: dict) -> list[str]:
    choices = item.get("choices") or []
    if len(choices) > len(CHOICE_LETTERS):
        raise ValueError(
            f"question {item.get('key')!r} has {len(choices)} choices; CSV holds at most "
            f"{len(CHOICE_LETTERS)}"
        )
    correct = _correct_index(item)
    texts = [_clean(c.get("text")) for c in choices]
    rationales = [_clean(c.get("rationale")) for c in choices]
    blanks = [""] * (len(CHOICE_LETTERS) - len(choices))
    citations = []
    for citation in item.get("citations") or []:
        ref = _clean(citation.get("ref")).strip()
        locator = re.sub(r"\s*\n\s*", " ", _clean(citation.get("locator")).strip())
        citations.append(f"{ref} | {locator}" if locator else ref)
    return [
        _clean(item.get("key")),
        _clean(item.get("status") or DEFAULT_STATUS),
        _clean(item.get("difficulty") or DEFAULT_DIFFICULTY),
        "; ".join(_clean(topic) for topic in item.get("topics") or []),
        _clean(item.get("stem")),
        _clean(item.get("lead_in")),
        _clean(item.get("objective")),
        _clean(item.get("explanation")),
        *texts,
        *blanks,
        *rationales,
        *blanks,
        "" if correct is None else CHOICE_LETTERS[correct],
        "\n".join(citations),
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
        writer.writerow([_csv_escape(cell) for cell in _csv_row(item)])
    return out.getvalue()


def _header_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _csv_item(cell: Callable[[str], str], where: str) -> tuple[dict | None, list[str]]:
    problems: list[str] = []
    key = cell("key")
    if not key:
        problems.append(f"{where}: key is blank")
    difficulty = _one_of(cell("difficulty"), DIFFICULTIES)
    if difficulty is None:
        problems.append(
            f"{where}: difficulty must be easy, medium or hard (it is {_say(cell('difficulty'))})"
        )
    status = _one_of(cell("status") or DEFAULT_STATUS, STATUSES)
    if status is None:
        problems.append(
            f"{where}: status must be one of {', '.join(STATUSES)} (it is {_say(cell('status'))})"
        )

    texts = [cell(f"choice_{letter.lower()}") for letter in CHOICE_LETTERS]
    rationales = [cell(f"rationale_{letter.lower()}") for letter in CHOICE_LETTERS]
    filled = max((i + 1 for i, text in enumerate(texts) if text), default=0)
    for i, letter in enumerate(CHOICE_LETTERS):
        if i < filled and not texts[i]:
            problems.append(
                f"{where}: choice {letter} is empty but a later choice is filled; "
                "fill the choices from A without gaps"
            )
        elif not texts[i] and rationales[i]:
            problems.append(f"{where}: rationale {letter} has no choice {letter} to explain")
    correct = cell("correct").upper()
    letters = CHOICE_LETTERS[:filled]
    if letters and correct not in letters:
        span = letters if len(letters) == 1 else f"{letters[0]}-{letters[-1]}"
        problems.append(
            f"{where}: correct must be one of the filled choices {span} (it is {_say(correct)})"
        )
    elif not letters and correct:
        problems.append(f"{where}: correct is {correct!r} but no choice is filled in")

    citations = []
    for number, line in enumerate(cell("citations").split("\n"), start=1):
        if not line.strip():
            continue
        ref, _, locator = line.partition("|")
        if not ref.strip():
            problems.append(f"{where}: citation line {number} has no reference key before '|'")
        citations.append({"ref": ref.strip(), "locator": locator.strip()})

    if problems:
        return None, problems
    return {
        "key": key,
        "topics": [t.strip() for t in re.split(r"[;,\n]", cell("topics")) if t.strip()],
        "difficulty": difficulty,
        "status": status,
        "stem": cell("stem"),
        "lead_in": cell("lead_in"),
        "objective": cell("objective"),
        "explanation": cell("explanation"),
        "choices": [
            {"text": texts[i], "correct": letters[i] == correct, "rationale": rationales[i]}
            for i in range(filled)
        ],
        "citations": citations,
    }, []


def questions_from_csv(text: str) -> tuple[list[dict], list[str]]:
    """Read CSV written by ``questions_to_csv`` (or edited in a spreadsheet).

    Returns the items and the problems; a row with a problem is left out of the items.
    Blank rows are skipped.
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
            return _csv_unescape(raw).replace("\r\n", "\n").replace("\r", "\n").strip()

        item, row_problems = _csv_item(cell, f"row {number}")
        problems.extend(row_problems)
        if item is None:
            continue
        if item["key"] in seen:
            problems.append(
                f"row {number}: the key {item['key']!r} is also used in row {seen[item['key']]}"
            )
            continue
        seen[item["key"]] = number
        items.append(item)
    return items, problems


# --------------------------------------------------------------------------- HTML

# fmt: off
VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
})
# fmt: on
CLOSES_P = BLOCK_TAGS - {"li", "dd", "dt", "td", "th", "tr", "tbody", "thead", "tfoot"}
SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})


class _Node:
    """An HTML element: tag, attributes and children (strings or nodes)."""

    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag = tag
        self.attrs = attrs
        self.children: list[str | _Node] = []

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()

    def descendants(self) -> Iterator[_Node]:
        for child in self.children:
            if isinstance(child, _Node):
                yield child
                yield from child.descendants()


class _TreeBuilder(HTMLParser):
    """A forgiving HTML fragment parser: enough tree for the text extraction below."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]

    def _close(self, tag: str, *, stop_at: Iterable[str] = ()) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag in stop_at:
                return
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CLOSES_P:
            self._close("p", stop_at=("div", "td", "th", "li", "blockquote"))
        if tag == "li":
            self._close("li", stop_at=("ul", "ol"))
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_TAGS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        self._close(tag)

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse_html(fragment: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(fragment)
    builder.close()
    return builder.root


def _marker(node: _Node, inner: str, citations: list[dict] | None) -> str:
    """``<sup>[n]</sup>`` back to ``[@key]`` when n numbers one of the citations."""
    match = re.fullmatch(r"\s*\[(\d+)\]\s*", inner)
    if node.tag == "sup" and citations and match and 1 <= int(match[1]) <= len(citations):
        return f"[@{citations[int(match[1]) - 1]['ref']}]"
    return inner


def _exact_text(node: _Node, citations: list[dict] | None = None) -> str:
    """The text of HTML this module wrote: every character kept, ``<br>`` as a newline."""
    parts = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        elif child.tag not in SKIPPED_TAGS:
            parts.append(_marker(child, _exact_text(child, citations), citations))
    return "".join(parts)


def _is_reference_list(node: _Node) -> bool:
    return "data-ref" in node.attrs or (node.tag in ("ol", "ul") and node.has_class("references"))


def _foreign_paragraphs(node: _Node, citations: list[dict] | None = None) -> list[str]:
    """Plain-text paragraphs of any HTML: blocks and ``<br>`` separate them."""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            paragraphs.append(text)
        current.clear()

    def walk(parent: _Node) -> None:
        for child in parent.children:
            if isinstance(child, str):
                current.append(child)
            elif child.tag == "br":
                flush()
            elif child.tag in SKIPPED_TAGS or _is_reference_list(child):
                continue
            elif child.tag == "sup":
                current.append(_marker(child, " ".join(_foreign_paragraphs(child)), citations))
            elif child.tag in BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(node)
    flush()
    return paragraphs


def _plain_paragraphs(text: str) -> list[str]:
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return [block for block in blocks if block]


# --------------------------------------------------------------------------- Moodle XML


def _inline_html(text: str) -> str:
    return html.escape(_clean(text), quote=True).replace("\n", "<br>")


def _paragraphs_html(text: str) -> list[str]:
    return [_inline_html(paragraph) for paragraph in _clean(text).split("\n\n")]


def _text_element(parent: Element, tag: str, text: str, **attrs: str) -> Element:
    element = SubElement(parent, tag, attrs)
    SubElement(element, "text").text = text
    return element


def _reference_html(citation: dict, references: dict[str, dict]) -> str:
    ref = _clean(citation.get("ref")).strip()
    locator = html.escape(_clean(citation.get("locator")), quote=True).replace("\n", "&#10;")
    reference = references.get(ref) or {}
    shown = html.escape(_clean(reference.get("text") or ref))
    url = _clean(reference.get("url")).strip()
    if url:
        link = html.escape(url, quote=True)
        shown += f' <a href="{link}">{link}</a>'
    return f'<li data-ref="{html.escape(ref, quote=True)}" data-locator="{locator}">{shown}</li>'


def _feedback_html(item: dict, references: dict[str, dict]) -> str:
    citations = item.get("citations") or []
    numbers: dict[str, int] = {}
    for number, citation in enumerate(citations, start=1):
        numbers.setdefault(_clean(citation.get("ref")).strip(), number)

    def number(match: re.Match[str]) -> str:
        n = numbers.get(match[1])
        return f"<sup>[{n}]</sup>" if n else match[0]

    parts = [
        '<p class="objective"><strong>Objective:</strong> '
        f"{_inline_html(item.get('objective') or '')}</p>"
    ]
    # Escaping leaves markers alone: they hold only letters, digits, "_", "-", "[", "@", "]".
    parts += [
        f"<p>{CITATION_MARKER.sub(number, p)}</p>"
        for p in _paragraphs_html(item.get("explanation") or "")
    ]
    if citations:
        items = "".join(_reference_html(citation, references) for citation in citations)
        parts.append(f'<ol class="references">{items}</ol>')
    return "\n".join(parts)


def _moodle_question(quiz: Element, item: dict, references: dict[str, dict]) -> None:
    key = _clean(item.get("key")).strip()
    correct = _correct_index(item)
    question = SubElement(quiz, "question", {"type": "multichoice"})
    _text_element(question, "name", key)
    stem = [f"<p>{paragraph}</p>" for paragraph in _paragraphs_html(item.get("stem") or "")]
    lead_in = f'<p class="lead-in"><strong>{_inline_html(item.get("lead_in") or "")}</strong></p>'
    _text_element(question, "questiontext", "\n".join([*stem, lead_in]), format="html")
    _text_element(question, "generalfeedback", _feedback_html(item, references), format="html")
    for tag, value in (
        ("defaultgrade", "1"),
        ("penalty", "0"),
        ("hidden", "0"),
        ("idnumber", key),
        ("single", "true"),
        ("shuffleanswers", "1"),
        ("answernumbering", "ABCD"),
    ):
        SubElement(question, tag).text = value
    for position, choice in enumerate(item.get("choices") or []):
        fraction = "100" if position == correct else "0"
        answer = _text_element(
            question,
            "answer",
            _inline_html(choice.get("text") or ""),
            fraction=fraction,
            format="html",
        )
        _text_element(
            answer, "feedback", _inline_html(choice.get("rationale") or ""), format="html"
        )
    tags = SubElement(question, "tags")
    values = [f"topic:{_clean(topic).strip()}" for topic in item.get("topics") or []]
    values.append(f"difficulty:{_clean(item.get('difficulty') or DEFAULT_DIFFICULTY).strip()}")
    values.append(f"status:{_clean(item.get('status') or DEFAULT_STATUS).strip()}")
    for value in values:
        _text_element(tags, "tag", value)


def questions_to_moodle_xml(items: list[dict], references: dict[str, dict]) -> str:
    """The items as a Moodle XML quiz file (see the module doc).

    ``references`` maps a citation key to ``{"text": display text, "url": optional link}``;
    a key missing from it is shown as the key. Raises ``ValueError`` for an item with more
    than one choice marked correct.
    """
    quiz = Element("quiz")
    for item in items:
        _moodle_question(quiz, item, references)
    indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(quiz, encoding="unicode") + "\n"


def _xml_text(element: Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


class _Field:
    """One Moodle text field (``<questiontext>``, ``<answer>``...): its format and text."""

    def __init__(self, element: Element | None):
        has = element is not None
        self.format = (element.get("format") or "html").strip().lower() if has else "html"
        self.raw = _xml_text(element.find("text") if element is not None else None)
        self.tree: _Node | None = None
        if self.format in ("html", "moodle_auto_format"):
            raw = self.raw if self.format == "html" else self.raw.replace("\n", "<br>")
            self.tree = _parse_html(raw)

    def has_image(self) -> bool:
        return self.tree is not None and any(n.tag == "img" for n in self.tree.descendants())

    def top_paragraphs(self) -> list[_Node]:
        if self.tree is None:
            return []
        return [c for c in self.tree.children if isinstance(c, _Node) and c.tag == "p"]

    def paragraphs(self, citations: list[dict] | None = None) -> list[str]:
        if self.tree is None:
            return _plain_paragraphs(self.raw)
        return _foreign_paragraphs(self.tree, citations)

    def text(self, *, exact: bool) -> str:
        if exact and self.tree is not None:
            return _exact_text(self.tree).strip()
        return "\n\n".join(self.paragraphs())


def _split_lead_in(paragraphs: list[str]) -> tuple[str, str] | None:
    """(stem, lead-in) of a foreign question's text, or None when no line asks a question."""
    if len(paragraphs) > 1 and paragraphs[-1].endswith("?"):
        return "\n\n".join(paragraphs[:-1]), paragraphs[-1]
    for i in reversed(range(len(paragraphs))):
        sentences = re.split(r"(?<=[.!?])\s+", paragraphs[i])
        for j in reversed(range(len(sentences))):
            if sentences[j].endswith("?"):
                rest = " ".join(sentences[:j] + sentences[j + 1 :])
                kept = [*paragraphs[:i], *([rest] if rest else []), *paragraphs[i + 1 :]]
                return "\n\n".join(kept), sentences[j]
    return None


def _tag_values(question: Element, prefix: str) -> list[str]:
    values = []
    for tag in question.findall("tags/tag"):
        text = _xml_text(tag.find("text")).strip()
        if text.lower().startswith(prefix):
            values.append(text[len(prefix) :].strip())
    return values


def _moodle_item(question: Element, where: str) -> tuple[dict | None, list[str]]:
    problems: list[str] = []
    single = _xml_text(question.find("single")).strip().lower()
    if single in ("false", "0", "no"):
        problems.append(
            f"{where}: it allows several answers; only single-answer questions can be imported"
        )

    name = " ".join(_xml_text(question.find("name/text")).split())
    key = _xml_text(question.find("idnumber")).strip()
    if not KEY_PATTERN.fullmatch(key):
        key = _slug(key or name)
    if not key:
        problems.append(f"{where}: it has neither an idnumber nor a name to make a key from")

    text = _Field(question.find("questiontext"))
    feedback = _Field(question.find("generalfeedback"))
    lead_ins = [p for p in text.top_paragraphs() if p.has_class("lead-in")]
    ours = bool(lead_ins)
    answers = [(a, _Field(a), _Field(a.find("feedback"))) for a in question.findall("answer")]
    fields = [text, feedback, *(f for _, choice, rationale in answers for f in (choice, rationale))]
    if any(field.has_image() for field in fields):
        problems.append(f"{where}: it contains an image, which the bank cannot store")

    if ours:
        stem_nodes = [p for p in text.top_paragraphs() if not p.has_class("lead-in")]
        stem = "\n\n".join(_exact_text(p) for p in stem_nodes).strip()
        lead_in = _exact_text(lead_ins[-1]).strip()
    else:
        split = _split_lead_in(text.paragraphs())
        if split is None:
            problems.append(
                f"{where}: cannot tell the lead-in from the stem; "
                "end the question with a line that asks it"
            )
            split = ("", "")
        stem, lead_in = split

    citations = []
    if feedback.tree is not None:
        for node in feedback.tree.descendants():
            if node.tag == "li" and node.attrs.get("data-ref", "").strip():
                citations.append(
                    {
                        "ref": node.attrs["data-ref"].strip(),
                        "locator": node.attrs.get("data-locator", "").strip(),
                    }
                )
    objectives = [p for p in feedback.top_paragraphs() if p.has_class("objective")]
    if objectives:
        node = objectives[-1]
        shown = node.children
        if shown and isinstance(shown[0], _Node) and shown[0].tag == "strong":
            shown = shown[1:]
        label_free = _Node("p", {})
        label_free.children = shown
        objective = _exact_text(label_free).strip()
        paragraphs = [p for p in feedback.top_paragraphs() if not p.has_class("objective")]
        explanation = "\n\n".join(_exact_text(p, citations) for p in paragraphs).strip()
    else:
        objective = ""
        explanation = "\n\n".join(feedback.paragraphs(citations))

    choices = []
    for position, (answer, choice, rationale) in enumerate(answers, start=1):
        raw = answer.get("fraction", "0").strip()
        try:
            fraction = float(raw)
        except ValueError:
            problems.append(f"{where}: answer {position} has a fraction that is not a number")
            fraction = 0.0
        choices.append(
            {
                "text": choice.text(exact=ours),
                "correct": fraction > 0,
                "rationale": rationale.text(exact=ours),
            }
        )
    marked = sum(choice["correct"] for choice in choices)
    if marked != 1:
        problems.append(
            f"{where}: {marked or 'no'} answer{'s are' if marked != 1 else ' is'} marked "
            "correct; exactly one must be"
        )

    difficulties = _tag_values(question, "difficulty:")
    difficulty = _one_of(difficulties[0], DIFFICULTIES) if difficulties else DEFAULT_DIFFICULTY
    if difficulty is None:
        problems.append(
            f"{where}: the difficulty tag must be easy, medium or hard "
            f"(it is {_say(difficulties[0])})"
        )
    statuses = _tag_values(question, "status:")
    status = _one_of(statuses[0], STATUSES) if statuses else FOREIGN_STATUS
    if status is None:
        problems.append(
            f"{where}: the status tag must be one of {', '.join(STATUSES)} "
            f"(it is {_say(statuses[0])})"
        )

    if problems:
        return None, problems
    return {
        "key": key,
        "topics": [topic for topic in _tag_values(question, "topic:") if topic],
        "difficulty": difficulty,
        "status": status,
        "stem": stem,
        "lead_in": lead_in,
        "objective": objective,
        "explanation": explanation,
        "choices": choices,
        "citations": citations,
    }, []


def questions_from_moodle_xml(text: str) -> tuple[list[dict], list[str]]:
    """Read a Moodle XML quiz file written by ``questions_to_moodle_xml`` or by Moodle.

    Returns the items and the problems; a question with a problem is left out of the
    items. Problems name a question by its position (counting questions, not categories)
    and its name. A file that is not well-formed, or that declares a document type or
    entities, gives one problem and no items.
    """
    text = text.removeprefix("\ufeff").lstrip()
    try:
        root = fromstring(text, forbid_dtd=True)
    except DefusedXmlException:
        return [], [
            "the file declares a document type or entities, which are refused for safety; "
            "export it again from Moodle"
        ]
    except ParseError as exc:
        return [], [f"the file is not well-formed XML ({exc})"]
    if root.tag != "quiz":
        return [], [f"the file is not a Moodle XML quiz: its root element is <{root.tag}>"]

    items: list[dict] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    position = 0
    for question in root.findall("question"):
        kind = (question.get("type") or "").strip().lower()
        if kind == "category":
            continue
        position += 1
        name = " ".join(_xml_text(question.find("name/text")).split())
        where = f"question {position} ({name})" if name else f"question {position}"
        if kind != "multichoice":
            problems.append(
                f"{where}: it is {'an' if kind[:1] in 'aeiou' else 'a'} {kind or 'untyped'} "
                "question; only single-answer multiple-choice questions can be imported"
            )
            continue
        item, question_problems = _moodle_item(question, where)
        problems.extend(question_problems)
        if item is None:
            continue
        if item["key"] in seen:
            problems.append(
                f"{where}: the key {item['key']!r} is also used by question {seen[item['key']]}"
            )
            continue
        seen[item["key"]] = position
        items.append(item)
    return items, problems
