"""Bank questions to and from Moodle XML (https://docs.moodle.org/en/Moodle_XML_format).

Pure functions on the bank's plain item dicts (``questions.interchange.schema``) and strings;
nothing here touches the database.

The export is a ``<quiz>`` holding one ``<question type="multichoice">`` per item, with name
and idnumber = key; the question text as HTML paragraphs (the stem's paragraphs, then
``<p class="lead-in"><strong>lead-in</strong></p>``); the general feedback as
``<p class="objective"><strong>Objective:</strong> ...</p>``, the explanation's paragraphs
(``[@key]`` markers as ``<sup>[n]</sup>``, n counting the item's citations from 1) and
``<ol class="references">`` with one ``<li data-ref=".." data-locator="..">`` per citation,
showing the reference's text and link; one ``<answer fraction="100|0">`` per choice with the
rationale as its feedback; and the tags ``topic:<slug>``, ``difficulty:<value>``,
``status:<value>`` (and ``stem-diagram:<slug>``, ``explanation-diagram:<slug>`` for a
question that names a bank diagram). Text is HTML-escaped and a line break inside a
paragraph is written as ``<br>``. "facts" and "errata" are authoring metadata and never exported.

The import reads that back exactly, and also takes multiple-choice questions written by
Moodle itself ("foreign" ones, recognised by the missing ``lead-in`` paragraph): their HTML
is reduced to plain-text paragraphs (``questions.interchange.moodle_html``), the lead-in is
the last paragraph if it ends with "?" (else the last sentence that does), the key is the
idnumber (made a slug if it is not one) or else a slug of the name, answers with a positive
fraction are correct, the general feedback becomes the explanation, and missing tags give
topics ``[]``, difficulty "medium" and status "draft" (tags may write a status or difficulty
in any case, and "in review" for "review"). Category entries are skipped; other question
types, multiple-answer questions, images and HTML nested too deep to read are reported, and
each question is checked against the bank-item schema. Problems name a question by its
position (counting questions, not categories) and its name, then the part of it:
``question 2 (ICN origin): answer 3: required``. The file is parsed with ``defusedxml``, and
a document type declaration (hence any entity) is refused.
"""

from __future__ import annotations

import html
import re
import unicodedata
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from questions.authoring.citations import CITATION_MARKER
from questions.interchange import moodle_html
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
)

__all__ = ["questions_from_moodle_xml", "questions_to_moodle_xml"]

FOREIGN_STATUS = "draft"
KEY_MAX_LENGTH = 60
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")


def _inline_html(text: str) -> str:
    return html.escape(clean_text(text), quote=True).replace("\n", "<br>")


def _paragraphs_html(text: str) -> list[str]:
    return [_inline_html(paragraph) for paragraph in clean_text(text).split("\n\n")]


# The bank's diagrams ride along as tags (Moodle holds its own images, not these).
DIAGRAM_TAGS = {"stem_diagram": "stem-diagram:", "explanation_diagram": "explanation-diagram:"}


def _text_element(parent: Element, tag: str, text: str, **attrs: str) -> Element:
    element = SubElement(parent, tag, attrs)
    SubElement(element, "text").text = text
    return element


def _reference_html(citation: dict, references: dict[str, dict]) -> str:
    ref = clean_text(citation.get("ref")).strip()
    locator = html.escape(clean_text(citation.get("locator")), quote=True).replace("\n", "&#10;")
    reference = references.get(ref) or {}
    shown = html.escape(clean_text(reference.get("text") or ref))
    url = clean_text(reference.get("url")).strip()
    if url:
        link = html.escape(url, quote=True)
        shown += f' <a href="{link}">{link}</a>'
    return f'<li data-ref="{html.escape(ref, quote=True)}" data-locator="{locator}">{shown}</li>'


