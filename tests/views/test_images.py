"""Question and choice images: checked on upload (type, size, real image), stored through
Django's storage, required alt text and credit, shown to residents with a link to the full
size."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from questions.models import IMAGE_MAX_BYTES, Question
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
