"""Template tags for explanations with numbered citations (rendered by
``questions.authoring.citations``), a dictionary lookup, times as the exam writes them, and
a stem with its highlights."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


@register.filter
def highlighted(stem: str, ranges) -> str:
    """The stem as runs of text, each marked with the character offset it starts at
    (``data-at``), highlighted runs as ``<mark>``: the page's highlighter reads the offsets
    of a selection from them. Newlines stay characters (the stem is shown with
    ``white-space: pre-line``) so that offsets count exactly the frozen stem's characters."""
    cuts = {0, len(stem)}
    marked_spans = []
    for start, end in ranges or []:
        start, end = max(0, int(start)), min(len(stem), int(end))
        if start < end:
            cuts.update((start, end))
            marked_spans.append((start, end))
    points = sorted(cuts)
    runs = []
    for start, end in zip(points, points[1:], strict=False):
        inside = any(s <= start and end <= e for s, e in marked_spans)
        tag = "mark" if inside else "span"
        runs.append(format_html('<{} data-at="{}">{}</{}>', tag, start, stem[start:end], tag))
    return mark_safe("".join(runs))  # each run was escaped by format_html
