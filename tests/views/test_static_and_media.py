"""Static files and uploads as production serves them.

Static files: collected by the production storage (hashed names, a manifest, gzip and
Brotli copies) and served by WhiteNoise's middleware, cached for good under their hashed
names. Uploads: only real images in an image format are stored, and the project's media route
(``DJANGO_SERVE_MEDIA``) serves each as an image with ``nosniff``, never as a page."""

import functools
import gzip
import importlib.util
import io
import re
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import Resolver404, resolve, reverse
from PIL import Image, PngImagePlugin
from whitenoise.compress import Compressor
from whitenoise.middleware import WhiteNoiseFileResponse

import quizsite.settings as project_settings
from questions.models import Question
from tests.views.test_images import add_with_image

try:  # optional: WhiteNoise adds Brotli copies when it is installed (locust brings it here)
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
HASHED = re.compile(r"/static/(?P<name>.+)\.[0-9a-f]{12}\.(?P<extension>css|js)")

# --- Static files through WhiteNoise --------------------------------------------------------


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """`collectstatic` with the storage production uses (tests otherwise run with plain
    storage and no collected files: see tests/conftest.py), once for this module.

    Brotli, when installed, runs at quality 5 instead of WhiteNoise's 11: the same files,
    names and manifest, in about 2 s instead of 40 s (Bootstrap's package ships 24 MB of CSS,
    JS and source maps)."""
    storage = project_settings.STORAGES["staticfiles"]["BACKEND"]
    assert storage == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    root = tmp_path_factory.mktemp("staticfiles")
    with (
        pytest.MonkeyPatch.context() as patch,
        override_settings(STATIC_ROOT=root, STORAGES=project_settings.STORAGES),
    ):
        if brotli is not None:
            quick = staticmethod(functools.partial(brotli.compress, quality=5))
            patch.setattr(Compressor, "compress_brotli", quick)
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def production_static(settings, collected):
    settings.STATIC_ROOT = collected
    settings.STORAGES = project_settings.STORAGES
    return Client()  # a new client: WhiteNoise indexes STATIC_ROOT when it starts


@pytest.mark.slow
def test_pages_link_static_files_by_their_hashed_names(production_static):
    html = production_static.get(reverse("questions:home")).content.decode()
    linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {HASHED.fullmatch(url)["name"] for url in linked} >= {
        "bootstrap/css/bootstrap.min",
        "css/site",
        "bootstrap/js/bootstrap.bundle.min",
    }
    assert all(HASHED.fullmatch(url) for url in linked), linked


def _bootstrap_css(client) -> str:
    html = client.get(reverse("questions:home")).content.decode()
    return re.search(r'href="(/static/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', html)[1]


def test_whitenoise_serves_a_hashed_file_compressed_and_cached_for_good(production_static):
    css = _bootstrap_css(production_static)
    with pytest.raises(Resolver404):
        resolve(css)  # no view serves /static/: only the middleware can

    response = production_static.get(css, HTTP_ACCEPT_ENCODING="gzip", secure=True)
    assert isinstance(response, WhiteNoiseFileResponse)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    assert b"bootstrap" in gzip.decompress(b"".join(response.streaming_content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.skipif(brotli is None, reason="brotli is not installed: WhiteNoise makes gzip only")
def test_whitenoise_prefers_brotli_when_the_browser_takes_it(production_static):
    response = production_static.get(
        _bootstrap_css(production_static), HTTP_ACCEPT_ENCODING="gzip, br"
    )
    assert response["Content-Encoding"] == "br"
    assert b"bootstrap" in brotli.decompress(b"".join(response.streaming_content))


def test_an_unhashed_name_is_cached_only_briefly(production_static):
    """The original name stays reachable, but a browser must not keep it: it changes on the
    next deploy, when the hashed name changes with it."""
    response = production_static.get("/static/css/site.css")
    assert isinstance(response, WhiteNoiseFileResponse)
    assert response["Cache-Control"] == "max-age=60, public"


# --- Uploads and media ----------------------------------------------------------------------

PAGE = b"<html><body><script>alert(document.cookie)</script></body></html>"


def png_holding_a_page() -> bytes:
    """A real PNG that also carries an HTML page in a text chunk: a valid image, so it is
    accepted; what a browser sniffing the bytes would find is a page."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PAGE.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 200, 200)).save(buffer, format="PNG", pnginfo=info)
    assert PAGE in buffer.getvalue()
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def serving_media(settings, media_root):
    """The project's own quizsite/urls.py, run again with DJANGO_SERVE_MEDIA on (the media
    route is added when the module is imported) under another module name, as the URLconf."""
    settings.SERVE_MEDIA = True
    name = "quizsite_urls_serving_media"
    spec = importlib.util.spec_from_file_location(name, ROOT / "quizsite" / "urls.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    settings.ROOT_URLCONF = name
    yield media_root
    del sys.modules[name]


def _stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_an_uploaded_image_is_served_as_an_image_never_as_a_page(educator_client, serving_media):
    upload = SimpleUploadedFile("view.png", png_holding_a_page(), "text/html")
    response = add_with_image(educator_client, upload, image_alt="A view", image_credit="Own")
    assert response.status_code == 302
    url = Question.objects.get().image.url
    assert url.startswith("/media/questions/") and url.endswith(".png")

    served = Client().get(url, secure=True)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == png_holding_a_page()
    assert served["Content-Type"] == "image/png"  # from the stored name, not the upload's word
    assert served["X-Content-Type-Options"] == "nosniff"  # so no browser sniffs the page
    assert "script-src 'self'" in served["Content-Security-Policy"]
    assert served["X-Frame-Options"] == "DENY"


def test_without_serve_media_the_site_serves_no_uploads(client, media_root):
    (media_root / "view.png").write_bytes(png_holding_a_page())
    assert client.get("/media/view.png").status_code == 404  # the web server's job then


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("page.html", PAGE, "Upload a valid image"),
        ("page.png", PAGE, "Upload a valid image"),
        ("page.html", png_holding_a_page(), "File extension “html” is not allowed"),
        ("view.png.html", png_holding_a_page(), "File extension “html” is not allowed"),
        ("view.svg", png_holding_a_page(), "File extension “svg” is not allowed"),
        ("view.htm", png_holding_a_page(), "File extension “htm” is not allowed"),
    ],
)
def test_only_images_with_an_image_name_are_stored(
    educator_client, media_root, name, content, message
):
    """What the media route serves is what the upload stored: a file whose name would make
    it a page (or an SVG, which can hold a script) is refused, even when it is a real image."""
    upload = SimpleUploadedFile(name, content, "image/png")
    response = add_with_image(educator_client, upload, image_alt="x", image_credit="y")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Question.objects.exists()
    assert _stored_files(media_root) == []
