"""The missed-questions deck: a valid Anki package with the right cards, and the CSV."""

import csv
import io
import json
import sqlite3
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from questions.learning import flashcards
from questions.models import Question, Reference
from tests.factories import PublishableQuestionFactory, UserFactory, finished_attempts

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """A resident who missed two questions (one now retired) and got one right."""
    missed, retired, right = PublishableQuestionFactory.create_batch(3)  # key C
    missed.objective = "=Identify the superior cluneal nerves over the iliac crest."
    missed.save()
    reference = missed.citations.get().reference
    Reference.objects.filter(pk=reference.pk).update(doi="10.1000/xyz123", pmid="12345678")
    resident = UserFactory()
    finished_attempts([(resident, [(missed, "A", 30), (retired, None, 30), (right, "C", 30)])])
    Question.objects.filter(pk=retired.pk).update(status=Question.Status.RETIRED)
    return {"resident": resident, "missed": missed, "right": right}


def open_deck(data: bytes, tmp_path) -> list[tuple]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert set(archive.namelist()) == {"collection.anki2", "media"}
    path = tmp_path / "collection.anki2"
    path.write_bytes(archive.read("collection.anki2"))
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        notes = connection.execute("SELECT guid, flds, tags FROM notes").fetchall()
        cards = connection.execute("SELECT count(*) FROM cards").fetchone()[0]
        assert cards == len(notes)
        return notes
    finally:
        connection.close()


def test_the_deck_is_a_valid_package_with_one_card_per_missed_published_question(history, tmp_path):
    cards = [flashcards.card_for(q) for q in flashcards.missed_questions(history["resident"])]
    notes = open_deck(flashcards.apkg(history["resident"], cards), tmp_path)
    [(guid, fields, _tags)] = notes
    front, back, key = fields.split("\x1f")  # Anki's field separator
    missed = history["missed"]
    assert key == missed.key
    assert missed.lead_in in front and "Nerve C" not in front  # no choices, no answer
    assert f"<b>Answer:</b> Nerve C for {missed.key}" in back
    assert "Identify the superior cluneal nerves over the iliac crest." in back
    assert "[1]" in back and "[@" not in back  # citations numbered
    assert '<a href="https://doi.org/10.1000/xyz123">doi:10.1000/xyz123</a>' in back
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/12345678/">PMID 12345678</a>' in back
    # The same question keeps its note id from one export to the next: re-import updates.
    again = open_deck(flashcards.apkg(history["resident"], cards), tmp_path)
    assert again[0][0] == guid


def test_the_csv_has_the_same_cards_with_formulas_defused(history):
    cards = [flashcards.card_for(q) for q in flashcards.missed_questions(history["resident"])]
    rows = list(csv.DictReader(io.StringIO(flashcards.csv_text(cards))))
    [row] = rows
    assert row["key"] == history["missed"].key
    assert row["answer"] == f"Nerve C for {history['missed'].key}"
    assert row["objective"].startswith("'=")
    assert "doi:10.1000/xyz123 (https://doi.org/10.1000/xyz123)" in row["references"]
    assert row["references"].startswith("[1] ")


def test_a_resident_downloads_only_their_own_misses(client, history):
    client.force_login(UserFactory())
    response = client.get(reverse("questions:flashcards", args=["csv"]))
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [flashcards.CSV_HEADER]
    client.force_login(history["resident"])
    response = client.get(reverse("questions:flashcards", args=["apkg"]))
    assert response.status_code == 200
    assert 'filename="cluneal-missed-' in response["Content-Disposition"]
    assert zipfile.is_zipfile(io.BytesIO(response.content))
    assert client.get(reverse("questions:flashcards", args=["pdf"])).status_code == 404
    client.logout()
    assert client.get(reverse("questions:flashcards", args=["csv"])).status_code == 302


def test_line_breaks_and_images_reach_the_cards(history, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    missed = history["missed"]
    missed.stem = "Labs:\nCRP 2 mg/L\nESR 10 mm/h\n\nWhat next?"
    missed.image = SimpleUploadedFile("view.png", _png(), content_type="image/png")
    missed.image_alt = "Ultrasound of the iliac crest"
    missed.image_credit = "Own image"
    missed.save()
    [card] = [flashcards.card_for(q) for q in flashcards.missed_questions(history["resident"])]
    assert "<p>Labs:<br>CRP 2 mg/L<br>ESR 10 mm/h</p><p>What next?</p>" in flashcards.front_html(
        card
    )
    data = flashcards.apkg(history["resident"], [card])
    archive = zipfile.ZipFile(io.BytesIO(data))
    media = json.loads(archive.read("media"))
    assert media == {"0": f"{missed.key}-stem.png"}
    assert archive.read("0") == _png()
    assert f'<img src="{missed.key}-stem.png" alt="Ultrasound of the iliac crest">' in (
        flashcards.front_html(card)
    )
    row = next(csv.DictReader(io.StringIO(flashcards.csv_text([card]))))
    assert "[Image: Ultrasound of the iliac crest]" in row["question"]


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["apkg", "csv"])
def test_the_export_reads_a_fixed_number_of_queries_however_many_misses(client, fmt):
    counts = []
    for misses in (2, 12):
        resident = UserFactory()
        questions = PublishableQuestionFactory.create_batch(misses)
        finished_attempts([(resident, [(q, "A", 30) for q in questions])])
        client.force_login(resident)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("questions:flashcards", args=[fmt]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8  # session, user; questions and what they need
