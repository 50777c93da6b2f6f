"""Each role's main journey in Debian's Chromium (issue 6, "Done means"); the screenshots
land in docs/screenshots/. The harness is in tests/browser/conftest.py."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from services.users import set_language
from store import tables as t
from tests.browser.conftest import DIRK, DIRKS_CASE, TABLET, Server
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


# -- helpers ---------------------------------------------------------------------------------
#: every form field, image and heading a screen reader needs, as the browser sees them
A11Y_PROBLEMS = """() => {
  const problems = [];
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden") continue;
    const named = (field.labels && field.labels.length > 0) || field.getAttribute("aria-label")
      || field.getAttribute("aria-labelledby");
    if (!named) problems.push("no accessible name: " + field.outerHTML.slice(0, 120));
  }
  for (const image of document.querySelectorAll("img:not([alt])")) {
    problems.push("image without alt: " + image.outerHTML.slice(0, 120));
  }
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(h1 + " h1 elements");
  const lang = document.documentElement.getAttribute("lang");
  if (lang !== "nl" && lang !== "fr") problems.push("html lang is " + lang);
  return problems;
}"""


def assert_accessible(page: Any) -> None:
    """Journey 5: named fields, images with alt text, one h1, html[lang] nl or fr."""
    problems = page.evaluate(A11Y_PROBLEMS)
    assert problems == [], f"{page.url}: {problems}"


def case_row(server: Server, docket: str) -> Any:
    with server.domus.engine.connect() as connection:
        return connection.execute(select(t.cases).where(
            t.cases.c.docket_number == docket)).first()


def tasks_of(server: Server, case_id: str) -> dict[str, tuple[str, str | None]]:
    """kind → (status, assignee) of the case's tasks."""
    with server.domus.engine.connect() as connection:
        rows = connection.execute(select(t.tasks.c.kind, t.tasks.c.status, t.tasks.c.assignee)
                                  .where(t.tasks.c.case_id == case_id)).all()
    return {row.kind: (row.status, row.assignee) for row in rows}


def docx_text(path: Path) -> str:
    """The words of a .docx (a zip with word/document.xml), without the XML."""
    with zipfile.ZipFile(path) as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", "", xml)


# -- 1. the caseworker -----------------------------------------------------------------------
def test_a_caseworker_records_a_home_visit_in_two_taps_and_downloads_the_invitation(
        page_as: Any, server: Server, shot: Any) -> None:
    page = page_as("caseworker")
    week = page.locator("section#week")
    row = week.locator("tr", has_text="Peeters")
    assert "Eerste contactpoging" in row.inner_text()  # received 4 Nov: due Thursday 12
    with page.expect_navigation():
        row.get_by_role("link", name="Peeters, Jan").click()
    case = case_row(server, "26A102")
    assert page.url == server(f"/cases/{case.id}")
    assert page.locator("h1").inner_text() == "Peeters, Jan"

    page.get_by_text("Contact noteren", exact=True).click()  # 1: open "Record a contact"
    with page.expect_navigation():
        page.get_by_role("button", name="Huisbezoek — bereikt").click()  # 2: what happened
    assert page.get_by_role("status").inner_text() == "Het contact is genoteerd."
    assert "huisbezoek: bereikt" in page.locator("section#timeline").inner_text()
    assert "Alice" in page.locator("section#contacts tbody").inner_text()
    finished = page.locator("section#tasks details")
    finished.locator("summary").click()
    assert "Huisbezoek" in finished.inner_text()
    assert "Huisbezoek" not in page.locator("section#tasks table").inner_text()
    tasks = tasks_of(server, case.id)
    assert tasks["home_visit"][0] == "done" and tasks["first_contact"][0] == "done"
    with server.domus.engine.connect() as connection:
        contacts = connection.execute(select(t.contacts).where(
            t.contacts.c.case_id == case.id)).all()
    assert [(c.channel, c.result, c.recorded_by) for c in contacts] == [
        ("home_visit", "reached", "alice@schaerbeek.be")]

    page.get_by_label("Brief", exact=True).select_option(label="Uitnodiging aan de huurder")
    with page.expect_navigation():
        page.get_by_role("button", name="Brief maken").click()
    assert page.get_by_role("status").inner_text().startswith("De brief is gemaakt")
    link = page.locator("section#letters").get_by_role(
        "link", name="Uitnodiging aan de huurder (Nederlands)")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".docx")
    letter = Path(download.path())
    assert zipfile.is_zipfile(letter) and "Peeters" in docx_text(letter)
    assert tasks_of(server, case.id)["invitation_letter"][0] == "done"
    with server.domus.engine.connect() as connection:
        letters = connection.execute(select(t.letters.c.kind, t.letters.c.language).where(
            t.letters.c.case_id == case.id)).all()
    assert [tuple(row) for row in letters] == [("tenant_invitation", "nl")]

    assert_accessible(page)
    page.get_by_text("Contact noteren", exact=True).click()  # the buttons, for the picture
    assert page.get_by_role("button", name="Huisbezoek — bereikt").is_visible()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "case.png", full_page=True)
    page.set_viewport_size(TABLET)
    no_sideways_scroll = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert no_sideways_scroll, "the case page scrolls sideways on a 768px tablet"
    shot(page, "case-tablet.png")


