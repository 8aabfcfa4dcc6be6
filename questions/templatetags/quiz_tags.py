"""The quiz navigator, built in Python: one button per question of the attempt, drawn on
every question page. As a template include per entry it cost about a quarter of a 40-question
page's rendering (an include, five conditions and a localised number per entry)."""

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from questions.models import AttemptItem

register = template.Library()


def nav_entry(item: AttemptItem, position: int, *, oob: bool = False) -> str:
    """One question's button: a submit button of the question form (``go=<position>``), so
    that leaving by it saves what was picked first. Holds only numbers and fixed words."""
    here = item.position == position
    if here:
        style = "btn-primary"
    elif item.selected_letter:
        style = "btn-secondary"
    else:
        style = "btn-outline-secondary"
    state = "answered" if item.selected_letter else "unanswered"
    flag = ""
    if item.is_flagged:
        flag, state = '<span aria-hidden="true">⚑</span>', state + ", flagged"
    n = int(item.position)
    swap = ' hx-swap-oob="true"' if oob else ""
    current = ' aria-current="step"' if here else ""
    return (
        f'<button type="submit" form="answer-form" name="go" value="{n}" id="nav-{n}"{swap}\n'
        f'        class="btn btn-sm {style}"{current}>'
        f'{n}{flag} <span class="visually-hidden">{state}</span></button>'
    )


@register.simple_tag
def quiz_navigator(items: Iterable[AttemptItem], position: int) -> SafeString:
    """The navigator's list entries for ``items``, the one at ``position`` current."""
    return mark_safe(  # noqa: S308 - numbers and fixed words only (nav_entry)
        "".join(f"<li>{nav_entry(item, position)}</li>" for item in items)
    )


@register.simple_tag
def quiz_nav_entry(item: AttemptItem, position: int, oob: bool = False) -> SafeString:
    """One entry, as the save status's out-of-band swap redraws it."""
    return mark_safe(nav_entry(item, position, oob=oob))  # noqa: S308 - as above
