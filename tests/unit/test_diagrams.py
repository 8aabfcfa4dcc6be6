"""Diagrams: the SVG check, loading with the bank, and what a question shows when."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from questions.admin.bank import DiagramAdminForm
from questions.interchange.bank_files import BankFileError, load_bank
from questions.interchange.transfer import question_item
from questions.models import Diagram, Question, validate_svg
from questions.quizzes import engine, starting
from tests.factories import PublishableQuestionFactory, UserFactory
from tests.unit.test_loading import bank_dir, question  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

SAFE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100">'
    '<defs><marker id="m"><path d="M0 0L5 5"/></marker></defs>'
    '<title>Crest</title><rect width="200" height="100" fill="#fff"/>'
    '<path d="M10 50H190" stroke="#000" marker-end="url(#m)"/>'
    '<use href="#m"/><text x="10" y="20" font-size="14">Iliac crest</text></svg>'
)


def svg(inner: str, attributes: str = 'viewBox="0 0 10 10"') -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" {attributes}>{inner}</svg>'


def test_a_self_contained_drawing_passes():
    validate_svg(SAFE)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (svg("<script>alert(1)</script>"), "svg_unsafe"),
        (svg('<rect onload="alert(1)"/>'), "svg_unsafe"),
        (svg('<a href="javascript:alert(1)"><text>x</text></a>'), "svg_unsafe"),
        (
            svg(
                '<use xmlns:xlink="http://www.w3.org/1999/xlink" '
                'xlink:href="https://example.org/x.svg#a"/>'
            ),
            "svg_unsafe",
        ),
        (svg("<foreignObject><div>x</div></foreignObject>"), "svg_unsafe"),
        (svg('<image href="https://example.org/a.png"/>'), "svg_unsafe"),
        (svg('<set attributeName="href" to="javascript:alert(1)"/>'), "svg_unsafe"),
        (svg('<rect style="fill: url(https://example.org/p)"/>'), "svg_unsafe"),
        (svg("<style>rect { fill: url('http://example.org/p') }</style>"), "svg_unsafe"),
        ('<!DOCTYPE svg [<!ENTITY a "aaaa">]>' + svg("<text>&a;</text>"), "svg_dtd"),
        (svg("<rect/>", attributes=""), "svg_viewbox"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', "svg_root"),
        ("<svg", "svg_syntax"),
        (svg("<!--" + "x" * 210_000 + "-->"), "svg_too_large"),
    ],
)
def test_an_unsafe_or_unscalable_drawing_is_refused(text, code):
    with pytest.raises(ValidationError) as caught:
        validate_svg(text)
    assert caught.value.code == code


# --- Loading with the bank ---------------------------------------------------------------------


def write_diagrams(directory, *entries, drawings=None):
    folder = directory / "diagrams"
    folder.mkdir(exist_ok=True)
    (folder / "diagrams.json").write_text(json.dumps(list(entries)))
    for slug, text in (drawings or {}).items():
        (folder / f"{slug}.svg").write_text(text)


def entry(slug="scn-crest", **overrides):
    return {
        "slug": slug,
        "title": "The superior cluneal nerves over the crest",
        "alt": "Posterior view: the nerves cross the iliac crest about 7 cm from the midline.",
        "credit": "Original diagram drawn for this bank",
        "source_note": "Drawn from the fact sheet, facts 10-14.",
    } | overrides


def test_diagrams_load_with_the_bank_and_questions_name_them(bank_dir):  # noqa: F811
    directory = bank_dir(question(stem_diagram="scn-crest", explanation_diagram="scn-crest"))
    write_diagrams(directory, entry(), drawings={"scn-crest": SAFE})
    report = load_bank(directory=directory)
    assert report.created["diagram"] == 1
    loaded = Question.objects.get(key="icn-origin")
    assert loaded.stem_diagram.slug == loaded.explanation_diagram.slug == "scn-crest"
    assert loaded.stem_diagram.svg == SAFE

    again = load_bank(directory=directory)
    assert again.created["diagram"] == again.updated["diagram"] == 0  # idempotent
    exported = question_item(Question.objects.with_bank_relations().get(key="icn-origin"))
    assert (exported["stem_diagram"], exported["explanation_diagram"]) == ("scn-crest",) * 2


@pytest.mark.parametrize(
    ("entries", "drawings", "message"),
    [
        ([entry()], {"scn-crest": svg("<script/>")}, "may not contain <script>"),
        ([entry()], {}, "cannot read its drawing"),
        ([entry(alt="")], {"scn-crest": SAFE}, "alt: This field cannot be blank."),
        ([entry(slug="other")], {"other": SAFE}, "unknown diagrams ['scn-crest']"),
    ],
)
def test_a_bad_diagram_or_an_unknown_one_loads_nothing(
    bank_dir,  # noqa: F811
    entries,
    drawings,
    message,
):
    directory = bank_dir(question(stem_diagram="scn-crest"))
    write_diagrams(directory, *entries, drawings=drawings)
    with pytest.raises(BankFileError) as caught:
        load_bank(directory=directory)
    assert any(message in error for error in caught.value.errors), caught.value.errors
    assert not Question.objects.exists() and not Diagram.objects.exists()


# --- What a resident is shown, and when ------------------------------------------------------


@pytest.fixture
def illustrated():
    stem = Diagram.objects.create(
        slug="crest", title="Crest", svg=SAFE, alt="Stem drawing alt", credit="Original"
    )
    explained = Diagram.objects.create(
        slug="answer-map", title="Map", svg=SAFE, alt="Explanation drawing alt", credit="Original"
    )
    return PublishableQuestionFactory(stem_diagram=stem, explanation_diagram=explained)


def test_the_stem_diagram_shows_with_the_question_and_the_other_only_once_locked(
    client, illustrated
):
    resident = UserFactory()
    client.force_login(resident)
    attempt = starting.start_attempt(
        user=resident, config=starting.QuizConfig(question_count=1, mode="tutor")
    )
    page = client.get(attempt.question_url(1)).content.decode()
    assert "Stem drawing alt" in page
    assert "Explanation drawing alt" not in page
    assert reverse("questions:diagram_svg", args=["answer-map"]) not in page

    engine.answer(attempt=attempt, position=1, letter="A", lock=True)
    page = client.get(attempt.question_url(1)).content.decode()
    assert "Explanation drawing alt" in page

    engine.finish_attempt(attempt=attempt)
    result = reverse("questions:attempt_result_item", args=[attempt.pk, 1])
    results = client.get(result).content.decode()
    assert "Stem drawing alt" in results and "Explanation drawing alt" in results


def test_an_attempt_keeps_the_diagrams_it_was_shown(illustrated):
    attempt = starting.start_attempt(
        user=UserFactory(), config=starting.QuizConfig(question_count=1)
    )
    Question.objects.filter(pk=illustrated.pk).update(stem_diagram=None, explanation_diagram=None)
    shown = attempt.items.get().shown
    assert shown["stem_diagram"]["alt"] == "Stem drawing alt"
    assert shown["explanation_diagram"]["url"].startswith("/diagrams/answer-map.svg?v=")


def test_the_drawing_is_served_as_an_image_that_runs_nothing(client, illustrated):
    response = client.get(illustrated.stem_diagram.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.decode() == SAFE
    assert client.get(reverse("questions:diagram_svg", args=["missing"])).status_code == 404
    assert client.post(illustrated.stem_diagram.get_absolute_url()).status_code == 405


# --- The admin -------------------------------------------------------------------------------


def form(svg_text: str | None, **data):
    files = {}
    if svg_text is not None:
        files["svg_file"] = SimpleUploadedFile("d.svg", svg_text.encode(), "image/svg+xml")
    values = entry() | {"svg": ""} | data
    return DiagramAdminForm(data=values, files=files)


def test_an_uploaded_drawing_replaces_the_text_once_checked():
    uploaded = form(SAFE)
    assert uploaded.is_valid(), uploaded.errors
    assert uploaded.save().svg == SAFE

    unsafe = form(svg("<script/>"))
    assert not unsafe.is_valid()
    assert "may not contain <script>" in unsafe.errors["svg_file"][0]

    neither = form(None)
    assert not neither.is_valid()
    assert "Paste the drawing" in neither.errors["svg"][0]


def test_the_admin_diagram_list_counts_its_questions_in_a_fixed_number_of_queries(
    educator_client,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:questions_diagram_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert educator_client.get(url).status_code == 200
        return len(captured)

    def add(n: int) -> None:
        for i in range(n):
            diagram = Diagram.objects.create(
                slug=f"d{Diagram.objects.count()}-{i}", title="D", svg=SAFE, alt="A", credit="O"
            )
            PublishableQuestionFactory.create_batch(3, stem_diagram=diagram)
            PublishableQuestionFactory(explanation_diagram=diagram)

    add(1)
    one = queries()
    add(8)
    assert queries() == one
    page = educator_client.get(url).content.decode()
    assert page.count('<td class="field-question_count">4</td>') == 9
