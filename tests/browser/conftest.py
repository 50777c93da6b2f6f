"""The browser-test harness (issue 6): Domus served by uvicorn in a background thread, and
Debian's Chromium driven by Playwright.

- `server` (session): the whole app on 127.0.0.1 and a free port, on a fresh SQLite database
  with a person of every role (tests/web_support.py PEOPLE, password PASSWORD), a few
  Schaerbeek notices and one of Anderlecht, and the clock fixed at TODAY. Uploads are
  ingested within the request (no Prefect server).
- `browser` (session): Chromium from /usr/bin/chromium, headless; never `playwright install`
  (scripts/test installs Debian's chromium package when it is missing).
- `page_as(role)`: a new browser context (its own cookies) logged in through the real form;
  `page_as(None)` is a guest. `page_as(role, language="fr", viewport=TABLET)` as needed.
- `shot(page, "name.png")`: a screenshot in docs/screenshots/ under that stable name.

A journey test: mark it `@pytest.mark.browser` (tests/browser/test_journeys.py does it for
the whole module), take `page_as` and `server`, and leave the shared database as a later
test expects it (page_as puts each person's language back to Dutch before logging in).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from domus.bootstrap import Domus, bootstrap
from domus.settings import Settings
from services.intake import ingest_source
from services.readers import inspect_file
from services.users import set_language
from services.web_import import IntakeRuns
from tests.builders import petition, write_jsonl
from tests.web_support import PASSWORD, PEOPLE, add_people
from web.app import create_app
from web.pages_import import ingest_directly

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: the app's fixed clock: Monday 9 November 2026, a week after the first petitions arrived
TODAY = datetime(2026, 11, 9, 9, 0)
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


def notices() -> list[dict[str, Any]]:
    """A few tenants with tasks overdue, due today and due this week in Schaerbeek, and one
    case in Anderlecht that no Schaerbeek person may see."""
    return [
        petition("26A101"),  # Amina El Idrissi: received 2 November
        petition("26A102", received_on="2026-11-04", filed_on="2026-10-30",
                 hearing_at="2026-12-15T10:00:00",
                 tenant={"first_name": "Jan", "last_name": "Peeters", "language": "nl",
                         "phone": "+32 478 55 66 77", "email": None,
                         "birth_date": "1971-06-14"},
                 dwelling={"street": "Rue Royale Sainte-Marie", "number": "40", "box": None,
                           "postcode": "1030", "municipality": "Schaerbeek"},
                 arrears_eur="1850.00", monthly_rent_eur="620.00"),
        petition("26A103", received_on="2026-11-06", filed_on="2026-11-03",
                 hearing_at="2027-01-07T09:00:00",
                 tenant={"first_name": "Maria", "last_name": "Santos", "language": "fr",
                         "phone": None, "email": "maria.santos@example.org",
                         "birth_date": "1990-01-20"},
                 dwelling={"street": "Avenue Rogier", "number": "215", "box": "2",
                           "postcode": "1030", "municipality": "Schaerbeek"},
                 arrears_eur="3400.00", monthly_rent_eur="900.00"),
        petition("26B201", court="Vredegerecht Anderlecht",
                 tenant={"first_name": "Luc", "last_name": "Dubois", "language": "fr",
                         "phone": None, "email": None, "birth_date": None},
                 dwelling={"street": "Rue Wayez", "number": "12", "box": None,
                           "postcode": "1070", "municipality": "Anderlecht"}),
    ]


@dataclass
class Server:
    url: str
    domus: Domus
    clock: Callable[[], datetime]

    def __call__(self, path: str = "/") -> str:
        """The full address of `path`."""
        return self.url + path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    domus = bootstrap(Settings(database_url=f"sqlite:///{folder / 'domus.db'}",
                               data_dir=folder / "data", base_url=url))
    add_people(domus)
    ingest_source(domus.engine, inspect_file(write_jsonl(folder / "n.jsonl", notices())),
                  rules=domus.rules, now=TODAY)
    app = create_app(domus, clock=lambda: TODAY)
    app.state.intake_runs = IntakeRuns(partial(ingest_directly, domus), background=False)
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                   log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uvicorn_server.run, name="domus-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on {url}")
        time.sleep(0.05)
    try:
        yield Server(url, domus, lambda: TODAY)
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        domus.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_as(server: Server, browser: Any) -> Iterator[Callable[..., Any]]:
    """page_as(role, *, language="nl", viewport=LAPTOP) → a Playwright page logged in as
    the person of `role` in PEOPLE (None: not logged in), on the page they land on."""
    contexts: list[Any] = []

    def open_page(role: str | None, *, language: str = "nl",
                  viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or LAPTOP, locale="nl-BE",
                                      base_url=server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if role is None:
            return page
        email = PEOPLE[role][0]
        set_language(server.domus.engine, email, language)
        page.goto("/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("form[action='/login'] button[type=submit]")
        assert "/login" not in page.url, f"{role} could not log in: {page.url}"
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """shot(page, "name.png"): the page as it is now, in docs/screenshots/name.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        return path

    return take
