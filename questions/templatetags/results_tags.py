"""The results table's rows, built in Python: one row per question of a finished quiz
(``pages.results_context``'s ``rows``), on the summary and on the long page. As template
markup each row cost about 0.12 ms (a dozen conditions, two choice-label lookups, a date and
localised numbers), two thirds of a 40-question summary's rendering."""

from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from questions.models import AttemptItem
from questions.templatetags.bank_tags import mmss

register = template.Library()

CONFIDENCE = dict(AttemptItem.Confidence.choices)
MISS_TYPE = dict(AttemptItem.MissType.choices)


def _result(item: AttemptItem) -> str:
    if item.is_correct:
        return '<span class="text-success" aria-hidden="true">✓</span> Correct'
    if item.selected_letter:
        return '<span class="text-danger" aria-hidden="true">✗</span> Incorrect'
    return '<span aria-hidden="true">–</span> Unanswered'


def _outcome_cells(item: AttemptItem, held_until) -> str:
    """Result, confidence and why missed; one cell saying so for a question held back."""
    if held_until:
        # As the template's date filter shows it: in the current time zone, unless one was
        # chosen for it (release.held_back gives the cohort's, with do_timezone).
        if getattr(held_until, "convert_to_local_time", True):
            held_until = localtime(held_until)
        until = date_filter(held_until, "j M Y, H:i T")
        return format_html(
            '<td colspan="3" class="small text-body-secondary">Held back: an open assignment '
            "of your cohort asks it, until {}</td>",
            until,
        )
    confidence: str
    if item.confidence:
        confidence = conditional_escape(CONFIDENCE.get(item.confidence, item.confidence))
    else:
        confidence = '<span class="text-body-secondary">not said</span>'
    miss: str
    if item.is_correct:
        miss = '<span aria-hidden="true">—</span><span class="visually-hidden">not a miss</span>'
    elif item.miss_type:
        miss = conditional_escape(MISS_TYPE.get(item.miss_type, item.miss_type))
    else:
        miss = '<span class="text-body-secondary">not tagged</span>'
    return (
        f'<td class="text-nowrap">{_result(item)}</td>\n'
        f"      <td>{confidence}</td>\n"
        f'      <td class="small">{miss}</td>'
    )


def results_row(row: dict[str, Any], table: dict[str, Any]) -> str:
    """One question's row. ``table``: what every row shares (``results_rows``)."""
    item: AttemptItem = row["item"]
    n = int(item.position)
    if table["explained"]:
        opening, href = "<tr>", f"#item-{n}"
    else:
        opening = f'<tr id="item-{n}">'
        href = conditional_escape(f"{table['results_url']}{n}/{table['filter_query']}")
    badges = ""
    if item.is_flagged:
        badges += '\n        <span class="badge text-bg-warning ms-1">Flagged</span>'
    if item.note.strip() and not table["educator"]:
        badges += '\n        <span class="badge text-bg-info ms-1">Note</span>'
    topics = ", ".join(conditional_escape(topic) for topic in row["topics"]) or "No topic"
    pace = table["pace_seconds"]
    over = pace is not None and item.seconds_spent > pace
    time = mmss(item.seconds_spent)
    if over:
        whose = "the resident's" if table["educator"] else "your"
        time += (
            '<span class="small fw-normal text-body-secondary"> over</span>'
            f'<span class="visually-hidden"> {whose} pace</span>'
        )
    if row["share_correct"] is not None:
        share = f"{int(row['share_correct'])}%"
    else:
        share = (
            '<span aria-hidden="true">—</span><span class="visually-hidden">fewer than '
            f"{int(table['min_residents'])} residents so far</span>"
        )
    return (
        f"    {opening}\n"
        '      <th scope="row" class="text-nowrap">\n'
        f'        <a href="{href}">Question {n}</a>{badges}\n'
        "      </th>\n"
        f'      <td class="small">{topics}</td>\n'
        f'      <td class="text-center">{conditional_escape(item.selected_letter or "—")}</td>\n'
        f"      {_outcome_cells(item, row['held_until'])}\n"
        f'      <td class="text-end text-nowrap{" fw-semibold" if over else ""}">{time}</td>\n'
        f'      <td class="text-end">{share}</td>\n'
        "    </tr>\n"
    )


@register.simple_tag(takes_context=True)
def results_rows(context) -> SafeString:
    """The rows of the results table (``includes/_results_table.html``), from its context:
    ``rows``, ``explained_items`` (the long page: each row leads to its question below),
    ``results_url`` and ``filter_query`` (the summary: to the question's result page),
    ``viewer_is_educator``, ``pace_seconds`` and ``min_residents``. Every text from the
    data is escaped here."""
    table = {
        "explained": bool(context.get("explained_items")),
        "results_url": context.get("results_url", ""),
        "filter_query": context.get("filter_query", ""),
        "educator": bool(context.get("viewer_is_educator")),
        "pace_seconds": context.get("pace_seconds"),
        "min_residents": context.get("min_residents", 0),
    }
    return mark_safe(  # noqa: S308 - escaped piece by piece in results_row
        "".join(results_row(row, table) for row in context.get("rows", ()))
    )