def _feedback_html(item: dict, references: dict[str, dict]) -> str:
    citations = item.get("citations") or []
    numbers: dict[str, int] = {}
    for number, citation in enumerate(citations, start=1):
        numbers.setdefault(clean_text(citation.get("ref")).strip(), number)

    def numbered(match: re.Match[str]) -> str:
        n = numbers.get(match[1])
        return f"<sup>[{n}]</sup>" if n else match[0]

    parts = [
        '<p class="objective"><strong>Objective:</strong> '
        f"{_inline_html(item.get('objective') or '')}</p>"
    ]
    # Escaping leaves markers alone: they hold only letters, digits, "_", "-", "[", "@", "]".
    parts += [
        f"<p>{CITATION_MARKER.sub(numbered, p)}</p>"
        for p in _paragraphs_html(item.get("explanation") or "")
    ]
    if citations:
        items = "".join(_reference_html(citation, references) for citation in citations)
        parts.append(f'<ol class="references">{items}</ol>')
    return "\n".join(parts)


def _moodle_question(quiz: Element, item: dict, references: dict[str, dict]) -> None:
    key = clean_text(item.get("key")).strip()
    correct = correct_index(item)
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
    values = [f"topic:{clean_text(topic).strip()}" for topic in item.get("topics") or []]
    values.append(f"difficulty:{clean_text(item.get('difficulty') or DEFAULT_DIFFICULTY).strip()}")
    values.append(f"status:{clean_text(item.get('status') or DEFAULT_STATUS).strip()}")
    for field, prefix in DIAGRAM_TAGS.items():
        if slug := clean_text(item.get(field)).strip():
            values.append(f"{prefix}{slug}")
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


# --------------------------------------------------------------------------- reading


def _slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, at most ``KEY_MAX_LENGTH`` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:KEY_MAX_LENGTH].rstrip("-")


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
        text = moodle_html.xml_text(tag.find("text")).strip()
        if text.lower().startswith(prefix):
            values.append(text[len(prefix) :].strip())
    return values


def _tagged(question: Element, prefix: str, allowed: tuple[str, ...], default: str) -> str:
    """The first ``prefix`` tag's value as the bank writes it (as written if it is not one
    of ``allowed``: the schema says so), or ``default`` without such a tag."""
    values = _tag_values(question, prefix)
    return (canonical(values[0], allowed) or values[0]) if values else default


PARTS = {
    "key": "idnumber",
    "difficulty": "difficulty tag",
    "status": "status tag",
    "topics": "topic tags",
    "stem": "question text",
    "lead_in": "question text",
    "objective": "general feedback",
    "explanation": "general feedback",
    "choices": "answers",
    "citations": "references in the general feedback",
}


def _part(problem: SchemaProblem) -> str:
    """The part of a Moodle question a schema problem is in: ``choices[2]`` is answer 3."""
    loc = problem.loc
    if loc[:1] == ("choices",) and len(loc) >= 2 and isinstance(loc[1], int):
        answer = f"answer {loc[1] + 1}"
        return f"{answer} feedback" if loc[2:3] == ("rationale",) else answer
    return PARTS.get(str(loc[0]), str(loc[0])) if loc else ""


def _citations(feedback: moodle_html.TextField) -> list[dict]:
    if feedback.tree is None:
        return []
    return [
        {
            "ref": (node.get("data-ref") or "").strip(),
            "locator": (node.get("data-locator") or "").strip(),
        }
        for node in feedback.tree.iter("li")
        if (node.get("data-ref") or "").strip()
    ]