# -- 2. the administrator --------------------------------------------------------------------
HEADER = ("kind;court;docket_number;received_on;filed_on;hearing_at;tenant_first_name;"
          "tenant_last_name;tenant_language;dwelling_street;dwelling_number;dwelling_postcode;"
          "dwelling_municipality;arrears_eur\r\n")
ROWS = (
    "petition;Vredegerecht Schaarbeek;26A301;05/11/2026;30/10/2026;14/12/2026 09:30;Fatima;"
    "Ouali;fr;Rue Josaphat;20;1030;Schaerbeek;1.250,00\r\n",
    "petition;Vredegerecht Schaarbeek;26A302;05/11/2026;30/10/2026;binnenkort;Koen;"
    "Willems;nl;Rue Royale;9;1030;Schaerbeek;\r\n",  # no hearing date
    "petition;Vredegerecht Schaarbeek;26A303;31/11/2026;30/10/2026;15/12/2026 09:30;"
    "Ana;Costa;fr;Rue Royale;11;1030;Schaerbeek;\r\n",  # no 31 November
    "petition;Vredegerecht Schaarbeek;26A304;06/11/2026;02/11/2026;15/12/2026 10:00;Tom;"
    "Jacobs;nl;Rue Gallait;7;1030;Schaerbeek;\r\n",
)


def test_an_administrator_imports_a_file_and_corrects_a_quarantined_row(
        page_as: Any, server: Server, shot: Any) -> None:
    page = page_as("administrator")
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role("link", name="Import").click()
    page.get_by_label("Bestand", exact=True).set_input_files(files=[{
        "name": "Dossiers november.csv", "mimeType": "text/csv",
        "buffer": (HEADER + "".join(ROWS)).encode("cp1252")}])
    with page.expect_navigation():
        page.get_by_role("button", name="Import", exact=True).click()
    assert "/import/batches/" in page.url
    assert page.locator("h1").inner_text().startswith("Import van")
    counts = dict(zip(page.locator("dl.summary-counts dt").all_inner_texts(),
                      page.locator("dl.summary-counts dd").all_inner_texts(), strict=True))
    assert counts["Ontvangen"] == "4" and counts["Nieuw"] == "2"
    assert counts["In quarantaine"] == "2"
    quarantined = page.locator("section#quarantined tbody tr")
    assert quarantined.count() == 2
    assert "hearing_at" in quarantined.nth(0).inner_text()
    assert "received_on" in quarantined.nth(1).inner_text()
    assert "regel 3" in quarantined.nth(0).inner_text()  # the header is line 1
    assert case_row(server, "26A301") is not None and case_row(server, "26A302") is None
    assert_accessible(page)
    shot(page, "import-summary.png", full_page=True)

    with page.expect_navigation():
        quarantined.nth(0).get_by_role("link", name="Nakijken").click()
    assert "binnenkort" in page.locator("pre.raw").inner_text()  # as received
    hearing = page.get_by_label("Zitting (datum en uur)")
    assert hearing.get_attribute("aria-invalid") == "true"
    hearing.fill("14/12/2026 10:30")
    assert_accessible(page)
    notice = page.locator("#g-notice").bounding_box()  # down to the corrected field's group
    page.set_viewport_size({"width": 1280, "height": int(notice["y"] + notice["height"] + 8)})
    shot(page, "quarantine-fix.png")
    with page.expect_navigation():
        page.get_by_role("button", name="Verbeterd record importeren").click()
    assert page.get_by_role("status").inner_text().startswith(
        "Het verbeterde record werd aanvaard.")
    case = case_row(server, "26A302")
    assert case is not None and case.ocmw == "21015"
    assert case.hearing_at == datetime(2026, 12, 14, 10, 30)
    with page.expect_navigation():
        page.get_by_role("link", name="Dossier openen").click()
    assert page.url == server(f"/cases/{case.id}")
    assert page.locator("h1").inner_text() == "Willems, Koen"

    with page.expect_navigation() as back:  # the import is listed among the recent ones
        page.get_by_role("navigation").get_by_role("link", name="Import").click()
    assert back.value.status == 200, "the Import page fails once a correction is imported"
    assert page.locator("h1").inner_text() == "Import"
    assert "Dossiers_november.csv" in page.locator("table.batches").inner_text()


