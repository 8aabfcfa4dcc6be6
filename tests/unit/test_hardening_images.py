"""questions.authoring.images: the pixel count read from an image's header, Pillow's own
decompression-bomb guard, and a storage failure named as such. (Through the admin's forms:
tests/views/test_images.py.)"""

import io
import warnings

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from questions.authoring import images
from tests.views.test_images import png_header


def png_file(size: tuple[int, int], mode: str = "L") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    buffer.seek(0)
    return buffer


def test_an_image_within_the_limit_passes_and_is_left_where_it_was_read_from():
    upload = png_file((400, 300))
    upload.seek(5)
    images.check_pixels(upload, max_pixels=120_000)
    assert upload.tell() == 5


def test_an_image_over_the_limit_is_refused_with_its_size_and_the_limit():
    with pytest.raises(ValidationError) as refused:
        images.check_pixels(png_file((400, 301)), max_pixels=120_000)
    assert refused.value.code == "image_too_many_pixels"
    assert refused.value.messages == [
        "The image is 400 × 301 pixels (0.1 megapixels); the limit is 0.1 megapixels. "
        "Scale it down before uploading it."
    ]


def test_only_the_header_is_read():
    """15,000 x 10,000 in the header and no pixel data at all: decoding would fail, reading
    the size does not. (A limit above Pillow's: Pillow's, 89.5 megapixels, holds.)"""
    with pytest.raises(ValidationError) as refused:
        images.check_pixels(io.BytesIO(png_header(15_000, 10_000)), max_pixels=10**10)
    message = "15000 × 10000 pixels (150 megapixels); the limit is 89.5 megapixels"
    assert message in refused.value.messages[0]


def test_pillows_lower_limit_holds_and_its_warning_is_refused_not_printed(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    assert images.pixel_limit(25_000_000) == 1_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail the test
        with pytest.raises(ValidationError, match="the limit is 1 megapixels"):
            images.check_pixels(io.BytesIO(png_header(1_500, 1_000)), max_pixels=25_000_000)


def test_pillows_decompression_bomb_error_is_refused_with_a_message():
    """Past twice Pillow's limit, Image.open raises before the size can be read."""
    with pytest.raises(ValidationError) as refused:
        images.check_pixels(io.BytesIO(png_header(20_000, 20_000)), max_pixels=25_000_000)
    assert refused.value.code == "image_too_many_pixels"
    assert "far too many pixels to show (over 25 megapixels)" in refused.value.messages[0]


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_what_pillow_cannot_read_is_left_to_the_image_field(content):
    upload = io.BytesIO(content)
    images.check_pixels(upload, max_pixels=1)
    assert upload.tell() == 0


def test_a_storage_error_becomes_image_not_stored():
    with pytest.raises(images.ImageNotStored) as failed, images.storing():
        raise NotADirectoryError(20, "Not a directory", "/srv/media")
    assert isinstance(failed.value.__cause__, NotADirectoryError)
    with pytest.raises(ValueError), images.storing():
        raise ValueError("not a storage error")
