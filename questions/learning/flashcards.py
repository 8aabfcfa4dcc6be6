"""A resident's missed questions as flashcards: an Anki deck (.apkg, through genanki) and
the same cards as CSV.

One card per published question the resident has missed (a locked answer that was wrong or
left unanswered), as the bank has it now, so a corrected question exports corrected. The
front is the question as asked (stem and lead-in, no choices); the back is the answer, the
educational objective (the key fact), the explanation with its numbered citations, and the
references with their DOI and PubMed links; a question's image (and the answer's, if it has
one) goes into the deck's media. Each note's GUID comes from the question's key,
so importing a newer export into Anki updates the cards instead of duplicating them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import genanki
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join

from questions.authoring.citations import CITATION_MARKER, paragraphs_html
from questions.interchange.spreadsheets import csv_safe
from questions.models import AttemptItem, Question

if TYPE_CHECKING:
    from questions.models import Reference

DECK_NAME = "Cluneal nerves: my missed questions"
# Anki identifies a note type by this number: fixed, so every export uses the same one.
MODEL_ID = 1_607_392_319
MODEL = genanki.Model(
    MODEL_ID,
    "Cluneal board review question",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Key"}],
    templates=[
        {
            "name": "Recall",
            "qfmt": "{{Question}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}',
        }
    ],
    css=".card { font-family: sans-serif; font-size: 18px; text-align: left; }"
    " .topic { color: #666; font-size: 14px; } .refs { font-size: 14px; }",
)
CSV_HEADER = ["key", "topics", "question", "answer", "objective", "explanation", "references"]


@dataclass
class Image:
    path: str  # on disk (the media storage)
    name: str  # in the deck: unique, from the question's key
    alt: str


@dataclass
class Flashcard:
    key: str
    topics: list[str]
    stem: str
    lead_in: str
    answer: str
    objective: str
    explanation: str  # [@key] markers replaced by [n]
    references: list[tuple[int, Reference, str]]  # (n, reference, what it is cited for)
    stem_image: Image | None = None
    answer_image: Image | None = None


def _image(owner, name: str) -> Image | None:
    """The image of a question or choice, when it has one and the file is there."""
    if not owner.image:
        return None
    try:
        path = owner.image.path
    except NotImplementedError:  # a storage without local files
        return None
    if not os.path.exists(path):
        return None
    return Image(path=path, name=f"{name}{os.path.splitext(path)[1]}", alt=owner.image_alt)


def missed_questions(user, now=None) -> list[Question]:
    """Published questions ``user`` has missed, by key, without those an assignment of
    their cohorts assesses until it is due (``QuestionQuerySet.assessed_for``). Five
    queries for any number."""
    missed = AttemptItem.objects.filter(
        attempt__user=user, locked_at__isnull=False, is_correct=False
    ).values("question_id")
    return list(
        Question.objects.published()
        .not_assessed_for(user, now or timezone.now())
        .filter(pk__in=missed)
        .with_bank_relations()
        .order_by("key")
    )


def card_for(question: Question) -> Flashcard:
    citations = list(question.citations.all())
    numbers = {c.reference.key: n for n, c in enumerate(citations, start=1)}
    explanation = CITATION_MARKER.sub(
        lambda m: f"[{numbers[m.group(1)]}]" if m.group(1) in numbers else m.group(0),
        question.explanation,
    )
    key_choice = next((c for c in question.choices.all() if c.is_correct), None)
    return Flashcard(
        key=question.key,
        topics=[t.name for t in question.topics.all()],
        stem=question.stem,
        lead_in=question.lead_in,
        answer=key_choice.text if key_choice else "",
        objective=question.objective,
        explanation=explanation,
        references=[(n, c.reference, c.locator) for n, c in enumerate(citations, start=1)],
        stem_image=_image(question, f"{question.key}-stem"),
        answer_image=_image(key_choice, f"{question.key}-answer") if key_choice else None,
    )


def _reference_text(reference, locator: str) -> str:
    links = [f"doi:{reference.doi} ({reference.doi_url})" if reference.doi else ""]
    links.append(f"PMID {reference.pmid} ({reference.pmid_url})" if reference.pmid else "")
    links.append(f"Cited for: {locator}" if locator else "")
    return " ".join([reference.citation_text, *filter(None, links)])


def _img(image: Image | None) -> str:
    if image is None:
        return ""
    return format_html('<p><img src="{}" alt="{}"></p>', image.name, image.alt)


def front_html(card: Flashcard) -> str:
    return format_html(
        '<div class="topic">{}</div>{}{}<p><b>{}</b></p>',
        ", ".join(card.topics),
        paragraphs_html(card.stem),
        _img(card.stem_image),
        card.lead_in,
    )


def back_html(card: Flashcard) -> str:
    references = format_html_join(
        "",
        "<li>{}{}{}{}</li>",
        (
            (
                r.citation_text,
                format_html(' <a href="{}">doi:{}</a>', r.doi_url, r.doi) if r.doi else "",
                format_html(' <a href="{}">PMID {}</a>', r.pmid_url, r.pmid) if r.pmid else "",
                format_html("<br><i>Cited for: {}</i>", locator) if locator else "",
            )
            for _, r, locator in card.references
        ),
    )
    return format_html(
        '<p><b>Answer:</b> {}</p>{}<p><b>Objective:</b> {}</p>{}<ol class="refs">{}</ol>',
        card.answer,
        _img(card.answer_image),
        card.objective,
        paragraphs_html(card.explanation),
        references,
    )


def deck_id(user) -> int:
    """A stable deck id per resident (Anki wants a number, the same on each import)."""
    digest = hashlib.sha256(f"cluneal-missed-{user.pk}".encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def apkg(user, cards: list[Flashcard]) -> bytes:
    """The deck as an .apkg file's bytes. genanki writes the collection with its own
    ``write_to_db``; the SQLite file it needs is made and removed here (its
    ``write_to_file`` leaves that temporary file behind on every call)."""
    deck = genanki.Deck(deck_id(user), DECK_NAME)
    for card in cards:
        deck.add_note(
            genanki.Note(
                model=MODEL,
                fields=[front_html(card), back_html(card), escape(card.key)],
                guid=genanki.guid_for("cluneal-question", card.key),
                tags=[t.replace(" ", "_") for t in card.topics],
            )
        )
    package = genanki.Package(deck)
    handle, path = tempfile.mkstemp(suffix=".anki2")
    os.close(handle)
    try:
        connection = sqlite3.connect(path)
        try:
            timestamp = time.time()
            package.write_to_db(
                connection.cursor(), timestamp, itertools.count(int(timestamp * 1000))
            )
            connection.commit()
        finally:
            connection.close()
        images = [i for card in cards for i in (card.stem_image, card.answer_image) if i]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, "collection.anki2")
            # Anki's media: numbered files in the archive, and their names in "media".
            archive.writestr("media", json.dumps({str(n): i.name for n, i in enumerate(images)}))
            for n, image in enumerate(images):
                archive.write(image.path, str(n))
        return buffer.getvalue()
    finally:
        os.remove(path)


def csv_text(cards: list[Flashcard]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for card in cards:
        writer.writerow(
            [
                csv_safe(card.key),
                csv_safe("; ".join(card.topics)),
                csv_safe(f"{card.stem}\n\n{_image_note(card.stem_image)}{card.lead_in}"),
                csv_safe(card.answer),
                csv_safe(card.objective),
                csv_safe(card.explanation),
                csv_safe(
                    "\n".join(f"[{n}] {_reference_text(r, loc)}" for n, r, loc in card.references)
                ),
            ]
        )
    return out.getvalue()


def _image_note(image: Image | None) -> str:
    return f"[Image: {image.alt}]\n\n" if image else ""
