"""Question and choice images: checked on upload (type, size, real image), stored through
Django's storage, required alt text and credit, shown to residents with a link to the full
size."""

import html
import io
import struct
import zlib

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from questions.authoring.images import NOT_STORED
from questions.models import IMAGE_MAX_BYTES, Choice, Question
from questions.quizzes import starting
from tests.factories import PublishableQuestionFactory, ReferenceFactory
from tests.views.test_admin import FIVE_NERVES, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png(name="view.png", size=(40, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def add_with_image(client, image, **fields):
    data = form_data(
        choices=[(text, i == 0) for i, text in enumerate(FIVE_NERVES)],
        citations=[(ReferenceFactory(), "Abstract")],
        image=image,
        **fields,
    )
    return client.post(reverse("admin:questions_question_add"), data)


def test_an_educator_uploads_an_image_with_alt_text_and_credit(educator_client, settings):
    response = add_with_image(
        educator_client,
        png(),
        image_alt="Ultrasound: the nerve over the iliac crest",
        image_credit="Department of Anesthesia, CC BY 4.0",
    )
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.image.name.startswith("questions/")
    assert (settings.MEDIA_ROOT / question.image.name).exists()  # stored by the storage API


@pytest.mark.parametrize(
    ("upload", "fields", "message"),
    [
        (png(), {"image_credit": "Own work"}, "Describe the image"),
        (png(), {"image_alt": "A diagram"}, "Credit the image"),
        (
            SimpleUploadedFile("view.png", b"not an image at all", content_type="image/png"),
            {"image_alt": "x", "image_credit": "y"},
            "Upload a valid image",
        ),
        (
            SimpleUploadedFile("drawing.svg", b"<svg></svg>", content_type="image/svg+xml"),
            {"image_alt": "x", "image_credit": "y"},
            "Upload a valid image",
        ),
    ],
)
def test_bad_images_are_refused_with_a_message_and_nothing_is_saved(
    educator_client, upload, fields, message
):
    response = add_with_image(educator_client, upload, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Question.objects.exists()


def test_an_image_over_the_size_limit_is_refused():
    question = PublishableQuestionFactory()
    big = png()
    big.size = IMAGE_MAX_BYTES + 1
    question.image = big
    question.image_alt, question.image_credit = "x", "y"
    with pytest.raises(ValidationError, match="the limit is 2 MB"):
        question.full_clean()


def test_residents_see_the_image_with_its_alt_text_credit_and_full_size_link(client, resident):
    question = PublishableQuestionFactory()
    question.image = png()
    question.image_alt = "Fluoroscopic view of the sacroiliac region"
    question.image_credit = "Teaching file, used with permission"
    question.save()
    attempt = starting.start_attempt(user=resident, config=starting.QuizConfig(question_count=1))
    client.force_login(resident)

    page = client.get(reverse("questions:attempt_question", args=[attempt.pk, 1])).content.decode()

    assert 'alt="Fluoroscopic view of the sacroiliac region"' in page
    assert "Teaching file, used with permission" in page
    assert f'href="{question.image.url}"' in page
    assert "img-fluid" in page  # scales down on phones
    assert attempt.items.get().shown["image"]["url"] == question.image.url


# ---------------------------------------------- too many pixels; a storage that cannot write

DESCRIBED = {"image_alt": "Ultrasound of the iliac crest", "image_credit": "Own work"}


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """17.5 KB of PNG that decodes to 12,000 x 12,000 = 144 megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header says ``width`` x ``height`` (one-bit grey) with no pixel data:
    enough for anything that reads only the header, as Pillow's Image.open does."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def choice_image_data(upload, **fields):
    data = form_data(
        choices=[(text, i == 0) for i, text in enumerate(FIVE_NERVES)],
        citations=[(ReferenceFactory(), "Abstract")],
        **fields,
    )
    data |= {"choices-0-image": upload} | {f"choices-0-{k}": v for k, v in DESCRIBED.items()}
    return data


def test_a_small_file_of_too_many_pixels_is_refused_and_nothing_is_saved(educator_client, bomb_png):
    assert len(bomb_png) < 20_000
    upload = SimpleUploadedFile("bomb.png", bomb_png, content_type="image/png")
    response = add_with_image(educator_client, upload, **DESCRIBED)
    assert response.status_code == 200
    assert (
        "The image is 12000 × 12000 pixels (144 megapixels); the limit is 25 megapixels."
        in page_text(response)
    )
    assert not Question.objects.exists()


def test_a_choice_image_of_too_many_pixels_is_refused(educator_client, bomb_png):
    upload = SimpleUploadedFile("bomb.png", bomb_png, content_type="image/png")
    response = educator_client.post(
        reverse("admin:questions_question_add"), choice_image_data(upload)
    )
    assert response.status_code == 200
    assert "(144 megapixels); the limit is 25 megapixels" in page_text(response)
    assert not Question.objects.exists()


def test_an_image_past_pillows_own_limit_gets_the_same_message(educator_client):
    upload = SimpleUploadedFile("bomb.png", png_header(30_000, 30_000), content_type="image/png")
    response = add_with_image(educator_client, upload, **DESCRIBED)
    assert response.status_code == 200
    assert "far too many pixels to show (over 25 megapixels)" in page_text(response)
    assert not Question.objects.exists()


def test_the_pixel_limit_is_a_setting(educator_client, settings):
    settings.QUESTION_IMAGE_MAX_PIXELS = 1_000
    response = add_with_image(educator_client, png(size=(40, 30)), **DESCRIBED)
    assert "The image is 40 × 30 pixels (0 megapixels)" in page_text(response)
    settings.QUESTION_IMAGE_MAX_PIXELS = 1_200
    assert add_with_image(educator_client, png(size=(40, 30)), **DESCRIBED).status_code == 302
    assert Question.objects.get().image


@pytest.fixture
def unwritable_media(settings, tmp_path):
    """A media folder that cannot be made: its parent is a regular file. (Tests run as
    root, whom a read-only mode does not stop.)"""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"


def test_an_image_the_storage_cannot_write_gets_a_message_and_nothing_is_saved(
    educator_client, unwritable_media, caplog
):
    response = add_with_image(educator_client, png(), **DESCRIBED, stem="A typed stem.")
    assert response.status_code == 200
    page = page_text(response)
    assert NOT_STORED in page
    assert "A typed stem." in page  # the form comes back as it was typed
    assert not Question.objects.exists()
    assert not Question.history.exists()
    assert not LogEntry.objects.exists()
    (logged,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "could not be stored" in logged.getMessage() and logged.exc_info


def test_a_choice_image_the_storage_cannot_write_saves_nothing(educator_client, unwritable_media):
    response = educator_client.post(
        reverse("admin:questions_question_add"), choice_image_data(png())
    )
    assert response.status_code == 200
    assert NOT_STORED in page_text(response)
    assert not Question.objects.exists() and not Choice.objects.exists()


def test_an_image_added_to_a_question_the_storage_cannot_write_changes_nothing(
    educator_client, settings, tmp_path
):
    question = PublishableQuestionFactory(status=Question.Status.DRAFT)
    (tmp_path / "questions").write_text("")  # where the upload's folder would be made
    data = form_data(
        question=question,
        choices=[(c.text, c.is_correct, c.pk) for c in question.choices.all()],
        citations=[],
        key=question.key,
        stem="A changed stem.",
        image=png(),
        **DESCRIBED,
    )
    data |= {"citations-INITIAL_FORMS": "0"}
    versions = question.history.count()
    response = educator_client.post(
        reverse("admin:questions_question_change", args=[question.pk]), data
    )
    assert response.status_code == 200
    assert NOT_STORED in page_text(response)
    question.refresh_from_db()
    assert question.stem != "A changed stem." and not question.image
    assert question.history.count() == versions
