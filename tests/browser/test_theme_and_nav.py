"""The light and dark theme, and the navigation by role, in a real browser."""

import re

import pytest
from django.urls import reverse

from tests.browser.conftest import log_in
from tests.factories import PublishableQuestionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"


def theme(page) -> str:
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def test_theme_follows_the_system_until_the_toggle_is_pressed(live_server, browser):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(live_server.url + reverse("questions:home"))
    toggle = page.get_by_role("button", name="Dark theme")
    assert theme(page) == "dark"
    assert toggle.get_attribute("aria-pressed") == "true"

    toggle.click()
    assert theme(page) == "light"
    assert toggle.get_attribute("aria-pressed") == "false"
    page.goto(live_server.url + reverse("questions:reference_list"))
    assert theme(page) == "light"  # kept, although the system prefers dark
    context.close()


def test_dark_theme_survives_htmx_boosted_navigation_of_the_quiz(live_server, page):
    PublishableQuestionFactory.create_batch(3)
    UserFactory(username="pgy1", password=PASSWORD)
    log_in(page, live_server.url, "pgy1", PASSWORD)
    page.get_by_role("button", name="Dark theme").click()
    assert theme(page) == "dark"

    page.goto(live_server.url + reverse("questions:attempt_new"))
    page.fill("#id_question_count", "3")
    page.check("input[name=mode][value=timed]")
    page.click("input[type=submit][value='Start quiz']")
    page.wait_for_url(re.compile(r"/questions/1/$"))
    page.click("label[for=choice-A]")
    page.click("text=Save and next")  # a boosted form: htmx swaps the body
    page.wait_for_url(re.compile(r"/questions/2/$"))
    assert theme(page) == "dark"
    toggle = page.get_by_role("button", name="Dark theme")
    assert toggle.get_attribute("aria-pressed") == "true"


def test_phone_menu_folds_and_marks_the_current_page(live_server, phone):
    UserFactory(username="pgy2", password=PASSWORD)
    log_in(phone, live_server.url, "pgy2", PASSWORD)
    menu_link = phone.locator("#main-menu").get_by_role("link", name="New quiz")
    assert not menu_link.is_visible()
    phone.get_by_role("button", name="Menu").click()
    menu_link.wait_for()
    current = phone.locator("#main-menu [aria-current=page]")
    assert current.inner_text() == "Dashboard"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_educators_tools_are_grouped_in_their_own_bar(live_server, page):
    UserFactory(username="pd", password=PASSWORD, is_staff=True)
    UserFactory(username="pgy3", password=PASSWORD)
    log_in(page, live_server.url, "pd", PASSWORD)
    tools = page.get_by_role("navigation", name="Educator tools")
    assert tools.get_by_role("link").all_inner_texts() == [
        "Cohorts",
        "Item analysis",
        "Author questions (admin)",
    ]
    page.context.clear_cookies()
    log_in(page, live_server.url, "pgy3", PASSWORD)
    assert page.get_by_role("navigation", name="Educator tools").count() == 0


@pytest.mark.parametrize("width", [992, 1100, 1200, 1280, 1440])
def test_main_menu_fits_every_desktop_width(live_server, browser, width):
    """The unfolded menu is one line that fits the page; below 1200 px it is folded behind
    its button, as it is on a phone (with every link of a resident and a long user name,
    it once ran past the page's edge between 992 and 1199 px)."""
    UserFactory(username="resident-with-a-long-name", password=PASSWORD, is_staff=True)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    log_in(page, live_server.url, "resident-with-a-long-name", PASSWORD)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    folded = page.get_by_role("button", name="Menu").is_visible()
    assert folded == (width < 1200)
    if not folded:
        bar = page.locator("nav[aria-label=Main]").bounding_box()
        assert bar["height"] < 80  # one line, not wrapped
        for link in page.locator("#main-menu .nav-link").all():
            box = link.bounding_box()
            assert box["x"] + box["width"] <= width, link.inner_text()
    context.close()


def test_account_menu_holds_settings_reports_and_log_out(live_server, page):
    UserFactory(username="pgy4", password=PASSWORD)
    log_in(page, live_server.url, "pgy4", PASSWORD)
    account = page.get_by_role("button", name="Account: pgy4")
    assert account.get_attribute("aria-expanded") == "false"
    account.click()
    assert account.get_attribute("aria-expanded") == "true"
    page.get_by_role("link", name="Settings", exact=True).click()
    page.wait_for_url(re.compile(r"/settings/$"))
    account = page.get_by_role("button", name="Account: pgy4")
    assert "active" in account.get_attribute("class")  # its section is marked
    account.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in").first.is_visible()
