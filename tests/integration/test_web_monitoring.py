"""Monitoring: the contact-versus-outcome figures with filters, charts and downloads; a
monitor sees every OCMW, a team lead only theirs, a caseworker nothing, and no answer carries
a name, an address, a docket or a date of birth."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus
from services.contacts import record_contact
from services.monitoring import compute_stats
from services.outcomes import record_outcome
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest
from tests.web_support import ANDERLECHT, PEOPLE, SCHAERBEEK, Browser, add_people, logged_in

ALICE = Actor(PEOPLE["caseworker"][0], "caseworker", SCHAERBEEK)
EVE = Actor(PEOPLE["elsewhere"][0], "caseworker", ANDERLECHT)
#: Schaerbeek: S1–S5 reached by phone 3 working days after receipt, 4 of them solved (two
#: payment plans, two rehoused), S5 evicted; S6 only a letter, kept by an agreement; S7 no
#: contact, evicted; S8 a home visit nobody answered, still pending.
SCHAERBEEK_PLAN = {
    "26M101": ("phone", "reached", "kept_payment_plan"),
    "26M102": ("phone", "reached", "kept_payment_plan"),
    "26M103": ("phone", "reached", "rehoused"),
    "26M104": ("phone", "reached", "rehoused"),
    "26M105": ("phone", "reached", "evicted"),
    "26M106": ("letter", "reached", "kept_agreement"),
    "26M107": (None, None, "evicted"),
    "26M108": ("home_visit", "not_reached", None),
}
#: Anderlecht, received in October: one evicted without contact, two pending.
ANDERLECHT_PLAN = {"26N201": (None, None, "evicted"), "26N202": (None, None, None),
                   "26N203": (None, None, None)}
PERSONAL = ["Zoutekens", "Quirina", "Brabançonne", "Rue Josaphat", "Rue Wayez", "1984-03-02",
            "470 12 34 56", *SCHAERBEEK_PLAN, *ANDERLECHT_PLAN]


def notices() -> list[dict]:  # type: ignore[type-arg]
    tenant = {"first_name": "Quirina", "last_name": "Zoutekens", "language": "nl",
              "birth_date": "1984-03-02", "phone": "+32 470 12 34 56"}
    found = [petition(docket, tenant={**tenant, "last_name": f"Zoutekens {docket}"})
             for docket in SCHAERBEEK_PLAN]
    found += [petition(docket, court="Vredegerecht Anderlecht", received_on="2026-10-05",
                       filed_on="2026-09-28",
                       tenant={**tenant, "first_name": "Brabançonne"},
                       dwelling={"street": "Rue Wayez", "number": "5", "postcode": "1070",
                                 "municipality": "Anderlecht"})
              for docket in ANDERLECHT_PLAN]
    return found


@pytest.fixture
def figures(domus: Domus, tmp_path: Path) -> Domus:
    """The cases above, their contacts and outcomes recorded through the services."""
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", notices())
    with domus.engine.connect() as connection:
        ids = {row.docket_number: row.id for row in connection.execute(
            select(t.cases.c.docket_number, t.cases.c.id))}
    for plan, actor in ((SCHAERBEEK_PLAN, ALICE), (ANDERLECHT_PLAN, EVE)):
        for docket, (channel, result, outcome) in plan.items():
            if channel:
                record_contact(domus.engine, ids[docket], channel=channel, result=result,
                               at=datetime(2026, 11, 5, 10, 0), note=None, actor=actor,
                               now=NOW, calendar=domus.rules.calendar)
            if outcome:
                record_outcome(domus.engine, ids[docket], outcome, on=date(2026, 11, 20),
                               actor=actor, now=NOW)
    return domus


def cells(page: str, row: str) -> list[str]:
    """The cells of the table row whose header starts with `row`, as text."""
    body = page.split('<table class="tasks stats">')[1].split("</table>")[0]
    for tr in body.split("<tr")[1:]:
        header = re.sub(r"<[^>]+>", "", tr.split("</th>")[0].split(">", 1)[1]).strip()
        if header.startswith(row):
            return [" ".join(re.sub(r"<[^>]+>", " ", td).split())
                    for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
    raise AssertionError(f"no row {row!r} in the table")


def test_the_page_shows_the_figures_counted_by_hand(figures: Domus) -> None:
    bob = logged_in(figures, "team_lead")
    page = bob.get("/monitoring?min_cell=1")
    assert page.status_code == 200
    # cases, pending, with contact, solved with, rate with, without contact, solved without,
    # rate without, home visits, median working days to contact
    total = cells(page.text, "Totaal")
    assert total[:4] == ["8", "1", "5", "4"] and total[5:7] == ["2", "1"]
    assert total[4].startswith("80%") and total[7].startswith("50%")
    assert total[8:] == ["1", "3"]
    with figures.engine.connect() as connection:
        document = compute_stats(connection, from_date=None, to_date=None, by=None,
                                 min_cell=1, ocmws=[SCHAERBEEK])["total"]
    assert [document[key] for key in ("cases", "pending", "with_contact",
                                      "solved_with_contact", "without_contact",
                                      "solved_without_contact", "home_visits",
                                      "median_days_to_contact")] == [8, 1, 5, 4, 2, 1, 1, 3]
    lo, hi = document["ci_with_contact"]
    assert f"({round(lo * 100)}%–{round(hi * 100)}%)" in total[4]


def test_small_counts_are_hidden_and_the_legend_says_why(figures: Domus) -> None:
    page = logged_in(figures, "team_lead").get("/monitoring").text
    total = cells(page, "Totaal")
    assert total[0] == "8" and total[1] == "&lt;5" and "—" in total[7]
    assert "Minder dan 5 dossiers: het aantal is verborgen." in page


def test_a_monitor_sees_every_ocmw_and_a_team_lead_only_theirs(figures: Domus) -> None:
    monitor = logged_in(figures, "monitor").get("/monitoring?by=ocmw&min_cell=1").text
    assert cells(monitor, "Anderlecht")[:2] == ["3", "2"]
    assert cells(monitor, "Schaarbeek")[:2] == ["8", "1"]
    assert cells(monitor, "Totaal")[:2] == ["11", "3"]
    assert "Alle OCMW's" in monitor
    lead = logged_in(figures, "team_lead").get("/monitoring?by=ocmw&min_cell=1").text
    assert cells(lead, "Schaarbeek")[:2] == ["8", "1"] and "Anderlecht" not in lead
    assert cells(lead, "Totaal")[:2] == ["8", "1"]


def test_the_filters_choose_the_period_and_the_grouping(figures: Domus) -> None:
    mona = logged_in(figures, "monitor")
    november = mona.get("/monitoring?from=2026-11-01&to=2026-11-30&by=month&min_cell=1").text
    assert cells(november, "2026-11")[0] == "8" and cells(november, "Totaal")[0] == "8"
    assert "2026-10" not in november.split("<tbody>")[1]
    october = mona.get("/monitoring?to=2026-10-31&by=commune&min_cell=1").text
    assert cells(october, "1070 Anderlecht")[0] == "3"
    assert 'id="to" name="to" value="2026-10-31"' in october
    quarters = mona.get("/monitoring?by=quarter&min_cell=1").text
    assert cells(quarters, "2026-Q4")[0] == "11"


def test_a_filter_it_cannot_read_is_named_on_the_page(figures: Domus) -> None:
    mona = logged_in(figures, "monitor")
    page = mona.get("/monitoring?from=1-2-2026&min_cell=0")
    assert page.status_code == 400
    assert "Datum van: geef een datum als JJJJ-MM-DD." in page.text
    assert "Kleinste getoonde aantal: een geheel getal van 1 tot 100." in page.text
    assert mona.get("/monitoring?from=2026-12-01&to=2026-11-01").status_code == 400
    assert mona.get("/monitoring/stats.csv?by=street").status_code == 400


def test_the_csv_download_holds_the_same_figures(figures: Domus) -> None:
    answer = logged_in(figures, "team_lead").get("/monitoring/stats.csv?by=ocmw&min_cell=1")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="domus-stats-ocmw.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert [row["key"] for row in rows] == [SCHAERBEEK, "total"]
    assert (rows[0]["cases"], rows[0]["with_contact"], rows[0]["solved_with_contact"],
            rows[0]["rate_with_contact"]) == ("8", "5", "4", "0,8")


def test_the_workbook_download_has_a_sheet_per_grouping(figures: Domus) -> None:
    answer = logged_in(figures, "monitor").get("/monitoring/stats.xlsx?min_cell=1")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert answer.headers["content-disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["OCMW", "Commune", "Quarter", "Month", "Referrals",
                               "Definitions"]
    by_ocmw = {row[0]: row[1] for row in book["OCMW"].iter_rows(min_row=2, values_only=True)}
    assert by_ocmw == {ANDERLECHT: 3, SCHAERBEEK: 8, "Total": 11}


def test_the_chart_is_an_svg_image_drawn_from_the_same_filters(figures: Domus) -> None:
    mona = logged_in(figures, "monitor")
    page = mona.get("/monitoring?by=ocmw").text
    sources = re.findall(r'<img src="([^"]+)"[^>]* alt="([^"]+)"', page)
    assert len(sources) == 2 and all(alt for _, alt in sources)
    for source, _ in sources:
        answer = mona.get(source.replace("&amp;", "&"))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.content.startswith(b"<?xml") and b"<svg" in answer.content
    rate = mona.get("/monitoring/chart.svg?by=ocmw&chart=rate").text
    assert "Anderlecht" in rate and "Schaarbeek" in rate  # the OCMWs by name
    assert mona.get("/monitoring/chart.svg?chart=pie").status_code == 400


def test_no_monitoring_answer_carries_personal_data(figures: Domus) -> None:
    for role in ("monitor", "team_lead"):
        browser = logged_in(figures, role)
        for answer in answers(browser):
            assert answer.status_code == 200
            text = readable(answer.content)
            assert not [word for word in PERSONAL if word in text], answer.url


def answers(browser: Browser) -> list:  # type: ignore[type-arg]
    found = []
    for by in ("", "ocmw", "commune", "quarter", "month"):
        for min_cell in (1, 5):
            query = f"?by={by}&min_cell={min_cell}"
            found += [browser.get(f"/monitoring{query}"),
                      browser.get(f"/monitoring/chart.svg{query}&chart=rate"),
                      browser.get(f"/monitoring/chart.svg{query}&chart=funnel"),
                      browser.get(f"/monitoring/stats.csv{query}"),
                      browser.get(f"/monitoring/stats.xlsx{query}")]
    return found


def readable(content: bytes) -> str:
    """The text of an answer; a workbook's too (every part of the zip)."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(book.read(name).decode("utf-8") for name in book.namelist())
    return content.decode("utf-8-sig")


def test_a_caseworker_sees_no_statistics(figures: Domus) -> None:
    alice = logged_in(figures, "caseworker")
    for path in ("/monitoring", "/monitoring/chart.svg", "/monitoring/stats.csv",
                 "/monitoring/stats.xlsx"):
        assert alice.get(path).status_code == 403
