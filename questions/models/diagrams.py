"""Diagrams: original labelled drawings (SVG) that questions show in their stem or with
their explanation.

A diagram is stored as its SVG text, so that it ships with the bank files, loads with
``load_bank`` and keeps its history like the rest of the bank. The site serves it from its
own URL as an image (``views.bank.diagram_svg``), where a browser runs no script; the SVG is
still checked on every save (``validate_svg``) so that an uploaded file cannot carry one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SVG_MAX_BYTES = 200 * 1024

# Elements that run code, load another document or change attributes over time.
FORBIDDEN_ELEMENTS = {
    "script", "foreignObject", "image", "iframe", "embed", "object", "audio", "video",
    "animate", "animateMotion", "animateTransform", "set", "handler", "listener",
}  # fmt: skip
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?(?!#)", re.IGNORECASE)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def validate_svg(text: str) -> None:
    """A self-contained, script-free SVG drawing that scales: one ``<svg>`` root in the SVG
    namespace with a ``viewBox``; no DTD or entities; no element that runs code or loads
    anything; no ``on*`` handler; links and ``url()`` only to its own ``#ids``."""
    if len(text.encode("utf-8")) > SVG_MAX_BYTES:
        raise ValidationError(
            f"The drawing is over {SVG_MAX_BYTES // 1024} KB.", code="svg_too_large"
        )
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ValidationError("The SVG may not declare a DTD or entities.", code="svg_dtd")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValidationError(f"This is not well-formed SVG: {exc}.", code="svg_syntax") from exc
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise ValidationError(
            "The file's root must be an <svg> element in the SVG namespace.", code="svg_root"
        )
    if not root.get("viewBox"):
        raise ValidationError(
            "Give the <svg> a viewBox, so that the drawing scales to a phone.",
            code="svg_viewbox",
        )
    problems: list[str] = []
    for element in root.iter():
        name = _local(str(element.tag))
        if name in FORBIDDEN_ELEMENTS:
            problems.append(f"<{name}>")
        for attribute, value in element.attrib.items():
            local = _local(attribute)
            if local.lower().startswith("on"):
                problems.append(f"the {local} attribute")
            elif (local == "href" or attribute == XLINK_HREF) and not value.startswith("#"):
                problems.append(f"a link to {value[:40]!r}")
            elif _EXTERNAL_URL.search(value):
                problems.append(f"url() outside the drawing in {local}")
        if name == "style" and _EXTERNAL_URL.search(element.text or ""):
            problems.append("url() outside the drawing in <style>")
    if problems:
        listed = ", ".join(sorted(set(problems)))
        raise ValidationError(
            f"The drawing may not contain {listed}: diagrams are self-contained and run no script.",
            code="svg_unsafe",
        )


class Diagram(models.Model):
    """An original labelled diagram, shown by the questions that name it."""

    slug = models.SlugField(
        max_length=80, unique=True, help_text="Stable identifier used by the bank files."
    )
    title = models.CharField(max_length=200)
    svg = models.TextField(
        "SVG",
        validators=[validate_svg],
        help_text="The drawing's SVG text: self-contained, with a viewBox, no script.",
    )
    alt = models.TextField(
        "alt text",
        max_length=1000,
        help_text="Everything the drawing shows, for residents who cannot see it: each "
        "label, and each distance with its reference point.",
    )
    credit = models.CharField(
        max_length=300, help_text="e.g. 'Original diagram drawn for this bank'."
    )
    source_note = models.TextField(
        blank=True,
        help_text="For educators (not shown to residents): what it is drawn from, with the "
        "references and fact-sheet numbers each label rests on.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("questions:diagram_svg", args=[self.slug]) + f"?v={self.version}"

    @property
    def version(self) -> str:
        """Changes with every save, and so the URL with it (browsers may cache a version
        for a day): from the time of the last save, so that the SVG need not be read."""
        return format(int(self.updated_at.timestamp()), "x") if self.updated_at else "0"

    def image_data(self) -> dict:
        """What a snapshot keeps (the same shape as an uploaded image's)."""
        return {"url": self.get_absolute_url(), "alt": self.alt, "credit": self.credit}
