"""Team: a team lead sees the OCMW's overdue tasks and at-risk cases, each person's workload,
and moves one task or all of one person's tasks; nobody else may, and another OCMW's tasks
stay out of reach."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus
from services.outcomes import record_outcome
from services.tasks import complete_task, reassign_task
from services.users import add_user
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest
from tests.web_support import (
    ANDERLECHT,
    PASSWORD,
    PEOPLE,
    SCHAERBEEK,
    Browser,
    add_people,
    logged_in,
    web_app,
)

ALICE, BOB = PEOPLE["caseworker"][0], PEOPLE["team_lead"][0]
EVE = PEOPLE["elsewhere"][0]
LEAD = Actor(BOB, "team_lead", SCHAERBEEK)


def anderlecht(docket: str) -> dict:  # type: ignore[type-arg]
    return petition(docket, court="Vredegerecht Anderlecht",
                    dwelling={"street": "Rue Wayez", "number": "5", "postcode": "1070",
                              "municipality": "Anderlecht"},
                    tenant={"first_name": "Jan", "last_name": "Peeters", "language": "nl"})


def tasks_by(domus: Domus, docket: str) -> dict[str, dict]:  # type: ignore[type-arg]
    with domus.engine.connect() as connection:
        rows = connection.execute(select(t.tasks).join(t.cases, t.cases.c.id == t.tasks.c.case_id)
                                  .where(t.cases.c.docket_number == docket))
        return {row.kind: dict(row._mapping) for row in rows}


def section(page: str, key: str) -> str:
    return page.split(f'id="{key}"')[1].split("</section>")[0]


def test_the_team_page_lists_an_overdue_task_with_its_assignee_and_a_reassign_moves_it(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    letter = tasks_by(domus, "26A1")["invitation_letter"]
    assert letter["assignee"] == ALICE and letter["due_on"] == date(2026, 11, 4)
    bob = logged_in(domus, "team_lead")
    page = bob.get("/team")
    assert page.status_code == 200
    overdue = section(page.text, "overdue")
    row = overdue.split(f'action="/team/tasks/{letter["id"]}/assign"')[0].rsplit("<tr", 1)[1]
    assert "Uitnodigingsbrief aan de huurder" in row and "Alice" in row
    assert "El Idrissi" in row and "26A1" in row
    # after 4 November up to Monday 23 November: 12 working days (11 November is a holiday)
    assert '>12</td>' in row

    answer = bob.post(f"/team/tasks/{letter['id']}/assign", {"assignee": BOB})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/team?")
    assert tasks_by(domus, "26A1")["invitation_letter"]["assignee"] == BOB
    with domus.engine.connect() as connection:
        audit = connection.execute(select(t.audit_log).where(
            t.audit_log.c.case_id == letter["case_id"], t.audit_log.c.action == "reassign")).all()
    assert [(a.actor, a.channel) for a in audit] == [(BOB, "web")]
    after = bob.get(answer.headers["location"])
    assert "De taak is nu van Bob." in after.text

    bob.post(f"/team/tasks/{letter['id']}/assign", {"assignee": "queue"})
    assert tasks_by(domus, "26A1")["invitation_letter"]["assignee"] is None


def test_reassigning_to_someone_who_may_not_hold_the_task_shows_an_error_and_changes_nothing(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    letter = tasks_by(domus, "26A1")["invitation_letter"]
    bob = logged_in(domus, "team_lead")
    bob.get("/team")
    answer = bob.post(f"/team/tasks/{letter['id']}/assign", {"assignee": EVE})
    assert answer.status_code == 409
    assert "Toewijzen aan: kies een actieve maatschappelijk werker" in answer.text
    assert tasks_by(domus, "26A1")["invitation_letter"]["assignee"] == ALICE


def test_the_bulk_move_gives_all_of_one_persons_open_tasks_to_another(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1"), petition("26A2"),
                                         anderlecht("26B1")])
    complete_task(domus.engine, tasks_by(domus, "26A1")["invitation_letter"]["id"],
                  LEAD, now=NOW)
    assert {task["assignee"] for task in tasks_by(domus, "26B1").values()} == {EVE}
    bob = logged_in(domus, "team_lead")
    bob.get("/team")
    answer = bob.post("/team/move", {"from": ALICE, "to": BOB, "with_cases": "1"})
    assert answer.status_code == 303
    mine = [*tasks_by(domus, "26A1").values(), *tasks_by(domus, "26A2").values()]
    assert {task["assignee"] for task in mine if task["status"] == "open"} == {BOB}
    assert [task["assignee"] for task in mine if task["status"] == "done"] == [ALICE]
    with domus.engine.connect() as connection:
        holders = {row.docket_number: row.caseworker for row in connection.execute(
            select(t.cases.c.docket_number, t.cases.c.caseworker))}
        audited = set(connection.scalars(select(t.audit_log.c.case_id).where(
            t.audit_log.c.action == "reassign", t.audit_log.c.actor == BOB)))
    assert holders == {"26A1": BOB, "26A2": BOB, "26B1": EVE}
    assert len(audited) == 2
    page = bob.get(answer.headers["location"])
    assert "11 open taken gaan naar Bob." in page.text
    assert "Ook 2 open dossiers gaan naar Bob." in page.text

    # Anderlecht's caseworker's tasks are not Schaerbeek's to move: nothing happens
    bob.post("/team/move", {"from": EVE, "to": "queue"})
    assert {task["assignee"] for task in tasks_by(domus, "26B1").values()} == {EVE}


def test_a_caseworker_may_not_use_the_team_page(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    letter = tasks_by(domus, "26A1")["invitation_letter"]
    alice = logged_in(domus, "caseworker")
    assert alice.get("/team").status_code == 403
    assert alice.post(f"/team/tasks/{letter['id']}/assign",
                      {"assignee": ALICE}).status_code == 403
    assert alice.post("/team/move", {"from": ALICE, "to": "queue"}).status_code == 403
    assert logged_in(domus, "monitor").get("/team").status_code == 403
    assert {task["assignee"] for task in tasks_by(domus, "26A1").values()} == {ALICE}


def test_a_team_lead_of_another_ocmw_cannot_reassign_this_ocmws_task(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    add_user(domus.engine, email="tom@anderlecht.be", name="Tom", role="team_lead",
             ocmw=ANDERLECHT, language="nl", password=PASSWORD, now=NOW, rules=domus.rules)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    letter = tasks_by(domus, "26A1")["invitation_letter"]
    tom = login_as(domus, "tom@anderlecht.be")
    page = tom.get("/team")
    assert page.status_code == 200 and "26A1" not in page.text and "Alice" not in page.text
    assert tom.post(f"/team/tasks/{letter['id']}/assign",
                    {"assignee": "tom@anderlecht.be"}).status_code == 404
    assert tasks_by(domus, "26A1")["invitation_letter"]["assignee"] == ALICE


def login_as(domus: Domus, email: str) -> Browser:
    browser = Browser(web_app(domus))
    browser.get("/login")
    answer = browser.client.post("/login", data={"email": email, "password": PASSWORD,
                                                 "csrf_token": browser.csrf, "next": "/"})
    assert answer.status_code == 200  # followed to the start page
    browser.get("/account")
    return browser


def numbers(page: str, name: str) -> list[int]:
    """The workload row of `name`: open, overdue, due this week, open cases held."""
    row = section(page, "workload").split(f'<th scope="row" data-label="Persoon">{name}')[1]
    row = row.split("</tr>")[0]
    return [int(n) for n in re.findall(r'<td class="num"[^>]*>(?:<a [^>]*>)?(\d+)', row)]


def test_the_workload_counts_each_persons_open_overdue_and_this_weeks_tasks_and_cases(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1"), petition("26A2"), petition("26A3"),
                                         anderlecht("26B1")])
    # each petition of 2 November (hearing 10 December): on Monday 23 November three tasks
    # are overdue, one falls due this week, two later
    due = {kind: task["due_on"] for kind, task in tasks_by(domus, "26A1").items()}
    assert due == {"invitation_letter": date(2026, 11, 4), "first_contact": date(2026, 11, 9),
                   "home_visit": date(2026, 11, 17), "landlord_contact": date(2026, 11, 30),
                   "hearing_preparation": date(2026, 12, 8),
                   "hearing_result": date(2026, 12, 14)}
    second = tasks_by(domus, "26A2")
    reassign_task(domus.engine, second["first_contact"]["id"], BOB, LEAD, now=NOW)
    reassign_task(domus.engine, second["landlord_contact"]["id"], BOB, LEAD, now=NOW)
    reassign_task(domus.engine, second["invitation_letter"]["id"], None, LEAD, now=NOW)
    complete_task(domus.engine, tasks_by(domus, "26A1")["hearing_result"]["id"], LEAD, now=NOW)
    third = tasks_by(domus, "26A3")["home_visit"]["case_id"]
    record_outcome(domus.engine, third, "procedure_stopped", on=date(2026, 11, 20),
                   actor=LEAD, now=NOW)  # closed: its tasks are cancelled, the case not held

    page = logged_in(domus, "team_lead").get("/team").text
    # Alice: 26A1 all but the hearing result (5), 26A2 home visit, preparation, result (3)
    assert numbers(page, "Alice") == [8, 4, 1, 2]
    assert numbers(page, "Bob") == [2, 1, 1, 0]
    queue = section(page, "workload").split("Teamwachtrij (niet toegewezen)")[1]
    assert [int(n) for n in re.findall(r'<td class="num"[^>]*>(?:<a [^>]*>)?(\d+)',
                                       queue.split("</tr>")[0])] == [1, 1, 0]
    assert "Eve" not in section(page, "workload")


def test_a_case_at_risk_shows_with_its_hearing_and_caseworker(domus: Domus,
                                                              tmp_path: Path) -> None:
    add_people(domus)
    soon = petition("26A9", hearing_at="2026-11-26T09:30:00", filed_on="2026-10-01")
    ingest(domus, tmp_path / "n.jsonl", [soon, petition("26A1")])
    page = logged_in(domus, "team_lead").get("/team").text
    at_risk = section(page, "at-risk")
    assert "26A9" in at_risk and "26A1" not in at_risk
    assert "Zitting 26 nov 2026" in " ".join(at_risk.split()) and "Alice" in at_risk
