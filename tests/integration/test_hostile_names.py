"""HTML, template and header syntax in names is shown as text everywhere (issue 8).

One world, built once (SQLite: no surface here depends on the database): cases whose tenant
first and last name, street, landlord, court, docket number and a contact note carry each of
bench/fuzz_harness.py's HOSTILE_NAMES, cases in triage whose commune and postcode carry them,
quarantined records that echo them in their reason, a caseworker named with them, and a file
named with them. Then every surface that shows them is read back: the web pages of each role,
the JSON API and audit export, the letters, the e-mails, the calendar feed and the monitoring
page and chart."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import docx
import pytest
from icalendar import Calendar
from markupsafe import escape
from sqlalchemy import select

from bench.fuzz_harness import HOSTILE_NAMES
from domain.access import Actor
from domus.bootstrap import Domus, bootstrap
from domus.settings import Settings
from services.contacts import record_contact
from services.delivery import Delivery, deliver_outbox
from services.intake import ingest_source
from services.letters import make_letter
from services.readers import inspect_file
from services.review import resolve_triage
from services.sweep import record_digests, record_sweep
from services.users import issue_token
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.smtp_server import SmtpServer
from tests.web_support import (
    ANDERLECHT,
    PEOPLE,
    SCHAERBEEK,
    Browser,
    add_people,
    add_person,
    logged_in,
)

#: a line break that tries to add a mail header, and one that tries to end a calendar event
HEADER_INJECTION = "Evil\r\nBcc: victim@example.com\r\nSubject: pwned"
ICS_INJECTION = "Rue; du, Test\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:injected"
#: TeX for matplotlib's mathtext (the charts' labels): text, never parsed
MATHTEXT = "$\\frac{1}{$ and $x^2$"
#: what Domus refuses at intake (NUL, lone surrogate): only ever seen in quarantine
REFUSED = tuple(n for n in HOSTILE_NAMES if "\x00" in n or "\ud800" in n)
#: what Domus keeps (surrounding white space is trimmed, as for every text field)
SHOWN = tuple(dict.fromkeys(n.strip() for n in HOSTILE_NAMES if n not in REFUSED)) + (
    HEADER_INJECTION, ICS_INJECTION, MATHTEXT)
#: markup that must never reach a page as markup
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror", '"><img')
TEMPLATE = "{{7*7}}"
HEADERS = sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                  "Content-Type", "Content-Transfer-Encoding", "Content-Language"])
MALLORY = ("mallory@schaerbeek.be", '<img src=x onerror=alert(1)> {{7*7}}')


@dataclass
class World:
    domus: Domus
    routed: dict[str, str]  # payload -> case id (Schaerbeek, assigned to alice)
    ingested: Path  # the notice file, itself named with markup


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOMUS_DATABASE_URL", f"sqlite:///{folder / 'domus.db'}")
        patch.setenv("DOMUS_DATA_DIR", str(folder / "data"))
        domus = bootstrap(Settings())
        try:
            yield _build(domus, folder)
        finally:
            domus.engine.dispose()


def _build(domus: Domus, folder: Path) -> World:
    add_people(domus)  # before intake: the new tasks go to alice, Schaerbeek's caseworker
    notices = []
    for i, name in enumerate(SHOWN):
        notices.append(petition(
            f"26H{i}{name}", court=name, tenant__first_name=name, tenant__last_name=name,
            dwelling__street=name, landlord__name=name))
        for group in ("26T", "26M"):  # 26M: routed by hand, for the statistics by commune
            notices.append(petition(f"{group}{i}", tenant__last_name=name,
                                    dwelling__postcode=name, dwelling__municipality=name))
    for i, name in enumerate(HOSTILE_NAMES):  # the reason repeats the bad value
        notices.append(petition(f"26Q{i}", received_on=name, tenant__last_name=name))
    ingested = folder / '"><img src=x onerror=alert(1)>{{7*7}}.jsonl'
    ingested.write_text("".join(json.dumps(n) + "\n" for n in notices), encoding="utf-8")
    summary = ingest_source(domus.engine, inspect_file(ingested), rules=domus.rules, now=NOW)
    assert summary.created == 3 * len(SHOWN), summary.to_json()
    with domus.engine.connect() as connection:
        ids = dict(connection.execute(select(t.cases.c.docket_number, t.cases.c.id)).all())
    routed = {name: ids[f"26H{i}{name}"] for i, name in enumerate(SHOWN)}
    for i, name in enumerate(SHOWN):
        resolve_triage(domus.engine, ids[f"26M{i}"], ANDERLECHT, actor=Actor.operator(),
                       rules=domus.rules, now=NOW, note=name)
    for name, case_id in routed.items():
        record_contact(domus.engine, case_id, channel="phone", result="not_reached",
                       at=NOW - timedelta(days=1), note=name, actor=Actor.operator(), now=NOW)
    add_person(domus, email=MALLORY[0], name=MALLORY[1], role="caseworker", ocmw=SCHAERBEEK)
    return World(domus, routed, ingested)


# -- reading pages ---------------------------------------------------------------------------
class _Tags(HTMLParser):
    """Every element of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str, where: str) -> None:
    """No markup from the data: no inline script, no event handler, no raw payload."""
    for raw in RAW_MARKUP:
        assert raw not in html, (where, raw)
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not (tag == "script" and not attrs.get("src")), (where, tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (where, tag, attrs)
        assert tag != "img" or attrs.get("src") != "x", (where, tag, attrs)


def assert_shown(html: str, names: tuple[str, ...], where: str) -> None:
    """Each name is on the page, escaped (which proves it is shown, and shown as text)."""
    for name in names:
        assert str(escape(name)) in html, (where, name)
    if TEMPLATE in names:
        assert TEMPLATE in html and "26H849" not in html, where  # never evaluated


def page(browser: Browser, path: str, **params: str) -> str:
    answer = browser.get(path, params=params)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[-2000:])
    assert answer.headers["content-type"].startswith("text/html"), path
    assert_inert(answer.text, path)
    return answer.text


