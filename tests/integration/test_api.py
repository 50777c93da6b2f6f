"""The HTTP API of CONTRACT.md: every route with every role, another OCMW's user and no
token; the answers' shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domus.bootstrap import Domus
from services.users import issue_token
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest, user
from web.app import create_app

ROLES = {"caseworker": ("cw@ocmw.be", "21015"), "team_lead": ("lead@ocmw.be", "21015"),
         "administrator": ("admin@ocmw.be", "21015"), "monitor": ("mon@region.be", None),
         "elsewhere": ("cw@anderlecht.be", "21001")}


@pytest.fixture
def api(domus: Domus, tmp_path: Path) -> tuple[TestClient, dict[str, dict[str, str]], str]:
    headers = {}
    for role, (email, ocmw) in ROLES.items():
        user(domus, email, role="caseworker" if role == "elsewhere" else role, ocmw=ocmw)
        token = issue_token(domus.engine, email, kind="api", now=NOW)
        headers[role] = {"Authorization": f"Bearer {token}"}
    headers["nobody"] = {}
    headers["bad token"] = {"Authorization": "Bearer not-a-token"}
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    with domus.engine.connect() as connection:
        case_id = connection.scalar(select(t.cases.c.id))
    return TestClient(create_app(domus)), headers, case_id


ROUTES = [
    ("GET", "/api/tasks", None),
    ("GET", "/api/cases/{case}", None),
    ("POST", "/api/cases/{case}/contacts", {"channel": "phone", "result": "not_reached"}),
    ("GET", "/api/stats?by=ocmw", None),
    ("POST", "/api/notices", petition("26A7")),
]
EXPECTED = {  # who gets what, route by route
    "/api/tasks": {"caseworker": 200, "team_lead": 200, "administrator": 200, "monitor": 403,
                   "elsewhere": 200, "nobody": 401, "bad token": 401},
    "/api/cases/{case}": {"caseworker": 200, "team_lead": 200, "administrator": 200,
                          "monitor": 404, "elsewhere": 404, "nobody": 401, "bad token": 401},
    "/api/cases/{case}/contacts": {"caseworker": 201, "team_lead": 201, "administrator": 201,
                                   "monitor": 404, "elsewhere": 404, "nobody": 401,
                                   "bad token": 401},
    "/api/stats?by=ocmw": {"caseworker": 403, "team_lead": 200, "administrator": 200,
                           "monitor": 200, "elsewhere": 403, "nobody": 401, "bad token": 401},
    "/api/notices": {"caseworker": 403, "team_lead": 403, "administrator": 200,
                     "monitor": 403, "elsewhere": 403, "nobody": 401, "bad token": 401},
}


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
def test_the_authorization_matrix(api, method: str, route: str, body) -> None:  # type: ignore[no-untyped-def]
    client, headers, case_id = api
    for who, expected in EXPECTED[route].items():
        answer = client.request(method, route.format(case=case_id), json=body,
                                headers=headers[who])
        assert answer.status_code == expected, (who, route, answer.text)


def test_answers_have_the_contract_shape_and_no_personal_data_for_monitors(api) -> None:  # type: ignore[no-untyped-def]
    client, headers, case_id = api
    case = client.get(f"/api/cases/{case_id}", headers=headers["caseworker"]).json()
    assert case["id"] == case_id and case["docket_number"] == "26A1"
    assert {"tenant", "dwelling", "tasks", "contacts", "letters", "referrals",
            "outcome", "notices", "flags"} <= set(case)
    tasks = client.get("/api/tasks?due_before=2026-11-10", headers=headers["caseworker"]).json()
    assert {task["kind"] for task in tasks} == {"invitation_letter", "first_contact"}
    assert {task["assignee"] for task in tasks} == {"cw@ocmw.be"}
    made = client.post(f"/api/cases/{case_id}/contacts", headers=headers["caseworker"],
                       json={"channel": "home_visit", "result": "reached",
                             "at": "2026-11-20T10:00:00", "note": "plan"})
    assert made.status_code == 201 and made.json()["effective"]
    outcome = client.post(f"/api/cases/{case_id}/outcome", headers=headers["caseworker"],
                          json={"code": "kept_payment_plan", "on": "2026-11-20"})
    assert outcome.status_code == 201
    again = client.post(f"/api/cases/{case_id}/outcome", headers=headers["caseworker"],
                        json={"code": "evicted"})
    assert again.status_code == 409
    wrong = client.post(f"/api/cases/{case_id}/outcome", headers=headers["team_lead"],
                        json={"code": "won"})
    assert wrong.status_code == 422
    stats = client.get("/api/stats?by=ocmw&min_cell=1", headers=headers["monitor"]).json()
    assert stats["total"]["cases"] == 1 and stats["total"]["solved_with_contact"] == 1
    assert "El Idrissi" not in str(stats) and "26A1" not in str(stats)
    summary = client.post("/api/notices", headers=headers["administrator"],
                          json=[petition("26A8"), {"kind": "petition"}]).json()
    assert summary["received"] == 2 and summary["created"] == 1
    assert summary["quarantined"][0]["record"] == 2


def test_the_openapi_description_lists_the_routes(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/tasks", "/api/cases/{case_id}", "/api/cases/{case_id}/contacts",
            "/api/cases/{case_id}/outcome", "/api/notices", "/api/stats",
            "/calendar/{token}.ics"} <= set(paths)


def test_every_view_and_change_is_in_the_audit_trail(api, domus: Domus) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from domain.access import Actor
    from services.audit import audit_trail
    from services.cases import CaseNotFound

    client, headers, case_id = api
    client.get(f"/api/cases/{case_id}", headers=headers["caseworker"])
    client.post(f"/api/cases/{case_id}/contacts", headers=headers["team_lead"],
                json={"channel": "phone", "result": "reached"})
    client.get(f"/api/cases/{case_id}", headers=headers["elsewhere"])  # a 404: not logged
    with domus.engine.connect() as connection:
        trail = audit_trail(connection, case_id, Actor("admin@ocmw.be", "administrator",
                                                       "21015"))
        with pytest.raises(CaseNotFound):
            audit_trail(connection, case_id, Actor("cw@ocmw.be", "caseworker", "21015"))
    logged = [(e["actor"], e["action"], e["channel"]) for e in trail["entries"]]
    assert ("cw@ocmw.be", "view", "api") in logged
    assert ("lead@ocmw.be", "contact", "api") in logged
    assert ("lead@ocmw.be", "contact", "history") in logged
    assert not any(actor == "cw@anderlecht.be" for actor, _, _ in logged)
    with pytest.raises(DBAPIError, match="append-only"), domus.engine.begin() as c:
        c.execute(text("DELETE FROM audit_log"))
