"""Server-rendered SVG charts (pygal), readable without colour and without JavaScript.

Each chart has one series, prints its values on the marks, and is labelled for screen
readers; pages put the same figures in a table next to it. pygal's tooltip script is
switched off (``js=[]``) so nothing is fetched from the internet.
"""

from __future__ import annotations

import re

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)

_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    colors=("#0b5ed7",),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=14,
    major_label_font_size=14,
    value_font_size=13,
    value_label_font_size=13,
    title_font_size=16,
)

_COMMON = {
    "style": _STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "show_legend": False,
    "print_values": True,
    "range": (0, 100),
    "include_x_axis": True,
    "value_formatter": lambda v: f"{v:.0f}%",
    "margin": 10,
    "margin_right": 40,  # room for the last point's value label
    "truncate_label": -1,
}


def _accessible(svg: str, label: str) -> SafeString:
    """pygal escapes every text it draws. Drop its inline config script (only its tooltip
    code reads it) and add the role and name a screen reader needs."""
    svg = _SCRIPT.sub("", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return mark_safe(svg)  # noqa: S308 - pygal's own output, texts escaped above and by pygal


def score_trend(points: list[dict], *, label: str) -> SafeString | None:
    """Percent correct of each finished quiz in order (``stats.score_trend`` rows)."""
    if len(points) < 2:
        return None
    chart = pygal.Line(
        **_COMMON,
        height=320,
        width=760,
        dots_size=5,
        x_label_rotation=0,
        show_minor_x_labels=len(points) <= 10,
        y_title="Percent correct",
    )
    chart.x_labels = [p["finished_at"].strftime("%-d %b") for p in points]
    chart.add("Score", [p["percent"] for p in points])
    return _accessible(chart.render(is_unicode=True), label)


def topic_mastery(rows: list[dict], *, label: str) -> SafeString | None:
    """Horizontal bars of percent correct per topic, labelled with the number answered
    (``stats.topic_mastery`` rows); topics with nothing answered are left out."""
    rows = [r for r in rows if r["answered"]]
    if not rows:
        return None
    chart = pygal.HorizontalBar(**_COMMON, height=60 + 44 * len(rows), width=760)
    rows = rows[::-1]  # pygal draws the first bar at the bottom; read top-down in order
    chart.x_labels = [f"{r['topic']} (n={r['answered']})" for r in rows]
    chart.add("Percent correct", [r["percent"] for r in rows])
    return _accessible(chart.render(is_unicode=True), label)
