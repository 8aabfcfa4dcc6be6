"""Question and choice images: refused when they would decode to too many pixels, and a
storage that cannot write them named as such.

A PNG or GIF of a few kilobytes can decode to hundreds of megapixels (a "decompression
bomb"): 17.5 KB of PNG makes 144 megapixels, 576 MB of RGBA in the memory of every phone
that shows it. The file's size limit cannot see that, so the pixel count is read from the
image's header (Pillow's ``Image.open`` reads the header only; nothing is decoded) and
compared with a limit the caller passes (``settings.QUESTION_IMAGE_MAX_PIXELS``). Pillow's
own guard (a DecompressionBombWarning above ``Image.MAX_IMAGE_PIXELS``, about 89
megapixels, and a DecompressionBombError above twice that) is refused the same way: the
lower of the two limits holds.

Units: pixels, of the image's first frame (width times height).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import IO

from django.core.exceptions import ValidationError
from PIL import Image

__all__ = ["NOT_STORED", "ImageNotStored", "check_pixels", "pixel_limit", "storing"]

NOT_STORED = (
    "The image could not be stored: the server cannot write to its media folder, so "
    "nothing was saved. Tell the site's administrator; once it is fixed, choose the image "
    "again and save."
)


class ImageNotStored(Exception):
    """The storage failed to write an uploaded image (a media folder that cannot be written
    or does not exist, a full or read-only disk)."""


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def pixel_limit(max_pixels: int) -> int:
    """The limit that holds: ``max_pixels``, or Pillow's own if that is lower."""
    return min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)


def check_pixels(upload: IO[bytes], *, max_pixels: int) -> None:
    """Raise ValidationError (code ``image_too_many_pixels``) when ``upload`` would decode
    to more than ``pixel_limit(max_pixels)`` pixels. Reads the header only. A file Pillow
    cannot read at all passes: ``forms.ImageField`` refuses it with its own message. The
    file is left where it was read from."""
    limit = pixel_limit(max_pixels)
    position = upload.tell()
    try:
        # Over Pillow's limit, Image.open warns (refused below: over ``limit`` too); over
        # twice that, it raises before the size can be read.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise ValidationError(
            "The image has far too many pixels to show (over %(limit)s megapixels): scale "
            "it down before uploading it.",
            code="image_too_many_pixels",
            params={"limit": _megapixels(limit)},
        ) from exc
    except Exception:  # not an image Pillow knows (or a broken one): not this check's to say
        return
    finally:
        upload.seek(position)
    if width * height > limit:
        raise ValidationError(
            "The image is %(width)s × %(height)s pixels (%(pixels)s megapixels); the limit is "
            "%(limit)s megapixels. Scale it down before uploading it.",
            code="image_too_many_pixels",
            params={
                "width": width,
                "height": height,
                "pixels": _megapixels(width * height),
                "limit": _megapixels(limit),
            },
        )


@contextlib.contextmanager
def storing() -> Iterator[None]:
    """Around a save that writes uploaded images: an OSError (what a file storage raises
    when it cannot create the folder or write the file) becomes ImageNotStored, so the
    caller can roll back and say so instead of failing with a 500."""
    try:
        yield
    except OSError as exc:
        raise ImageNotStored(str(exc)) from exc