def _moodle_item(question: Element, where: str) -> tuple[dict | None, list[str]]:
    problems: list[str] = []
    single = moodle_html.xml_text(question.find("single")).strip().lower()
    if single in ("false", "0", "no"):
        problems.append(
            f"{where}: it allows several answers; only single-answer questions can be imported"
        )

    name = " ".join(moodle_html.xml_text(question.find("name/text")).split())
    key = moodle_html.xml_text(question.find("idnumber")).strip()
    if not KEY_PATTERN.fullmatch(key):
        key = _slug(key or name)
    if not key:
        problems.append(f"{where}: it has neither an idnumber nor a name to make a key from")

    text = moodle_html.TextField(question.find("questiontext"), "question text")
    feedback = moodle_html.TextField(question.find("generalfeedback"), "general feedback")
    answers = [
        (
            a,
            moodle_html.TextField(a, f"answer {n}"),
            moodle_html.TextField(a.find("feedback"), f"answer {n} feedback"),
        )
        for n, a in enumerate(question.findall("answer"), start=1)
    ]
    fields = [text, feedback, *(f for _, choice, rationale in answers for f in (choice, rationale))]
    problems += [f"{where}: {field.label}: {field.problem}" for field in fields if field.problem]
    if any(field.has_image() for field in fields):
        problems.append(f"{where}: it contains an image, which the bank cannot store")

    lead_ins = [p for p in text.top_paragraphs() if moodle_html.has_class(p, "lead-in")]
    ours = bool(lead_ins)
    if ours:
        stem_nodes = [p for p in text.top_paragraphs() if not moodle_html.has_class(p, "lead-in")]
        stem = "\n\n".join(moodle_html.exact_text(p) for p in stem_nodes).strip()
        lead_in = moodle_html.exact_text(lead_ins[-1]).strip()
    else:
        split = _split_lead_in(text.paragraphs())
        if split is None and not text.problem:  # unreadable HTML is reported already
            problems.append(
                f"{where}: cannot tell the lead-in from the stem; "
                "end the question with a line that asks it"
            )
        stem, lead_in = split or ("", "")

    citations = _citations(feedback)
    objectives = [p for p in feedback.top_paragraphs() if moodle_html.has_class(p, "objective")]
    if objectives:
        objective = moodle_html.exact_text(objectives[-1], without_label=True).strip()
        paragraphs = [
            p for p in feedback.top_paragraphs() if not moodle_html.has_class(p, "objective")
        ]
        explanation = "\n\n".join(moodle_html.exact_text(p, citations) for p in paragraphs)
        explanation = explanation.strip()
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
    marked = sum(1 for choice in choices if choice["correct"])
    if marked != 1:
        problems.append(
            f"{where}: {marked or 'no'} answer{'s are' if marked != 1 else ' is'} marked "
            "correct; exactly one must be"
        )

    item, schema_problems = check_item(
        {
            "key": key,
            "topics": [topic for topic in _tag_values(question, "topic:") if topic],
            "difficulty": _tagged(question, "difficulty:", DIFFICULTIES, DEFAULT_DIFFICULTY),
            "status": _tagged(question, "status:", STATUSES, FOREIGN_STATUS),
            "stem": stem,
            "lead_in": lead_in,
            "objective": objective,
            "explanation": explanation,
            "choices": choices,
            "citations": citations,
            **{
                field: next(iter(_tag_values(question, prefix)), "")
                for field, prefix in DIAGRAM_TAGS.items()
            },
        }
    )
    problems += [
        f"{where}: {_part(p)}: {p.message}" if p.loc else f"{where}: {p.message}"
        for p in schema_problems
        if key or p.loc[:1] != ("key",)  # a missing key is reported above, in Moodle's words
    ]
    if problems or item is None:
        return None, problems
    return dump_item(item), []


def questions_from_moodle_xml(text: str) -> tuple[list[dict], list[str]]:
    """Read a Moodle XML quiz file written by ``questions_to_moodle_xml`` or by Moodle.

    Returns the items and the problems; a question with a problem is left out of the
    items. A file that is not well-formed, or that declares a document type or entities,
    gives one problem and no items. Never raises.
    """
    text = text.removeprefix("\ufeff").lstrip()
    try:
        root = fromstring(text, forbid_dtd=True)
    except DefusedXmlException:
        return [], [
            "the file declares a document type or entities, which are refused for safety; "
            "export it again from Moodle"
        ]
    except (ParseError, UnicodeError) as exc:
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
        name = " ".join(moodle_html.xml_text(question.find("name/text")).split())
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
