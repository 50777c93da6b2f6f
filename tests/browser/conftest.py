"""The browser-test harness (issue 6): Domus served by uvicorn in a background thread, and
Debian's Chromium driven by Playwright.

- `server` (session): the whole app on 127.0.0.1 and a free port, on a fresh SQLite database
  with a person of every role (tests/web_support.py PEOPLE, password PASSWORD), a few
  Schaerbeek notices and one of Anderlecht, and the clock fixed at TODAY. Then (`seed_more`)
  a second caseworker of Schaerbeek, DIRK, holding a case with overdue tasks (DIRKS_CASE)
  and one at risk, and closed cases in three OCMWs with contacts and outcomes
  (`closed_cases`) so that the monitoring figures are not empty. Uploads are ingested
  within the request (no Prefect server).
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
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus, bootstrap
from domus.settings import Settings
from services.contacts import record_contact
from services.intake import ingest_source
from services.outcomes import record_outcome
from services.readers import inspect_file
from services.users import add_user, set_language
from services.web_import import IntakeRuns
from store import tables as t
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
#: a second caseworker of Schaerbeek, and the case he holds, its tasks overdue at TODAY
DIRK = "dirk@schaerbeek.be"
DIRKS_CASE = "26A104"
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


def dirks_notices() -> list[dict[str, Any]]:
    """DIRKS_CASE, received two weeks ago: its invitation letter and first contact are
    overdue; and a case whose hearing is this Friday, nobody reached yet: at risk."""
    return [petition(DIRKS_CASE, received_on="2026-10-26", filed_on="2026-10-20",
                     hearing_at="2026-12-17T09:00:00",
                     tenant={"first_name": "Youssef", "last_name": "Benali", "language": "fr",
                             "phone": "+32 485 11 22 33", "email": None, "birth_date": None},
                     dwelling={"street": "Rue Gallait", "number": "80", "box": None,
                               "postcode": "1030", "municipality": "Schaerbeek"}),
            petition("26A105", received_on="2026-11-05", filed_on="2026-10-29",
                     hearing_at="2026-11-13T09:00:00",
                     tenant={"first_name": "Nadia", "last_name": "Bouzid", "language": None,
                             "phone": None, "email": None, "birth_date": None},
                     dwelling={"street": "Rue Vifquin", "number": "31", "box": None,
                               "postcode": "1030", "municipality": "Schaerbeek"})]


#: docket, court, postcode, municipality, tenant, effective contact, outcome
CLOSED = (
    ("26A901", "Vredegerecht Schaarbeek", "1030", "Schaerbeek", "Vandamme", True,
     "kept_payment_plan"),
    ("26A902", "Vredegerecht Schaarbeek", "1030", "Schaerbeek", "Lambrechts", True,
     "rehoused"),
    ("26A903", "Vredegerecht Schaarbeek", "1030", "Schaerbeek", "Ferreira", False,
     "kept_agreement"),
    ("26A904", "Vredegerecht Schaarbeek", "1030", "Schaerbeek", "Claessens", True, "evicted"),
    ("26A905", "Vredegerecht Schaarbeek", "1030", "Schaerbeek", "Moreau", False,
     "lost_contact"),
    ("26B901", "Justice de paix d'Anderlecht", "1070", "Anderlecht", "Mertens", True,
     "kept_agreement"),
    ("26B902", "Justice de paix d'Anderlecht", "1070", "Anderlecht", "Kowalski", False,
     "left_voluntarily"),
    ("26B903", "Justice de paix d'Anderlecht", "1070", "Anderlecht", "Nkemelu", True,
     "kept_debt_cleared"),
    ("26C901", "Justice de paix d'Ixelles", "1050", "Ixelles", "Delcourt", True,
     "kept_payment_plan"),
    ("26C902", "Justice de paix d'Ixelles", "1050", "Ixelles", "Haddad", False, "evicted"),
    ("26C903", "Justice de paix d'Ixelles", "1050", "Ixelles", "Verstraeten", True,
     "refused_help"),
)


def closed_cases() -> list[dict[str, Any]]:
    """Cases of September, closed in October, for the monitoring figures."""
    return [petition(docket, court=court, received_on="2026-09-14", filed_on="2026-09-08",
                     hearing_at="2026-10-15T09:00:00",
                     tenant={"first_name": "Saskia", "last_name": name, "language": "nl",
                             "phone": None, "email": None, "birth_date": None},
                     dwelling={"street": "Rue Test", "number": "1", "box": None,
                               "postcode": postcode, "municipality": municipality})
            for docket, court, postcode, municipality, name, _, _ in CLOSED]


def seed_more(domus: Domus, folder: Path) -> None:
    """DIRK and his cases (overdue tasks, at risk); the closed cases with contacts and
    outcomes."""
    add_user(domus.engine, email=DIRK, name="Dirk", role="caseworker", ocmw="21015",
             language="nl", password=PASSWORD, now=TODAY, rules=domus.rules)
    ingest_source(domus.engine, inspect_file(write_jsonl(folder / "more.jsonl",
                                                         dirks_notices())),
                  rules=domus.rules, now=TODAY)
    ingest_source(domus.engine, inspect_file(write_jsonl(folder / "closed.jsonl",
                                                         closed_cases())),
                  rules=domus.rules, now=datetime(2026, 9, 15, 9, 0))
    operator = Actor.operator()
    with domus.engine.connect() as connection:
        ids = dict(connection.execute(select(t.cases.c.docket_number, t.cases.c.id)).all())
    for docket, *_, effective, outcome in CLOSED:
        record_contact(domus.engine, ids[docket], channel="home_visit" if effective else "phone",
                       result="reached" if effective else "not_reached",
                       at=datetime(2026, 9, 18, 14, 0), note=None, actor=operator,
                       now=datetime(2026, 9, 18, 15, 0), calendar=domus.rules.calendar)
        record_outcome(domus.engine, ids[docket], outcome, on=date(2026, 10, 20),
                       actor=operator, now=datetime(2026, 10, 20, 16, 0))


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
    seed_more(domus, folder)
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
    """shot(page, "name.png", full_page=False): the page as it is now, in
    docs/screenshots/name.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, *, full_page: bool = False) -> Path:
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), animations="disabled", caret="hide",
                        full_page=full_page)
        return path

    return take
