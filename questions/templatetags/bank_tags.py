"""Template tags for explanations with numbered citations (rendered by
``questions.authoring.citations``) and a dictionary lookup filter."""

from django import template

from questions.authoring.citations import explanation_context
from questions.models import Question

register = template.Library()


@register.inclusion_tag("includes/_explanation.html")
def cited_explanation(question: Question, heading: str = "Explanation"):
    """A question's explanation with numbered citations, then the numbered reference list."""
    return explanation_context(
        question.explanation, list(question.citations.all()), f"q{question.pk}", heading
    )


@register.filter
def get_item(mapping: dict, key):
    """``mapping[key]``, or None: for dictionaries keyed by a loop variable."""
    return mapping.get(key) if mapping else None


@register.filter
def mmss(seconds) -> str:
    """A duration as the exam shows it: ``m:ss``, or ``h:mm:ss`` from an hour ("" for
    None). Every time a resident reads is written this way, with or without JavaScript."""
    if seconds is None or seconds == "":
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
