"""POST /api/notices with a body that is not JSON Domus can read (issue 8): a 400 in the
API's error shape ({"detail": …}) that says why, checked after the caller's token and role,
never a 500, never the body echoed, and nothing kept of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domus.bootstrap import Domus
from services.users import issue_token
from tests.builders import petition
from tests.conftest import NOW
from tests.web_support import PEOPLE, add_people
from web.app import create_app

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
NESTED = "the body is not JSON Domus can read: it is nested too deeply (a notice has at most " \
    "32 levels)"
NOT_JSON = "the body is not valid JSON: "
REFUSED = [  # (body, the answer's detail)
    (DEEP_ARRAY, NESTED),
    (DEEP_OBJECT, NESTED),
    (b'{"kind": "petition", "court": ' + b"x" * 5000,
     NOT_JSON + "Expecting value at line 1, column 31"),
    (b"", NOT_JSON + "Expecting value at line 1, column 1"),
    (b'{"kind": "p\xe9tition"}', NOT_JSON + "not UTF-8 text (byte 12)"),
    (b'[{"kind": "petition"},\n {"court": "x",}]',
     NOT_JSON + "Expecting property name enclosed in double quotes at line 2, column 16"),
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the body is refused before any database work


@pytest.fixture
def client(domus: Domus) -> TestClient:
    add_people(domus)
    return TestClient(create_app(domus, clock=lambda: NOW), raise_server_exceptions=False)


def bearer(domus: Domus, role: str) -> dict[str, str]:
    token = issue_token(domus.engine, PEOPLE[role][0], kind="api", now=NOW)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_body_that_cannot_be_read_is_a_400_saying_why(domus: Domus, client: TestClient
                                                        ) -> None:
    headers = bearer(domus, "administrator")
    incoming = domus.settings.data_dir / "incoming"
    for body, detail in REFUSED:
        answer = client.post("/api/notices", content=body, headers=headers)
        assert answer.status_code == 400, (body[:40], answer.text[:300])
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {"detail": detail}
        assert len(answer.content) < 200  # the body is never echoed
    assert not list(incoming.glob("api-*"))  # a refused body is not kept


def test_who_is_asking_is_settled_before_the_body_is_read(domus: Domus,
                                                          client: TestClient) -> None:
    assert client.post("/api/notices", content=DEEP_ARRAY).status_code == 401
    assert client.post("/api/notices", content=DEEP_ARRAY,
                       headers=bearer(domus, "caseworker")).status_code == 403


def test_readable_bodies_still_reach_intake(domus: Domus, client: TestClient,
                                            tmp_path: Path) -> None:
    headers = bearer(domus, "administrator")
    one = client.post("/api/notices", content=json.dumps(petition("26B1")),
                      headers={**headers, "Content-Type": "text/plain"})
    assert one.status_code == 200 and one.json()["created"] == 1, one.text
    # JSON that parses but is deeper than a notice may be: its record is quarantined
    inside = "[" + "[" * 100 + "]" * 100 + ", " + json.dumps(petition("26B2")) + "]"
    summary = client.post("/api/notices", content=inside, headers=headers).json()
    assert summary["created"] == 1
    assert [q["reason"] for q in summary["quarantined"]] == [
        "nested too deeply (more than 32 levels)"]
    described = client.get("/openapi.json").json()["paths"]["/api/notices"]["post"]
    assert "application/json" in described["requestBody"]["content"]
    assert "400" in described["responses"]


def test_a_nul_or_a_lone_surrogate_in_a_contact_note_is_a_422_not_a_500(
        domus: Domus, client: TestClient) -> None:
    """PostgreSQL cannot store a NUL (the API answered 500 there; found by
    test_api_schema.py): refused before the database on every backend. A lone surrogate
    is refused by the body's model, and the 422 that repeats it must still be UTF-8."""
    headers = bearer(domus, "administrator")
    client.post("/api/notices", content=json.dumps(petition("26B3")), headers=headers)
    case_id = client.get("/api/tasks", headers=bearer(domus, "caseworker")).json()[0]["case_id"]

    def contact(note: str) -> Any:
        return client.post(f"/api/cases/{case_id}/contacts", headers=headers,
                           content=json.dumps({"channel": "phone", "result": "reached",
                                               "note": note}))

    nul = contact("a\x00b")
    assert nul.status_code == 422, nul.text
    assert nul.json() == {"detail": "--note: contains a NUL character"}
    surrogate = contact("\ud800")
    assert surrogate.status_code == 422, surrogate.text
    (error,) = surrogate.json()["detail"]
    assert error["loc"] == ["body", "note"] and error["input"] == "?"
