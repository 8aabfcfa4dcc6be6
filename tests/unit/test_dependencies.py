"""What a production install pulls: requirements.txt is the runtime export of uv.lock (CI
checks that it is current), so a test tool listed there would reach every deployment."""

import re
from pathlib import Path

from django.conf import settings

REQUIREMENTS = Path(settings.BASE_DIR) / "requirements.txt"
TEST_TOOLS = {
    "playwright",
    "axe-playwright-python",
    "locust",
    "flask",
    "gevent",
    "hypothesis",
    "pytest",
    "pytest-django",
    "pytest-xdist",
    "factory-boy",
    "ruff",
    "mypy",
    "django-stubs",
    "import-linter",
}


def pinned_packages() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)", REQUIREMENTS.read_text(), re.M)
    return {
        re.sub(r"\[.*\]", "", name).lower().replace("_", "-"): version for name, version in pins
    }


def test_a_production_install_pulls_no_test_tool():
    packages = pinned_packages()
    assert "django" in packages and "gunicorn" in packages
    assert TEST_TOOLS & set(packages) == set()


def test_every_runtime_requirement_is_pinned_with_a_hash():
    text = REQUIREMENTS.read_text()
    entries = re.findall(
        r"^[A-Za-z0-9_.\[\]-]+==.*?(?=^[A-Za-z0-9_.\[\]-]+==|\Z)", text, re.M | re.S
    )
    assert len(entries) == len(pinned_packages()) > 0
    assert [e.split()[0] for e in entries if "--hash=sha256:" not in e] == []
