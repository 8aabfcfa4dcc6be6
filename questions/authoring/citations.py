"""Citations in explanations: a ``[@key]`` marker cites one of the question's references.

Rendering escapes the text before markers are replaced, so nothing an author typed is
rendered as HTML; each known marker becomes a numbered link to the reference list. The
pages, the flashcards and the template tag all render through here, so that a card reads
as the page does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from questions.models import Reference

    class CitedReference(Protocol):
        """What a rendered citation reads: a Citation row, or what an attempt froze."""

        @property
        def reference(self) -> Reference: ...
        @property
        def locator(self) -> str: ...


CITATION_MARKER = re.compile(r"\[@([A-Za-z0-9_-]+)\]")


def cited_keys(text: str) -> list[str]:
    """The reference keys of the ``[@key]`` markers in ``text``, in order of appearance."""
    return CITATION_MARKER.findall(text or "")


def render_cited_text(text: str, numbers: dict[str, int], anchor: str) -> SafeString:
    """Paragraphs (split on blank lines) with each known marker as a numbered link to
    ``#{anchor}-ref-{n}``. An unknown marker stays visible as typed, for an author to fix."""

    def link(match: re.Match[str]) -> str:
        number = numbers.get(match.group(1))
        if number is None:
            return match.group(0)
        return format_html(
            '<sup><a class="citation-link" href="#{anchor}-ref-{n}" '
            'aria-label="reference {n}">[{n}]</a></sup>',
            anchor=anchor,
            n=number,
        )

    return paragraphs_html(text, lambda escaped: CITATION_MARKER.sub(link, escaped))


def paragraphs_html(text: str, inline: Callable[[str], str] | None = None) -> SafeString:
    """Text as the site shows it: paragraphs split on blank lines, each escaped, its single
    line breaks kept as ``<br>``; ``inline`` (escaped text -> HTML) adds markup within each
    paragraph. Flashcards use it too, so that a card reads as the page does."""
    paragraphs = [p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join(
        "<p>" + (inline or str)(escape(p)).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
    return mark_safe(html)


def explanation_context(
    explanation: str, citations: Sequence[CitedReference], anchor: str, heading: str
) -> dict[str, Any]:
    """Template context for ``includes/_explanation.html``. ``citations`` are objects with
    ``reference`` and ``locator`` (Citation rows, or what an attempt froze)."""
    numbers = {c.reference.key: n for n, c in enumerate(citations, start=1)}
    return {
        "heading": heading,
        "anchor": anchor,
        "explanation_html": render_cited_text(explanation, numbers, anchor),
        "numbered_citations": [
            (n, c, f"{anchor}-ref-{n}") for n, c in enumerate(citations, start=1)
        ],
    }
