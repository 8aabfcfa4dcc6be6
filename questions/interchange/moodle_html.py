"""The text fields of a Moodle XML question (``TextField``), their HTML parsed with lxml.html
and read back as text.

Two readings. ``exact_text`` gives back, character for character, the text of HTML that
``questions.interchange.moodle`` wrote (``<br>`` as a line break, ``<sup>[n]</sup>`` as the
citation marker ``[@key]`` when n numbers one of the question's citations).
``paragraphs`` reduces any HTML (a question written in Moodle itself) to plain-text
paragraphs: blocks and ``<br>`` separate them, runs of white space become one space, and
scripts, styles, titles and reference lists are left out.

The parser fetches nothing (no network, no external entities: HTML has none to expand) and
keeps libxml2's limits (``huge_tree`` off). libxml2 stops nesting at 256 elements and
silently drops what is deeper, so ``parse_html`` refuses anything nested deeper than
``MAX_DEPTH`` elements: no real question text comes near it, and the text readers below
recurse once per element level.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

import lxml.html  # type: ignore[import-untyped]  # lxml ships no type hints
from lxml import etree
from lxml.html import HtmlElement

__all__ = [
    "MAX_DEPTH",
    "HtmlTooDeep",
    "TextField",
    "exact_text",
    "has_class",
    "is_reference_list",
    "paragraphs",
    "parse_html",
    "plain_paragraphs",
    "tag_of",
    "top_paragraphs",
    "xml_text",
]

MAX_DEPTH = 100

# fmt: off
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
})
# fmt: on
SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})


class HtmlTooDeep(ValueError):
    """The HTML nests elements deeper than ``MAX_DEPTH``."""


def _depth(root: HtmlElement) -> int:
    deepest, stack = 0, [(root, 0)]
    while stack:  # iterative: the tree may be as deep as libxml2 allows
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_html(fragment: str) -> HtmlElement:
    """The fragment's ``<body>``: its text, then the top-level elements. Raises
    ``HtmlTooDeep``; any other markup, however broken, parses (as a browser would)."""
    parser = lxml.html.HTMLParser(
        encoding="utf-8",
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        default_doctype=False,
    )
    wrapped = f"<html><body>{fragment}</body></html>".encode("utf-8", "replace")
    root = etree.fromstring(wrapped, parser)
    body = root.find("body") if root is not None else None
    if body is None:  # cannot happen with the wrapper, but an empty field is no problem
        return lxml.html.Element("body")
    if _depth(body) > MAX_DEPTH:
        raise HtmlTooDeep(f"nests elements more than {MAX_DEPTH} deep")
    return body


def tag_of(node: HtmlElement) -> str:
    """The element's tag; "" for anything else lxml may put in a tree."""
    return node.tag if isinstance(node.tag, str) else ""


def has_class(node: HtmlElement, name: str) -> bool:
    return name in (node.get("class") or "").split()


def is_reference_list(node: HtmlElement) -> bool:
    return node.get("data-ref") is not None or (
        tag_of(node) in ("ol", "ul") and has_class(node, "references")
    )


def top_paragraphs(root: HtmlElement) -> list[HtmlElement]:
    return [child for child in root if tag_of(child) == "p"]


def _marker(node: HtmlElement, inner: str, citations: list[dict] | None) -> str:
    """``<sup>[n]</sup>`` back to ``[@key]`` when n numbers one of the citations."""
    match = re.fullmatch(r"\s*\[(\d+)\]\s*", inner)
    if tag_of(node) == "sup" and citations and match and 1 <= int(match[1]) <= len(citations):
        return f"[@{citations[int(match[1]) - 1]['ref']}]"
    return inner


def exact_text(
    node: HtmlElement, citations: list[dict] | None = None, *, without_label: bool = False
) -> str:
    """The text of HTML this site wrote: every character kept, ``<br>`` as a newline.
    ``without_label`` leaves out a leading ``<strong>`` label (``Objective:``)."""
    children = list(node)
    if without_label and not node.text and children and tag_of(children[0]) == "strong":
        parts, children = [children[0].tail or ""], children[1:]
    else:
        parts = [node.text or ""]
    for child in children:
        tag = tag_of(child)
        if tag == "br":
            parts.append("\n")
        elif tag and tag not in SKIPPED_TAGS:
            parts.append(_marker(child, exact_text(child, citations), citations))
        parts.append(child.tail or "")
    return "".join(parts)


def paragraphs(node: HtmlElement, citations: list[dict] | None = None) -> list[str]:
    """Plain-text paragraphs of any HTML: blocks and ``<br>`` separate them."""
    found: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join("".join(current).split())
        if text:
            found.append(text)
        current.clear()

    def walk(parent: HtmlElement) -> None:
        current.append(parent.text or "")
        for child in parent:
            tag = tag_of(child)
            if tag == "br":
                flush()
            elif not tag or tag in SKIPPED_TAGS or is_reference_list(child):
                pass
            elif tag == "sup":
                current.append(_marker(child, " ".join(paragraphs(child)), citations))
            elif tag in BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)
            current.append(child.tail or "")

    walk(node)
    flush()
    return found


def plain_paragraphs(text: str) -> list[str]:
    """Paragraphs of plain text (a field in Moodle's plain or markdown format)."""
    blocks = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return [block for block in blocks if block]


def xml_text(element: Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


class TextField:
    """One Moodle text field (``<questiontext>``, ``<answer>``...): its format, its text and,
    for HTML, its tree; ``problem`` says why the HTML could not be read."""

    def __init__(self, element: Element | None, label: str):
        self.label = label
        self.format, self.raw = "html", ""
        if element is not None:
            self.format = (element.get("format") or "html").strip().lower()
            self.raw = xml_text(element.find("text"))
        self.tree: HtmlElement | None = None
        self.problem = ""
        if self.format in ("html", "moodle_auto_format"):
            raw = self.raw if self.format == "html" else self.raw.replace("\n", "<br>")
            try:
                self.tree = parse_html(raw)
            except HtmlTooDeep as exc:
                self.problem = f"its HTML {exc}, too deep to read"

    def has_image(self) -> bool:
        return self.tree is not None and next(self.tree.iter("img"), None) is not None

    def top_paragraphs(self) -> list[HtmlElement]:
        return [] if self.tree is None else top_paragraphs(self.tree)

    def paragraphs(self, citations: list[dict] | None = None) -> list[str]:
        if self.tree is None:
            return plain_paragraphs(self.raw)
        return paragraphs(self.tree, citations)

    def text(self, *, exact: bool) -> str:
        if exact and self.tree is not None:
            return exact_text(self.tree).strip()
        return "\n\n".join(self.paragraphs())
