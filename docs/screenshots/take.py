"""Take the screenshots in docs/screenshots/ from a running development server.

Run the site with its demo accounts, then this script, from the project's root:

    make setup
    DJANGO_DEBUG=true .venv/bin/python manage.py runserver 127.0.0.1:8000
    .venv/bin/python docs/screenshots/take.py [--base-url http://127.0.0.1:8000]

It drives Chromium (``/usr/bin/chromium``, or ``CHROMIUM_PATH``) with Playwright, logs in as
the demo resident and the demo educator, and overwrites the PNGs beside this file. It takes
and finishes two quizzes as the resident (a timed one and a tutor one), so the demo history
grows by two quizzes a run. Dark screenshots come from a browser that prefers a dark colour
scheme, as the site follows the system's setting until the reader picks a theme.

With debug on, Django shows its technical 404 page instead of the site's; the 404 screenshot
then shows the site's page as rendered in this process with debug off.
"""

import argparse
import os
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
RESIDENT = ("resident", "resident-demo-2026")
EDUCATOR = ("educator", "educator-demo-2026")
MISSING = "/no-such-page/"


def log_in(page, base_url: str, account: tuple[str, str]) -> None:
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", account[0])
    page.fill("#id_password", account[1])
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def start_quiz(page, base_url: str, *, mode: str, count: int) -> None:
    page.goto(base_url + "/quizzes/new/")
    page.fill("#id_question_count", str(count))
    page.check(f"input[name=mode][value={mode}]")
    with page.expect_navigation():
        page.click("input[type=submit][value='Start quiz']")
    page.wait_for_url(re.compile(r"/questions/1/$"))


def shot(page, name: str, *, full_page: bool = False) -> None:
    path = HERE / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    print(f"  {path.relative_to(ROOT)}")


def friendly_404_html() -> str:
    """The site's 404 page as production renders it: this process, debug off."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quizsite.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    import django

    django.setup()
    from django.test import Client, override_settings

    with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"], SECURE_SSL_REDIRECT=False):
        return Client().get(MISSING).content.decode()


def resident_pages(browser, base_url: str) -> str:
    """Light pages of the resident; returns the address of the timed quiz's first question,
    left open for the dark and phone screenshots."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(base_url + "/")
    shot(page, "home")
    log_in(page, base_url, RESIDENT)
    shot(page, "dashboard", full_page=True)
    page.goto(base_url + "/quizzes/new/")
    shot(page, "quiz-builder")
    start_quiz(page, base_url, mode="timed", count=5)
    question_url = page.url
    page.click("label[for=choice-B]")
    shot(page, "question-timed")

    page.goto(base_url + MISSING)
    if "DEBUG = True" in page.content():
        html = friendly_404_html()
        page.route(
            re.compile(re.escape(MISSING) + "$"),
            lambda route: route.fulfill(status=404, content_type="text/html", body=html),
        )
        page.goto(base_url + MISSING)
    shot(page, "404")
    context.close()
    return question_url


def dark_and_phone_pages(browser, base_url: str, question_url: str) -> None:
    context = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    page = context.new_page()
    log_in(page, base_url, RESIDENT)
    shot(page, "dashboard-dark", full_page=True)
    page.goto(question_url)
    shot(page, "question-dark")
    context.close()

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    log_in(page, base_url, RESIDENT)
    page.goto(question_url)
    shot(page, "question-phone", full_page=True)
    page.click("button.navbar-toggler")
    page.locator("#main-menu.show").wait_for()
    shot(page, "nav-phone")
    context.close()


def finish_quizzes(browser, base_url: str, question_url: str) -> None:
    """Answers and ends the timed quiz (results), then a tutor quiz (feedback), so that no
    quiz is left in progress."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, base_url, RESIDENT)
    page.goto(question_url)
    for letter in "BADC":
        page.click(f"label[for=choice-{letter}]")
        with page.expect_navigation():
            page.click("[data-nav=next]")
    with page.expect_navigation():
        page.click("aside form[action$='/finish/'] button")
    page.wait_for_url(re.compile(r"/results/$"))
    page.set_viewport_size({"width": 1280, "height": 1100})
    shot(page, "results")
    page.set_viewport_size(DESKTOP)

    start_quiz(page, base_url, mode="tutor", count=3)
    for position in (1, 2, 3):
        page.click("label[for=choice-A]")
        with page.expect_navigation():
            page.click("text=Submit answer")
        if position == 1:
            shot(page, "tutor-feedback", full_page=True)
        if position < 3:
            with page.expect_navigation():
                page.click("[data-nav=next]")
    with page.expect_navigation():
        page.click("aside form[action$='/finish/'] button")
    context.close()


def educator_pages(browser, base_url: str) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, base_url, EDUCATOR)
    page.goto(base_url + "/cohorts/")
    with page.expect_navigation():
        page.locator("main table a").first.click()
    shot(page, "cohort-dashboard", full_page=True)
    page.goto(base_url + "/authoring/item-analysis/")
    shot(page, "item-analysis")
    page.goto(base_url + "/admin/questions/question/")
    with page.expect_navigation():
        page.locator("#result_list tbody tr th a").first.click()
    shot(page, "admin-question")
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    base_url = parser.parse_args().base_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        question_url = resident_pages(browser, base_url)
        dark_and_phone_pages(browser, base_url, question_url)
        finish_quizzes(browser, base_url, question_url)
        educator_pages(browser, base_url)
        browser.close()


if __name__ == "__main__":
    main()