# -- 3. the team lead ------------------------------------------------------------------------
def test_a_team_lead_hands_an_overdue_task_to_another_caseworker(
        page_as: Any, server: Server, shot: Any) -> None:
    page = page_as("team_lead")
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role("link", name="Team").click()
    row = (page.locator("section#overdue tbody tr", has_text=DIRKS_CASE)
           .filter(has_text="Eerste contactpoging"))
    assert row.count() == 1
    assert row.locator("td.assignee").inner_text() == "Dirk"
    row.get_by_label("Toewijzen aan").select_option(label="Alice")
    with page.expect_navigation():
        row.get_by_role("button", name=f"Toewijzen: Eerste contactpoging, {DIRKS_CASE}").click()
    assert page.get_by_role("status").inner_text() == "De taak is nu van Alice."
    case = case_row(server, DIRKS_CASE)
    tasks = tasks_of(server, case.id)
    assert tasks["first_contact"] == ("open", "alice@schaerbeek.be")
    assert tasks["invitation_letter"] == ("open", DIRK)  # only that task moved
    moved = (page.locator("section#overdue tbody tr", has_text=DIRKS_CASE)
             .filter(has_text="Eerste contactpoging"))
    assert moved.locator("td.assignee").inner_text() == "Alice"
    assert_accessible(page)
    shot(page, "team.png", full_page=True)


# -- 4. the monitor --------------------------------------------------------------------------
def test_a_monitor_sees_figures_per_ocmw_and_downloads_them_without_any_name(
        page_as: Any, server: Server, shot: Any) -> None:
    page = page_as("monitor")
    assert page.url == server("/monitoring")
    page.get_by_label("Indelen per").select_option(label="OCMW")
    page.get_by_label("Kleinste getoonde aantal").fill("1")
    with page.expect_navigation():
        page.get_by_role("button", name="Tonen").click()
    assert "by=ocmw" in page.url and "min_cell=1" in page.url
    table = page.locator("section#figures table")
    groups = table.locator("tbody th[scope=row]").all_inner_texts()
    assert any(text.startswith("Anderlecht") for text in groups)
    assert any(text.startswith("Elsene") for text in groups)
    assert groups[-1] == "Totaal"
    anderlecht = table.locator("tbody tr", has_text="Anderlecht")
    cells = anderlecht.locator("td").all_inner_texts()
    assert cells[:4] == ["4", "1", "2", "2"]  # cases, pending, with contact, solved
    assert cells[4].startswith("100")  # both solved with contact
    assert "<" not in table.inner_text() and "x" not in table.locator("td").all_inner_texts()
    fits = page.evaluate("(s => s.scrollWidth <= s.clientWidth)"
                         "(document.querySelector('#figures .scroll'))")
    assert fits, "the figures scroll sideways on a 1280px laptop"

    page.locator("figure.chart img").first.scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('figure.chart img')]"
                           ".every(img => img.complete)")
    widths = page.eval_on_selector_all("figure.chart img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 2 and all(width > 0 for width in widths), widths

    with page.expect_download() as csv_info:
        page.get_by_role("link", name="CSV-bestand (Excel, puntkomma's)").click()
    csv_text = Path(csv_info.value.path()).read_text(encoding="utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0].startswith("key;cases;pending;with_contact")
    assert lines[1].startswith("21001;4;")
    with page.expect_download() as xlsx_info:
        page.get_by_role("link", name="Excel-werkmap").click()
    assert xlsx_info.value.suggested_filename == "domus-stats-ocmw.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(Path(xlsx_info.value.path()).read_bytes()))
    sheet = workbook.worksheets[0]
    keys = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert any("Anderlecht" in str(key) or key == "21001" for key in keys), keys

    with server.domus.engine.connect() as connection:
        names = {name for row in connection.execute(select(
            t.cases.c.tenant_last_name, t.cases.c.tenant_first_name)) for name in row if name}
    seen = page.content() + csv_text + " ".join(
        str(cell) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True)
        for cell in row if cell is not None)
    assert names and not [name for name in names if re.search(rf"\b{name}\b", seen)]
    assert_accessible(page)
    shot(page, "monitoring.png", full_page=True)


# -- 5. accessibility of the other screenshot pages ------------------------------------------
def test_the_log_in_and_task_pages_name_every_field_and_have_one_h1(page_as: Any) -> None:
    guest = page_as(None)
    guest.goto("/login")
    assert_accessible(guest)
    for role, path in (("caseworker", "/tasks"), ("administrator", "/import"),
                       ("administrator", "/import/quarantine")):
        page = page_as(role)
        assert page.goto(path).status == 200, path
        assert_accessible(page)
