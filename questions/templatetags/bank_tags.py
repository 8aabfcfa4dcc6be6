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