# -- the web pages ---------------------------------------------------------------------------
def test_the_case_pages_show_every_field_as_text(world: World) -> None:
    alice = logged_in(world.domus, "caseworker")
    for i, (name, case_id) in enumerate(world.routed.items()):
        html = page(alice, f"/cases/{case_id}")
        assert_shown(html, (name,), f"case page of {name!r}")
        shown = escape(name)
        assert f"<dd>{escape(f'26H{i}{name}')}</dd>" in html, name  # the docket
        assert f"<dd>{shown}</dd>" in html, name  # the court
        assert f'<div class="meta">{shown}</div>' in html, name  # the contact's note
        assert html.count(str(shown)) >= 6, name  # and the name, first name and street


def test_the_case_list_search_and_my_tasks_show_names_as_text(world: World) -> None:
    alice = logged_in(world.domus, "caseworker")
    assert_shown(page(alice, "/cases"), SHOWN, "/cases")
    for name in SHOWN:
        html = page(alice, "/cases", q=name)  # also in the search box's value="…"
        assert f'value="{escape(name)}"' in html, name
        assert_shown(html, (name,), f"/cases?q={name!r}")
    assert_shown(page(alice, "/tasks"), SHOWN, "/tasks")


def test_the_team_page_shows_tenants_and_caseworkers_as_text(world: World) -> None:
    bob = logged_in(world.domus, "team_lead")
    html = page(bob, "/team")
    assert_shown(html, (MALLORY[1],), "/team")
    assert_shown(page(bob, "/team", assignee=PEOPLE["caseworker"][0]), SHOWN, "/team?assignee")
    page(bob, "/tasks")


