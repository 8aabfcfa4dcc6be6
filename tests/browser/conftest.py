"""Real-browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium).

Playwright's own browser download cannot work here, so these tests use the system browser.
Without it they are skipped with how to install it, except under CI=true, where a missing
browser fails the run (.ci/run installs it)."""

import os
import shutil
import threading
import time

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} not found: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # happen outside it, but Django cannot tell, so allow them explicitly.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """A 375 px wide phone (iPhone SE width), touch, at 2x."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, device_scale_factor=2, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Through the login form, as a person does; waits for the dashboard."""
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


# Impacts that fail a page; "moderate" and "minor" are reported but do not fail it.
AXE_FAILING_IMPACTS = {"serious", "critical"}


def assert_accessible(page, label: str = "", *, also: tuple[str, ...] = ()) -> None:
    """Run axe-core (axe-playwright-python's bundled copy) on the page as it is now: no
    serious or critical violation, nor any of the rules named in ``also`` whatever their
    impact. The message names each rule, its help and the elements."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    failing = [
        v
        for v in results.response["violations"]
        if v.get("impact") in AXE_FAILING_IMPACTS or v["id"] in also
    ]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(
            f"    {node['target']}: {node.get('failureSummary', '')}" for node in v["nodes"][:5]
        )
        for v in failing
    )
    assert not failing, f"axe on {label or page.url}:\n{report}"


# --- Requests that outlive their test --------------------------------------------------------
# The live server answers each connection in a thread of its own. On SQLite those threads use
# the test's own in-memory connection: a request still running when its test ends (an htmx save
# sent just before the last assertion, a countdown's automatic submit) would run its
# transaction inside the next test's, whose savepoints it then breaks ("no such savepoint"),
# failing every test after it on that worker. So each browser test ends only once the server
# has no connection left to answer. Its pages' contexts are closed first (their fixtures are
# torn down before this one), which closes their connections.

IDLE_CHECKS = 3  # consecutive idle looks, 50 ms apart: a request on its way has arrived
IDLE_TIMEOUT_SECONDS = 20


def _serving() -> int:
    """The live server's request threads still alive (socketserver names them so)."""
    return sum(
        "process_request_thread" in thread.name and thread.is_alive()
        for thread in threading.enumerate()
    )


@pytest.fixture(autouse=True)
def _server_idle_after_the_test():
    """Torn down after the test's pages and contexts are closed and before its database is
    flushed: waits until the live server has finished every request (fails if it cannot)."""
    yield
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
    idle = 0
    while idle < IDLE_CHECKS:
        if time.monotonic() > deadline:
            pytest.fail(f"the live server still had {_serving()} connection(s) open")
        idle = idle + 1 if _serving() == 0 else 0
        time.sleep(0.05)
