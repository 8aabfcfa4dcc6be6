"""Rendering of explanations: ``[@key]`` markers become numbered links to the reference list.

Text is escaped before markers are replaced, so nothing an author typed is rendered as HTML.
"""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from questions.bank import CITATION_MARKER
from questions.models import Question

register = template.Library()


def render_cited_text(text: str, numbers: dict[str, int], anchor: str) -> SafeString:
    """Paragraphs (split on blank lines) with each known marker as a numbered link to
    ``#{anchor}-ref-{n}``. An unknown marker stays visible as typed, for an author to fix."""

    def link(match) -> str:
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


def paragraphs_html(text: str, inline=None) -> SafeString:
    """Text as the site shows it: paragraphs split on blank lines, each escaped, its single
    line breaks kept as ``<br>``; ``inline`` (escaped text -> HTML) adds markup within each
    paragraph. Flashcards use it too, so that a card reads as the page does."""
    paragraphs = [p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()]
    html = "".join(
        "<p>" + (inline or str)(escape(p)).replace("\n", "<br>") + "</p>" for p in paragraphs
    )
    return mark_safe(html)


@register.inclusion_tag("includes/_explanation.html")
def cited_explanation(question: Question, heading: str = "Explanation"):
    """A question's explanation with numbered citations, then the numbered reference list."""
    return explanation_context(
        question.explanation, list(question.citations.all()), f"q{question.pk}", heading
    )


def explanation_context(explanation: str, citations: list, anchor: str, heading: str) -> dict:
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


@register.filter
def get_item(mapping: dict, key):
    """``mapping[key]``, or None: for dictionaries keyed by a loop variable."""
    return mapping.get(key) if mapping else None