def test_the_import_quarantine_and_triage_pages_show_names_as_text(world: World) -> None:
    carol = logged_in(world.domus, "administrator")
    file_label = world.ingested.name
    html = page(carol, "/import/quarantine")
    assert str(escape(file_label)) in html
    for name in HOSTILE_NAMES:  # the reason names the value: “<script>…” is not a date
        if name not in REFUSED:
            assert str(escape(name.strip())) in html, name
    with world.domus.engine.connect() as connection:
        entries = connection.execute(select(t.quarantine.c.id, t.receipts.c.raw).join(
            t.receipts, t.receipts.c.id == t.quarantine.c.receipt_id)).all()
    assert len(entries) == len(HOSTILE_NAMES)
    for entry, raw in entries:  # the record as received, the form's values, the reasons
        html = page(carol, f"/import/quarantine/{entry}")
        assert str(escape(file_label)) in html and str(escape(raw)) in html, raw
        name = json.loads(raw)["tenant"]["last_name"]
        if name not in REFUSED:  # the form, to correct the record, holds it as typed
            assert f'value="{escape(name)}"' in html, repr(name)
    html = page(carol, "/import/triage")
    assert_shown(html, SHOWN, "/import/triage")
    page(carol, "/import")


def test_the_monitoring_page_and_chart_show_communes_as_text(world: World) -> None:
    mona = logged_in(world.domus, "monitor")
    html = page(mona, "/monitoring", by="commune", min_cell="1")
    assert_shown(html, SHOWN, "/monitoring")
    chart = mona.get("/monitoring/chart.svg", params={"by": "commune", "min_cell": "1"})
    assert chart.status_code == 200, chart.text[-2000:]
    svg = ElementTree.fromstring(chart.content)  # well-formed: the labels did not break it
    assert not [e for e in svg.iter() if e.tag.rsplit("}", 1)[-1] == "script"]
    assert not [e for e in svg.iter() for a in e.attrib if a.lower().startswith("on")]
    labels = "".join(svg.itertext())
    for name in ("<script>alert(1)</script>", TEMPLATE, MATHTEXT):
        assert name in labels, name  # as text


