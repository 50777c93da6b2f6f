"""Cases and Case: staff find a case by name, docket or street and filter by flag, risk and
status; the case page shows the tenant, legal dates, flags, tasks and timeline, and records a
contact, the outcome, a letter and a reassignment. Another OCMW's case is a 404 everywhere,
a monitor gets no case at all, and every view and change lands in the audit log."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus
from services.outcomes import record_outcome
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest, sweep
from tests.web_support import PEOPLE, add_people, logged_in

ALICE, BOB, CAROL = (PEOPLE[role][0] for role in ("caseworker", "team_lead", "administrator"))
SCRIPT = "<script>alert(1)</script>"


def cases_of(domus: Domus, tmp_path: Path) -> dict[str, str]:
    """Four cases, NOW being Monday 23 November 2026: 26A1 (El Idrissi, hearing 10
    December), 26A2 (Janssens, Rue Gallait, hearing on Thursday, filed too late for it: at
    risk and hearing_too_early), 26A3 (Dubois, closed) and 26B9 in Anderlecht."""
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [
        petition("26A1"),
        petition("26A2", received_on="2026-11-12", filed_on="2026-11-10",
                 hearing_at="2026-11-26T09:00:00", tenant__first_name="Jan",
                 tenant__last_name="Janssens", dwelling__street="Rue Gallait"),
        petition("26A3", hearing_at="2027-01-15T09:00:00", filed_on="2026-10-20",
                 tenant__first_name="Luc", tenant__last_name="Dubois",
                 dwelling__street="Avenue Rogier"),
        petition("26B9", court="Vredegerecht Anderlecht", tenant__last_name="Peeters",
                 dwelling__postcode="1070", dwelling__municipality="Anderlecht"),
    ])
    sweep(domus, NOW)  # 26A2's hearing is within five working days, nobody reached yet
    ids = case_ids(domus)
    record_outcome(domus.engine, ids["26A3"], "evicted", on=None, actor=Actor.operator(),
                   now=NOW)
    return ids


def case_ids(domus: Domus) -> dict[str, str]:
    with domus.engine.connect() as connection:
        return dict(connection.execute(select(t.cases.c.docket_number, t.cases.c.id)).all())


def listed(page: str) -> list[str]:
    """The dockets on a Cases page, in order."""
    rows = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    return [row.split("</td>")[2].split("<td")[1].split(">", 1)[1].split("<")[0]
            for row in rows.split("<tr>")[1:]]


def audit(domus: Domus, case_id: str) -> list[tuple[str, str, str]]:
    with domus.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(  # type: ignore[misc]
            select(t.audit_log.c.actor, t.audit_log.c.action, t.audit_log.c.channel)
            .where(t.audit_log.c.case_id == case_id).order_by(t.audit_log.c.id))]


# -- the list ------------------------------------------------------------------------------
def test_cases_are_listed_nearest_legal_date_first_and_only_the_ocmws_own(
        domus: Domus, tmp_path: Path) -> None:
    cases_of(domus, tmp_path)
    page = logged_in(domus, "caseworker").get("/cases")
    assert page.status_code == 200
    assert listed(page.text) == ["26A2", "26A1", "26A3"]  # 26 Nov, 10 Dec, 15 Jan
    assert "Peeters" not in page.text and "Alice" in page.text
    assert "Zitting 26 nov 2026" in page.text


SEARCHES = [
    ("idrissi", ["26A1"]), ("JANSSENS", ["26A2"]), ("jan", ["26A2"]),
    ("26a3", ["26A3"]), ("gallait", ["26A2"]), ("rue josaphat", ["26A1"]),
    ("amina el", ["26A1"]), ("peeters", []), ("26B9", []), ("%", []),
]
FILTERS = [
    ({"flag": "any"}, ["26A2"]), ({"flag": "hearing_too_early"}, ["26A2"]),
    ({"flag": "at_risk"}, ["26A2"]), ({"flag": "moratorium"}, []),
    ({"at_risk": "1"}, ["26A2"]), ({"status": "closed"}, ["26A3"]),
    ({"status": "open"}, ["26A2", "26A1"]), ({"status": "triage"}, []),
    ({"status": "open", "q": "idrissi"}, ["26A1"]), ({"flag": "bogus"}, ["26A2", "26A1", "26A3"]),
]


def test_the_search_finds_a_case_by_name_docket_or_street(domus: Domus,
                                                          tmp_path: Path) -> None:
    cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    for q, found in SEARCHES:
        page = alice.get("/cases", params={"q": q})
        assert listed(page.text) == found, q
        assert f'value="{q}"' in page.text  # the search box keeps the words


def test_each_filter_narrows_the_list(domus: Domus, tmp_path: Path) -> None:
    cases_of(domus, tmp_path)
    bob = logged_in(domus, "team_lead")
    for filters, found in FILTERS:
        assert listed(bob.get("/cases", params=filters).text) == found, filters
    page = bob.get("/cases", params={"flag": "at_risk", "status": "open"}).text
    assert '<option value="at_risk" selected>' in page and '<option value="open" selected>' in page


def test_flags_in_the_list_say_what_they_mean(domus: Domus, tmp_path: Path) -> None:
    cases_of(domus, tmp_path)
    page = logged_in(domus, "caseworker").get("/cases", params={"q": "26A2"}).text
    assert 'title="De zitting valt minder dan 40 dagen na de neerlegging' in page
    assert ">Zitting te vroeg<" in page and ">In gevaar<" in page


def test_the_list_shows_fifty_cases_a_page(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition(f"27A{n:03}") for n in range(53)])
    alice = logged_in(domus, "caseworker")
    first = alice.get("/cases")
    assert len(listed(first.text)) == 50 and 'rel="next" href="/cases?page=2"' in first.text
    second = alice.get("/cases", params={"page": 2})
    assert len(listed(second.text)) == 3 and "Pagina 2 van 2" in second.text
    assert set(listed(first.text)).isdisjoint(listed(second.text))
    beyond = alice.get("/cases", params={"page": 5}).text
    for page in (first.text, second.text, beyond):
        assert '<span class="count">53</span>' in page
    assert "Geen dossier gevonden." in beyond
    assert alice.get("/cases", params={"page": "zero"}).status_code == 422


def test_a_monitor_gets_no_case_at_all(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    mona = logged_in(domus, "monitor")
    assert mona.get("/cases").status_code == 403
    assert mona.get(f"/cases/{ids['26A1']}").status_code == 403
    assert "El Idrissi" not in mona.get("/cases").text


# -- the case ------------------------------------------------------------------------------
def test_the_case_page_shows_the_tenant_dates_flags_and_tasks(domus: Domus,
                                                               tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    page = logged_in(domus, "caseworker").get(f"/cases/{ids['26A2']}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Janssens, Jan</h1>" in text and "Rue Gallait 112" in text
    assert "26A2" in text and "Vredegerecht Schaarbeek" in text
    assert "26 nov 2026" in text  # the hearing
    assert "De zitting valt minder dan 40 dagen na de neerlegging van het verzoekschrift." in text
    assert "Zitting of uithuiszetting binnen 5 werkdagen zonder echt contact" in text
    tasks = text.split('id="tasks"')[1].split("</section>")[0]
    assert "Huisbezoek" in tasks and "Voorbereiding van de zitting" in tasks
    assert "Brussels draaiboek" in tasks  # why: the playbook's rule in Dutch
    assert "Verzoekschrift ontvangen" in text.split('id="timeline"')[1]


def test_another_ocmws_user_gets_not_found_everywhere(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    alice.post(f"/cases/{ids['26A1']}/letters", {"kind": "tenant_invitation"})
    letter = alice.get(f"/cases/{ids['26A1']}").text.split("/letters/")[1].split('"')[0]
    eve = logged_in(domus, "elsewhere")
    case = f"/cases/{ids['26A1']}"
    assert eve.get("/cases").status_code == 200 and "El Idrissi" not in eve.get("/cases").text
    for path in (case, f"{case}/letters/{letter}", "/cases/nosuchcase"):
        assert eve.get(path).status_code == 404, path
    assert eve.get(f"{case}/audit.json").status_code == 403  # as for any caseworker
    assert eve.post(f"{case}/contacts", {"contact": "phone/reached"}).status_code == 404
    assert eve.post(f"{case}/outcome", {"code": "evicted"}).status_code == 404
    assert eve.post(f"{case}/letters", {"kind": "visit_notice"}).status_code == 404
    assert "El Idrissi" not in eve.get(case).text
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.contacts.c.id)) is None
    assert all(who != PEOPLE["elsewhere"][0] for who, _, _ in audit(domus, ids["26A1"]))


def test_a_home_visit_recorded_in_two_taps_is_stored_and_closes_the_home_visit_task(
        domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    case = f"/cases/{ids['26A1']}"
    page = alice.get(case).text
    assert 'value="home_visit/reached"' in page and "Huisbezoek — bereikt" in page
    answer = alice.post(f"{case}/contacts", {"contact": "home_visit/reached",
                                             "note": "Betalingsplan besproken"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{case}?done=contact"
    with domus.engine.connect() as connection:
        contact = connection.execute(select(t.contacts)).one()
        visit = connection.execute(select(t.tasks.c.status).where(
            t.tasks.c.case_id == ids["26A1"], t.tasks.c.kind == "home_visit")).scalar()
    assert (contact.case_id, contact.channel, contact.result, contact.at, contact.note,
            contact.recorded_by) == (ids["26A1"], "home_visit", "reached", NOW,
                                     "Betalingsplan besproken", ALICE)
    assert visit == "done"
    after = alice.get(answer.headers["location"]).text
    assert "Het contact is genoteerd." in after and "Betalingsplan besproken" in after
    assert "Huisbezoek" not in after.split('id="tasks"')[1].split("<details>")[0]


def test_a_contact_at_an_earlier_time_keeps_that_time(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    answer = alice.post(f"/cases/{ids['26A1']}/contacts",
                        {"contact": "phone/not_reached", "at": "2026-11-20T14:15"})
    assert answer.status_code == 303
    with domus.engine.connect() as connection:
        contact = connection.execute(select(t.contacts)).one()
    assert (contact.channel, contact.result, contact.at.isoformat()) == (
        "phone", "not_reached", "2026-11-20T14:15:00")


@pytest.mark.parametrize(("at", "message"), [
    ("2026-12-01T10:00", "Wanneer: een contact kan niet in de toekomst liggen."),
    ("yesterday", "Wanneer: geef een datum en tijdstip, of laat leeg voor nu."),
])
def test_a_contact_with_a_wrong_time_is_refused_naming_the_field(
        domus: Domus, tmp_path: Path, at: str, message: str) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    answer = alice.post(f"/cases/{ids['26A1']}/contacts",
                        {"contact": "home_visit/reached", "at": at, "note": "kept"})
    assert answer.status_code == 422
    assert message in answer.text and ">kept</textarea>" in answer.text
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.contacts.c.id)) is None


def test_the_outcome_is_recorded_shown_and_reopened_by_the_team_lead(
        domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice, bob = logged_in(domus, "caseworker"), logged_in(domus, "team_lead")
    case = f"/cases/{ids['26A1']}"
    assert alice.post(f"{case}/outcome", {"code": "", "on": "2026-11-20"}).status_code == 422
    answer = alice.post(f"{case}/outcome", {"code": "kept_payment_plan", "on": "2026-11-20"})
    assert answer.status_code == 303
    with domus.engine.connect() as connection:
        row = connection.execute(select(t.cases).where(t.cases.c.id == ids["26A1"])).one()
    assert (row.outcome_code, row.outcome_on.isoformat(), row.status) == (
        "kept_payment_plan", "2026-11-20", "closed")
    page = alice.get(case).text
    assert "Woning behouden: afbetalingsplan" in page and "20 nov 2026" in page
    assert "Afgesloten" in page and 'action="' + case + '/reopen"' not in page
    again = alice.post(f"{case}/outcome", {"code": "evicted", "on": ""})
    assert again.status_code == 422 and "heeft al een resultaat" in again.text
    assert alice.post(f"{case}/reopen", {"reason": "wrong code"}).status_code == 403
    assert bob.post(f"{case}/reopen", {"reason": " "}).status_code == 422
    assert bob.post(f"{case}/reopen", {"reason": "wrong code"}).status_code == 303
    assert "Dossier heropend" in bob.get(case).text
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.cases.c.status).where(
            t.cases.c.id == ids["26A1"])) == "open"


def test_an_outcome_in_the_future_is_refused(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    answer = logged_in(domus, "caseworker").post(
        f"/cases/{ids['26A1']}/outcome", {"code": "evicted", "on": "2026-12-24"})
    assert answer.status_code == 422
    assert "Datum van het resultaat: die kan niet in de toekomst liggen." in answer.text


def test_a_letter_is_made_and_downloaded_as_a_docx(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    case = f"/cases/{ids['26A1']}"
    assert alice.post(f"{case}/letters", {"kind": "tenant_invitation", "language": "fr"}
                      ).headers["location"] == f"{case}?done=letter"
    page = alice.get(f"{case}?done=letter").text
    assert "De brief is gemaakt" in page and "Uitnodiging aan de huurder (Frans)" in page
    link = page.split('href="' + case + '/letters/')[1].split('"')[0]
    answer = alice.get(f"{case}/letters/{link}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert "26A1-tenant_invitation-fr" in answer.headers["content-disposition"]
    document = zipfile.ZipFile(io.BytesIO(answer.content)).read("word/document.xml").decode()
    assert "El Idrissi" in document
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.tasks.c.status).where(
            t.tasks.c.case_id == ids["26A1"], t.tasks.c.kind == "invitation_letter")) == "done"
    other = f"/cases/{ids['26A2']}/letters/{link}"  # the letter is not 26A2's
    assert alice.get(other).status_code == 404
    assert alice.post(f"{case}/letters", {"kind": "novel"}).status_code == 422


def test_a_team_lead_reassigns_a_task_and_a_caseworker_may_not(domus: Domus,
                                                                tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    case = f"/cases/{ids['26A1']}"
    with domus.engine.connect() as connection:
        task = connection.scalar(select(t.tasks.c.id).where(
            t.tasks.c.case_id == ids["26A1"], t.tasks.c.kind == "home_visit"))
    bob, alice = logged_in(domus, "team_lead"), logged_in(domus, "caseworker")
    assert f'id="assign-{task}"' in bob.get(case).text
    assert f'id="assign-{task}"' not in alice.get(case).text
    refused = alice.post(f"{case}/tasks/{task}/assign", {"assignee": ALICE})
    assert refused.status_code == 403 and "Niet toegestaan" in refused.text
    assert bob.post(f"{case}/tasks/{task}/assign", {"assignee": BOB}).status_code == 303
    assert bob.post(f"{case}/tasks/{task}/assign",
                    {"assignee": PEOPLE["elsewhere"][0]}).status_code == 409
    assert "De taak kon niet opnieuw worden toegewezen." in bob.post(
        f"{case}/tasks/{task}/assign", {"assignee": "nobody@schaerbeek.be"}).text
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.tasks.c.assignee).where(t.tasks.c.id == task)) == BOB
    assert bob.post(f"/cases/{ids['26A2']}/tasks/{task}/assign", {"assignee": ""}
                    ).status_code == 404  # not that case's task
    assert bob.post(f"{case}/tasks/{task}/assign", {"assignee": ""}).status_code == 303
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.tasks.c.assignee).where(t.tasks.c.id == task)) is None


def test_a_task_marked_done_on_the_case_page_comes_back_to_the_case(domus: Domus,
                                                                      tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    case = f"/cases/{ids['26A1']}"
    task = alice.get(case).text.split('action="/tasks/')[1].split("/done")[0]
    answer = alice.post(f"/tasks/{task}/done", {"next": f"{case}?done=task"})
    assert answer.headers["location"] == f"{case}?done=task"
    assert "De taak is als gedaan gemarkeerd." in alice.get(answer.headers["location"]).text


def test_an_administrator_exports_the_audit_trail_and_nobody_else(domus: Domus,
                                                                   tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    case = f"/cases/{ids['26A1']}"
    carol = logged_in(domus, "administrator")
    assert 'href="' + case + '/audit.json"' in carol.get(case).text
    answer = carol.get(f"{case}/audit.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="audit-{ids["26A1"]}.json"')
    trail = json.loads(answer.content)
    assert trail["case_id"] == ids["26A1"]
    first = trail["entries"][0]
    assert (first["actor"], first["action"], first["channel"]) == (CAROL, "view", "web")
    for role in ("caseworker", "team_lead"):  # the export is for administrators only
        assert logged_in(domus, role).get(f"{case}/audit.json").status_code == 403


def test_every_view_and_change_lands_in_the_audit_log(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    case = f"/cases/{ids['26A1']}"
    alice, bob = logged_in(domus, "caseworker"), logged_in(domus, "team_lead")
    alice.get(case)
    alice.post(f"{case}/contacts", {"contact": "phone/reached"})
    alice.post(f"{case}/letters", {"kind": "visit_notice"})
    letter = alice.get(case).text.split(case + "/letters/")[1].split('"')[0]
    alice.get(f"{case}/letters/{letter}")
    task = bob.get(case).text.split('id="assign-')[1].split('"')[0]
    bob.post(f"{case}/tasks/{task}/assign", {"assignee": BOB})
    alice.post(f"{case}/outcome", {"code": "rehoused"})
    bob.post(f"{case}/reopen", {"reason": "the landlord sued again"})
    logged_in(domus, "administrator").get(f"{case}/audit.json")
    actions = [(who, action) for who, action, channel in audit(domus, ids["26A1"])
               if channel == "web" and action != "view"]
    assert actions == [(ALICE, "contact"), (ALICE, "letter"), (ALICE, "letter_download"),
                       (BOB, "reassign"), (ALICE, "outcome"), (BOB, "reopen"),
                       (CAROL, "audit_export")]
    assert (ALICE, "view", "web") in audit(domus, ids["26A1"])
    assert {channel for _, _, channel in audit(domus, ids["26A1"])} == {"web"}


def test_html_in_a_tenants_name_comes_out_escaped(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26X1", tenant__last_name=SCRIPT)])
    alice = logged_in(domus, "caseworker")
    for path in ("/cases", f"/cases/{case_ids(domus)['26X1']}"):
        page = alice.get(path).text
        assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_the_case_page_speaks_french_to_a_french_speaker(domus: Domus, tmp_path: Path) -> None:
    ids = cases_of(domus, tmp_path)
    alice = logged_in(domus, "caseworker")
    alice.post("/language", {"language": "fr", "next": "/cases"})
    page = alice.get(f"/cases/{ids['26A2']}").text
    assert "Enregistrer un contact" in page and "Visite à domicile — joint" in page
    assert "audience a lieu moins de 40 jours après le dépôt de la requête." in page
    assert "Dossiers" in alice.get("/cases").text
