"""Import, for administrators: a file with bad rows is kept as it came, its summary shows
the quarantined rows, one is corrected and becomes a case; a notice encoded by hand; the
triage queue; nobody else reaches these pages. One test runs the real intake flow.

Uploads are ingested by `app.state.intake_runs`; apart from the flow test, the tests give
the app the synchronous runner (`ingest_directly`, the same `ingest_source` the flow's task
calls) so they need no Prefect server.
"""

from __future__ import annotations

import re
import time
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domus.bootstrap import Domus
from services.users import add_user
from services.web_import import IntakeRuns
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest
from tests.web_support import ANDERLECHT, CSRF, PASSWORD, Browser, add_people, logged_in
from web.app import create_app
from web.pages_import import ingest_directly

HEADER = ("kind;court;docket_number;received_on;filed_on;hearing_at;tenant_first_name;"
          "tenant_last_name;tenant_language;dwelling_street;dwelling_number;dwelling_postcode;"
          "dwelling_municipality;arrears_eur\r\n")
GOOD = ("petition;Vredegerecht Schaarbeek;26A1;02/11/2026;27/10/2026;10/12/2026 09:30;Amina;"
        "El Idrissi;fr;Rue Josaphat;112;1030;Schaerbeek;2.900,50\r\n")
NO_HEARING_DATE = ("petition;Vredegerecht Schaarbeek;26A2;02/11/2026;27/10/2026;bientôt;Jan;"
                   "Peeters;nl;Rue Royale;5;1030;Schaerbeek;\r\n")
NO_SUCH_DAY = ("petition;Vredegerecht Schaarbeek;26A3;31/11/2026;27/10/2026;11/12/2026 09:30;"
               "Marie;Dubois;fr;Rue Royale;7;1030;Schaerbeek;\r\n")
ALSO_GOOD = ("petition;Vredegerecht Schaarbeek;26A4;03/11/2026;28/10/2026;11/12/2026 10:00;Luc;"
             "Martin;fr;Rue Gallait;3;1030;Schaerbeek;\r\n")
#: as Excel saves it in Belgium: Windows-1252, semicolons
EXCEL_CSV = (HEADER + GOOD + NO_HEARING_DATE + NO_SUCH_DAY + ALSO_GOOD).encode("cp1252")


def app_for(domus: Domus, *, flow: bool = False) -> TestClient:
    app = create_app(domus, clock=lambda: NOW)
    if not flow:
        app.state.intake_runs = IntakeRuns(partial(ingest_directly, domus), background=False)
    return TestClient(app)


def browser(domus: Domus, role: str = "administrator", *, flow: bool = False) -> Browser:
    return logged_in(domus, role, client=app_for(domus, flow=flow))