# -- JSON --------------------------------------------------------------------------------------
def test_the_api_and_the_audit_export_carry_names_as_json_data(world: World) -> None:
    domus = world.domus
    token = issue_token(domus.engine, PEOPLE["caseworker"][0], kind="api", now=NOW)
    client = logged_in(domus, "administrator").client
    for name, case_id in world.routed.items():
        answer = client.get(f"/api/cases/{case_id}",
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        case = answer.json()
        assert case["tenant"]["last_name"] == case["tenant"]["first_name"] == name
        assert case["dwelling"]["street"] == case["court"] == name
        export = client.get(f"/cases/{case_id}/audit.json")
        assert export.status_code == 200, export.text
        assert export.headers["content-type"] == "application/json"
        assert export.headers["x-content-type-options"] == "nosniff"
        assert export.headers["content-disposition"].startswith("attachment")
        notes = [entry["after"].get("note") for entry in export.json()["entries"]
                 if entry["action"] == "contact"]
        assert notes == [name]  # the contact's note, as data


# -- letters -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tenant_invitation", "landlord_mediation"])
def test_letters_carry_names_as_text_in_well_formed_xml(world: World, kind: str) -> None:
    domus = world.domus
    for name in SHOWN:
        made = make_letter(domus.engine, world.routed[name], kind, "fr",
                           actor=Actor.operator(), data_dir=domus.settings.data_dir,
                           profiles=domus.profiles, calendar=domus.rules.calendar, now=NOW)
        data = Path(made["path"]).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read("word/document.xml")
        root = ElementTree.fromstring(xml)  # well-formed
        text = "".join(root.itertext())
        letter = docx.Document(io.BytesIO(data))
        paragraphs = "\n".join(p.text for p in letter.paragraphs)
        line = name.replace("\r\n", "\n").split("\n")[0]  # a break may become a <w:br/>
        assert line in text and line in paragraphs, (kind, name)
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert not tags & {"script", "img"}, (kind, name)  # no element came from the data
        if name == "<script>alert(1)</script>":
            assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in xml, kind


# -- e-mail ------------------------------------------------------------------------------------
def test_mails_are_plain_text_and_a_line_break_in_a_name_adds_no_header(world: World) -> None:
    domus = world.domus
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, NOW)
        record_digests(connection, domus.rules, NOW)
    with SmtpServer() as server:
        report = deliver_outbox(domus.engine, domus.rules, Delivery(
            server.url, "domus@ocmw-schaerbeek.be", "https://domus.example", attempts=1,
            backoff_seconds=0.0), now=NOW)
        messages = list(server.messages)
    assert report.failed == 0 and report.sent == len(messages) > 0, report
    with domus.engine.connect() as connection:
        statuses = connection.scalars(select(t.outbox.c.status)).all()
    assert set(statuses) <= {"sent", "held"}, statuses  # none stuck behind a name
    kinds = {m.get_content_type() for m in messages}
    assert kinds == {"text/plain"}  # no HTML part that could carry markup
    for message in messages:  # exactly the headers Domus writes, each once
        assert not message.is_multipart()
        assert sorted(message.keys()) == HEADERS, message.keys()
    subjects = [str(m["Subject"]) for m in messages]
    assert not [s for s in subjects if "\n" in s or "\r" in s]
    flat = HEADER_INJECTION.replace("\r\n", " ")
    assert any(flat in s for s in subjects), subjects  # the name, on one line
    bodies = "\n".join(m.get_content() for m in messages)
    assert flat in bodies and "\nBcc:" not in bodies and "\nEND:VEVENT" not in bodies
    for name in ("<script>alert(1)</script>", TEMPLATE, "{% raw %}", "Tom & Jerry", MATHTEXT):
        assert name in bodies, name  # literally: the mails are text, never evaluated
    assert "&lt;" not in bodies and "&amp;" not in bodies
    digests = [m.get_content() for m in messages if str(m["Subject"]).startswith(
        "Uw taken voor")]  # the daily digest lists each task's tenant too
    assert digests and "<script>alert(1)</script>" in digests[0] and flat in digests[0]


# -- calendar ----------------------------------------------------------------------------------
def test_the_calendar_feed_keeps_its_structure_whatever_the_names(world: World) -> None:
    domus = world.domus
    token = issue_token(domus.engine, PEOPLE["team_lead"][0], kind="calendar", now=NOW)
    browser = logged_in(domus, "team_lead")
    answer = browser.client.get(f"/calendar/{token}.ics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    lines = answer.content.decode().split("\r\n")
    assert not [line for line in lines if line in ("SUMMARY:injected", "END:VEVENT\n")]
    calendar = Calendar.from_ical(answer.content)
    events = calendar.walk("VEVENT")
    begins = sum(1 for line in lines if line == "BEGIN:VEVENT")
    assert len(events) == begins == len({str(e["UID"]) for e in events})
    assert not [e for e in events if str(e.get("SUMMARY")) == "injected"]
    texts = "\n".join(str(e.get("SUMMARY", "")) + "\n" + str(e.get("DESCRIPTION", ""))
                      for e in events)
    for name in SHOWN:
        assert name.replace("\r\n", "\n").replace("\r", "\n") in texts.replace("\r", ""), name
    with domus.engine.connect() as connection:  # the feed's events, no more, no fewer
        tasks = connection.scalars(select(t.tasks.c.id).join(
            t.cases, t.cases.c.id == t.tasks.c.case_id).where(
            t.cases.c.ocmw == SCHAERBEEK)).all()
    assert {str(e["UID"]) for e in events} == (
        {f"task-{task}@domus" for task in tasks}
        | {f"hearing-{case}@domus" for case in world.routed.values()})
