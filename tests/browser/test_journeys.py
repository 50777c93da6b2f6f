"""Each role's main journey in Debian's Chromium (issue 6, "Done means"); the screenshots
land in docs/screenshots/. The harness is in tests/browser/conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from services.users import set_language
from tests.browser.conftest import TABLET, Server
from tests.web_support import PASSWORD, PEOPLE

pytestmark = pytest.mark.browser


def test_a_caseworker_sees_a_due_task_and_switches_to_french(page_as: Any, shot: Any) -> None:
    page = page_as("caseworker")
    assert page.url.endswith("/tasks")
    assert page.locator("h1").inner_text() == "Mijn taken"
    today = page.locator("section#today")
    assert "Eerste contactpoging" in today.inner_text()  # received 2 Nov + 5 working days
    assert "El Idrissi" in today.inner_text()
    assert "Uitnodigingsbrief aan de huurder" in page.locator("section#overdue").inner_text()
    assert "Dubois" not in page.content()  # Anderlecht's tenant
    shot(page, "tasks.png")

    page.set_viewport_size(TABLET)
    assert page.locator("section#today").is_visible()
    no_sideways_scroll = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert no_sideways_scroll, "My tasks scrolls sideways on a 768px tablet"
    shot(page, "tasks-tablet.png")

    with page.expect_navigation():
        page.click("header button[name=language][value=fr]")
    assert page.locator("h1").inner_text() == "Mes tâches"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Première tentative de contact" in page.locator("section#today").inner_text()


def test_the_log_in_page_works_with_the_keyboard(page_as: Any, server: Server,
                                                 shot: Any) -> None:
    set_language(server.domus.engine, PEOPLE["caseworker"][0], "nl")  # as the form will log in
    page = page_as(None)
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Aanmelden bij Domus"
    shot(page, "login.png")

    def focused() -> str:
        return str(page.evaluate("document.activeElement && document.activeElement.id"))

    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(10):  # from the top of the page: the skip link, the logo, the fields
        page.keyboard.press("Tab")
        if focused() == "email":
            break
    assert focused() == "email", "Tab never reaches the e-mail field"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field shows no focus ring"
    page.keyboard.type(PEOPLE["caseworker"][0])
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server("/tasks")
    assert page.locator("h1").inner_text() == "Mijn taken"