def anderlecht_admin(domus: Domus) -> Browser:
    """Dave, the administrator of another OCMW (Anderlecht)."""
    add_user(domus.engine, email="dave@anderlecht.be", name="Dave", role="administrator",
             ocmw=ANDERLECHT, language="nl", password=PASSWORD, now=NOW, rules=domus.rules)
    dave = Browser(app_for(domus))
    dave.get("/login")
    answer = dave.client.post("/login", data={"email": "dave@anderlecht.be",
                                              "password": PASSWORD, "csrf_token": dave.csrf,
                                              "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303
    dave.get("/account")
    return dave


def upload(who: Browser, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return who.post("/import", files={"file": (name, data, "text/csv")})


class FormReader(HTMLParser):
    """What a browser sends for a form: every input's value and each select's choice."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") and found.get("type") != "file":
            self.values[found["name"] or ""] = found.get("value") or ""
        elif tag == "select":
            self._select = found.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in found:
            self.values[self._select] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_of(page: str, action: str) -> dict[str, str]:
    start = page.index(f'action="{action}"')
    reader = FormReader()
    reader.feed(page[start:page.index("</form>", start)])
    return {k: v for k, v in reader.values.items() if k != "csrf_token"}


def open_entries(domus: Domus) -> list[int]:
    with domus.engine.connect() as connection:
        return list(connection.scalars(select(t.quarantine.c.id).where(
            t.quarantine.c.resolved_at.is_(None)).order_by(t.quarantine.c.id)))


def case_of(domus: Domus, docket: str):  # type: ignore[no-untyped-def]
    with domus.engine.connect() as connection:
        return connection.execute(select(t.cases).where(
            t.cases.c.docket_number == docket)).first()


def test_an_uploaded_file_is_kept_as_it_came_and_its_bad_rows_are_listed(
        domus: Domus) -> None:
    add_people(domus, language="fr")
    carol = browser(domus)
    answer = upload(carol, "Dossiers novembre.csv", EXCEL_CSV)
    assert answer.status_code == 303
    ref = answer.headers["location"].removeprefix("/import/batches/")
    assert ref.endswith("-Dossiers_novembre.csv")
    kept = domus.settings.data_dir / "incoming" / ref
    assert kept.read_bytes() == EXCEL_CSV  # byte for byte, in Windows-1252

    page = carol.get(f"/import/batches/{ref}").text
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)", page))
    assert counts["Reçus"] == "4" and counts["Créés"] == "2" and counts["En quarantaine"] == "2"
    rows = page.split('id="quarantined"')[1]
    assert re.search(r">2 <span class=\"meta\">\(ligne 3\)</span>.*?<code>hearing_at</code>",
                     rows, re.S)
    assert re.search(r">3 <span class=\"meta\">\(ligne 4\)</span>.*?<code>received_on</code>",
                     rows, re.S)
    assert "31/11/2026" in rows  # the reason names the wrong value
    assert rows.count('href="/import/quarantine/') == 2
    assert f'<a href="/import/batches/{ref}">' in carol.get("/import").text


def test_a_quarantined_row_is_corrected_and_becomes_a_case(domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)
    ref = upload(carol, "novembre.csv", EXCEL_CSV).headers["location"]
    review = re.search(r'href="(/import/quarantine/(\d+))"', carol.get(ref).text)
    assert review is not None
    path, entry_id = review.group(1), int(review.group(2))

    page = carol.get(path).text
    assert "bientôt" in page  # the raw text as received
    assert re.search(r'class="field invalid"[^>]*>\s*<label for="f-hearing_at"', page)
    form = form_of(page, path)
    assert form["tenant.last_name"] == "Peeters" and form["dwelling.postcode"] == "1030"
    assert form["kind"] == "petition" and form["hearing_at"] == "bientôt"

    unchanged = carol.post(path, form)
    assert unchanged.status_code == 422 and "Er werd niets gewijzigd" in unchanged.text
    done = carol.post(path, form | {"hearing_at": "10/12/2026 09:30"})

    assert done.status_code == 303
    case = case_of(domus, "26A2")
    assert case is not None and case.ocmw == "21015"
    assert done.headers["location"] == (f"/import/quarantine?fixed={entry_id}"
                                        f"&outcome=created&case={case.id}")
    queue = carol.get(done.headers["location"]).text
    assert f'href="/cases/{case.id}"' in queue
    assert entry_id not in open_entries(domus) and len(open_entries(domus)) == 1
    with domus.engine.connect() as connection:
        audit = connection.execute(select(t.audit_log.c.action, t.audit_log.c.actor).where(
            t.audit_log.c.case_id == case.id)).all()
    assert ("quarantine_fix", "carol@schaerbeek.be") in audit


def test_a_correction_that_is_still_wrong_shows_the_form_again_with_the_new_reason(
        domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)
    carol.post("/import", files={"file": ("n.csv", EXCEL_CSV, "text/csv")})
    first = open_entries(domus)[0]
    form = form_of(carol.get(f"/import/quarantine/{first}").text, f"/import/quarantine/{first}")

    answer = carol.post(f"/import/quarantine/{first}", form | {"hearing_at": "31/12/2026 25:00"})

    assert answer.status_code == 303
    again = carol.get(answer.headers["location"])
    assert "is nog altijd geen geldige melding" in again.text
    assert "31/12/2026 25:00" in again.text and 'id="e-f-hearing_at"' in again.text
    assert first not in open_entries(domus) and len(open_entries(domus)) == 2
    assert case_of(domus, "26A2") is None


def test_another_ocmws_administrator_fixing_a_record_gets_no_link_to_the_case(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    # imported by the operator from the command line: every administrator reviews it
    ingest(domus, tmp_path / "n.jsonl", [petition("26A2", hearing_at="bientôt")])
    dave = anderlecht_admin(domus)
    first = open_entries(domus)[0]
    form = form_of(dave.get(f"/import/quarantine/{first}").text, f"/import/quarantine/{first}")

    done = dave.post(f"/import/quarantine/{first}", form | {"hearing_at": "10/12/2026 09:30"})

    case = case_of(domus, "26A2")
    assert done.status_code == 303 and case.ocmw == "21015"
    assert "/cases/" not in dave.get(done.headers["location"]).text


NOTICE = {
    "kind": "petition", "court": "Vredegerecht Schaarbeek", "docket_number": "26B7",
    "received_on": "2026-11-20", "filed_on": "2026-11-16", "hearing_at": "2026-12-17T09:30",
    "tenant.first_name": "Sofia", "tenant.last_name": "Costa", "tenant.language": "fr",
    "dwelling.street": "Avenue Rogier", "dwelling.number": "40", "dwelling.postcode": "1030",
    "dwelling.municipality": "Schaerbeek", "landlord.name": "Immo Rogier",
    "landlord.kind": "private", "arrears_eur": "1800", "monthly_rent_eur": "650",
    "served_on": "", "judgment_on": "", "notified_on": "", "eviction_at": "",
    "moratorium_lifted": "",
}


def incoming(domus: Domus) -> list[Path]:
    return sorted((domus.settings.data_dir / "incoming").glob("notice-*.json"))


def test_a_notice_encoded_by_hand_opens_its_case(domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)
    page = carol.get("/import/notice").text
    assert 'name="received_on" type="date" value="2026-11-23"' in page

    answer = carol.post("/import/notice", NOTICE)

    case = case_of(domus, "26B7")
    assert answer.status_code == 303 and case is not None and case.ocmw == "21015"
    assert answer.headers["location"] == f"/import/notice?done=created&case={case.id}"
    assert f'href="/cases/{case.id}"' in carol.get(answer.headers["location"]).text
    [kept] = incoming(domus)
    assert '"last_name": "Costa"' in kept.read_text(encoding="utf-8")
    again = carol.post("/import/notice", NOTICE)
    assert again.headers["location"].startswith("/import/notice?done=duplicate")


def test_a_bad_notice_shows_each_error_by_its_field_and_is_kept_in_quarantine(
        domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)

    answer = carol.post("/import/notice",
                        NOTICE | {"tenant.last_name": "", "received_on": "2026-02-30"})

    assert answer.status_code == 422
    assert "verplicht" in error_next_to(answer.text, "tenant-last_name")
    assert "2026-02-30" in error_next_to(answer.text, "received_on")
    assert 'value="Sofia"' in answer.text  # what was typed stays in the form
    [entry] = open_entries(domus)
    assert f'name="entry" value="{entry}"' in answer.text
    assert len(incoming(domus)) == 1 and case_of(domus, "26B7") is None

    still = carol.post("/import/notice", NOTICE | {"entry": str(entry), "hearing_at": ""})
    assert still.status_code == 422
    assert "verplicht voor deze soort melding" in error_next_to(still.text, "hearing_at")
    [successor] = open_entries(domus)
    assert successor != entry and f'name="entry" value="{successor}"' in still.text

    fixed = carol.post("/import/notice", NOTICE | {"entry": str(successor)})

    assert fixed.status_code == 303 and case_of(domus, "26B7") is not None
    assert open_entries(domus) == []  # the kept entries are resolved by the corrections


def error_next_to(page: str, field: str) -> str:
    return page.split(f'id="e-f-{field}"')[1].split("</p>")[0]


def test_a_triage_case_is_routed_to_the_ocmw_chosen(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [
        petition("26A9", dwelling__postcode="1050", dwelling__municipality="Evere")])
    case = case_of(domus, "26A9")
    assert case.ocmw is None
    carol = browser(domus)
    page = carol.get("/import/triage").text
    assert "26A9" in page and '<option value="21015">Schaarbeek</option>' in page
    assert re.search(r'href="/import/triage">[^<]+</a> <span class="count">1<',
                     carol.get("/import").text)
    refused = carol.post(f"/import/triage/{case.id}", {"ocmw": "99999"})
    assert refused.status_code == 422 and case_of(domus, "26A9").ocmw is None

    answer = carol.post(f"/import/triage/{case.id}", {"ocmw": "21015", "note": "Evere is 1140"})

    assert answer.status_code == 303 and case_of(domus, "26A9").ocmw == "21015"
    after = carol.get(answer.headers["location"]).text
    assert "Schaarbeek" in after and f'href="/cases/{case.id}"' in after
    assert "26A9" not in after
    with domus.engine.connect() as connection:
        resolved = connection.execute(select(t.triage)).one()
    assert resolved.resolved_ocmw == "21015" and resolved.resolution == "Evere is 1140"


def test_another_ocmws_administrator_cannot_route_a_case_that_is_not_in_triage(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    dave = anderlecht_admin(domus)
    routed = case_of(domus, "26A1")

    answer = dave.post(f"/import/triage/{routed.id}", {"ocmw": ANDERLECHT})

    assert answer.status_code == 404 and case_of(domus, "26A1").ocmw == "21015"
    page = dave.get(f"/import/triage?routed={routed.id}&ocmw=21015").text
    assert "/cases/" not in page and "26A1" not in page


ROUTES = [
    ("GET", "/import"), ("POST", "/import"), ("GET", "/import/batches/1"),
    ("POST", "/import/batches/1/run"), ("GET", "/import/quarantine"),
    ("GET", "/import/quarantine/1"), ("POST", "/import/quarantine/1"),
    ("GET", "/import/notice"), ("POST", "/import/notice"), ("GET", "/import/triage"),
    ("POST", "/import/triage/abc"),
]


@pytest.mark.parametrize("role", ["caseworker", "team_lead", "monitor", "elsewhere"])
def test_only_administrators_reach_the_import_pages(domus: Domus, role: str) -> None:
    add_people(domus)
    who = browser(domus, role)
    for method, route in ROUTES:
        answer = who.get(route) if method == "GET" else who.post(route, {"ocmw": "21015"})
        assert answer.status_code == 403, (role, method, route)


def test_without_a_session_the_import_pages_send_to_the_log_in(domus: Domus) -> None:
    client = app_for(domus)
    for method, route in ROUTES:
        answer = client.request(method, route, follow_redirects=False)
        assert answer.status_code == (303 if method == "GET" else 401), (method, route)


def test_a_file_of_an_unknown_kind_or_too_large_is_refused_and_not_kept(domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)
    answer = carol.post("/import", files={"file": ("notices.xlsx", b"PK\x03\x04", "x")})
    assert answer.status_code == 400 and "alleen .csv-, .json- en .jsonl" in answer.text
    huge = carol.client.post("/import", content=b"x" * 10, headers={
        "content-length": str(60 * 1024 * 1024), "content-type": "multipart/form-data"})
    assert huge.status_code == 413 and "50 MB" in huge.text
    assert list((domus.settings.data_dir / "incoming").iterdir()) == []


def test_a_failed_run_shows_its_error_and_the_file_stays(domus: Domus) -> None:
    add_people(domus)
    client = app_for(domus)

    def broken(path: Path, now, owner) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    client.app.state.intake_runs = IntakeRuns(broken, background=False)  # type: ignore[attr-defined]
    carol = logged_in(domus, "administrator", client=client)
    ref = upload(carol, "n.csv", EXCEL_CSV).headers["location"]
    page = carol.get(ref).text
    assert "RuntimeError: the database went away" in page
    assert (domus.settings.data_dir / "incoming" / ref.rsplit("/", 1)[1]).exists()
    # after a restart the error is read from the batches table
    fresh = browser(domus)
    assert "RuntimeError: the database went away" in fresh.get(ref).text
    rerun = fresh.post(f"{ref}/run")
    assert rerun.status_code == 303 and case_of(domus, "26A1") is not None
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)", fresh.get(ref).text))
    assert counts["Ontvangen"] == "4" and counts["In quarantaine"] == "2"


def test_an_uploaded_file_that_is_not_text_says_so_in_one_line_and_stays(domus: Domus) -> None:
    add_people(domus)
    carol = browser(domus)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    ref = upload(carol, "notices.csv", png).headers["location"]
    page = carol.get(ref).text
    name = ref.rsplit("/", 1)[1]
    assert f"{name}: binary data, not text" in page
    assert "UnreadableFile" not in page and str(domus.settings.data_dir) not in page
    assert (domus.settings.data_dir / "incoming" / name).read_bytes() == png  # kept


@pytest.mark.flow
def test_an_upload_runs_the_intake_flow_and_the_page_shows_its_summary(
        domus: Domus, prefect_server: str) -> None:
    add_people(domus, language="fr")
    carol = browser(domus, flow=True)
    answer = upload(carol, "flux.csv", EXCEL_CSV)
    assert answer.status_code == 303
    ref = answer.headers["location"]
    deadline = time.monotonic() + 240
    page = carol.get(ref).text
    while 'data-refresh="2"' in page and time.monotonic() < deadline:
        time.sleep(1)
        page = carol.get(ref).text
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)", page))
    assert counts.get("Reçus") == "4", page
    assert counts["Créés"] == "2" and counts["En quarantaine"] == "2"
    assert case_of(domus, "26A4") is not None
    assert CSRF.search(page)  # a page of the app, with its forms
    kept = str(domus.settings.data_dir.resolve() / "incoming" / ref.rsplit("/", 1)[1])
    assert kept in [run.parameters["paths"][0] for run in intake_flow_runs()]


def intake_flow_runs() -> list:  # type: ignore[type-arg]
    """The intake flow runs the session's Prefect server has seen."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["intake"])))
