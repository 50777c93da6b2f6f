"""Every route of the app — pages, API, calendar feed, API description, static files —
tried by every kind of principal (issue 8): each role, a caseworker of another OCMW, no
credential, an idle-expired and a lifetime-expired session, a logged-out session, a forged
cookie, a deactivated user's session, a forged, a revoked and a deactivated user's API
token, an API token offered to the pages and a browser session offered to the API.

The routes are read from the app; a route missing from the tables (EXPECTED in
test_web_security.py for pages, API_EXPECTED here for the API, OTHER here for the rest)
fails the test. Whoever is refused another OCMW's object gets 404 with nothing of the
case in the answer. On SQLite and PostgreSQL; the page CSRF refusals with a table
snapshot are test_web_security.py's test_no_post_route_acts_without_its_sessions_csrf_token.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import Signer
from sqlalchemy import update

from domus.bootstrap import Domus
from domus.cli import cli
from services.sessions import digest, start_session
from services.users import deactivate_user, find_user, issue_token
from store import tables as t
from tests.conftest import NOW
from tests.integration.test_web_security import (
    ALLOWED,
    EXPECTED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    ROLES,
    Matrix,
    plant,
    verdict,
)
from tests.web_support import ANDERLECHT, PEOPLE, add_people, add_person

UNAUTHORIZED = 401
#: API routes: role → status (201/200 allowed, 403 role refused, 404 another OCMW's case)
API_EXPECTED: dict[str, dict[str, int]] = {
    "GET /api/tasks": dict(caseworker=200, team_lead=200, administrator=200, monitor=403,
                           elsewhere=200),
    "GET /api/cases/{case_id}": dict(caseworker=200, team_lead=200, administrator=200,
                                     monitor=404, elsewhere=404),
    "POST /api/cases/{case_id}/contacts": dict(caseworker=201, team_lead=201,
                                               administrator=201, monitor=404, elsewhere=404),
    "POST /api/cases/{case_id}/outcome": dict(caseworker=201, team_lead=201,
                                              administrator=201, monitor=404, elsewhere=404),
    "POST /api/notices": dict(caseworker=403, team_lead=403, administrator=200, monitor=403,
                              elsewhere=403),
    "GET /api/stats": dict(caseworker=403, team_lead=200, administrator=200, monitor=200,
                           elsewhere=403),
}
API_BODY: dict[str, Any] = {
    "POST /api/cases/{case_id}/contacts": {"channel": "phone", "result": "not_reached"},
    "POST /api/cases/{case_id}/outcome": {"code": "kept_payment_plan", "on": "2026-11-20"},
}
#: neither pages nor API: open to all, or the calendar's own secret in the path
OTHER = {"GET /openapi.json", "GET /calendar/{token}.ics", "MOUNT /static"}

#: principals without a live credential, and what every route gives them
DEAD_SESSIONS = ("no session", "idle session", "outlived session", "logged-out session",
                 "forged cookie", "deactivated user's session", "API token on a page")
DEAD_TOKENS = ("no token", "forged token", "revoked token", "deactivated user's token",
               "calendar token on the API", "browser session on the API")
LEAKS = re.compile(r"El Idrissi|Amina|Josaphat|26M\d{4}")


def every_route(app: FastAPI) -> set[str]:
    """Every "METHOD /path" the app answers, mounts as "MOUNT /path" (HEAD left out)."""
    try:
        from fastapi.routing import iter_route_contexts
        routes: Any = iter_route_contexts(app.routes)
    except ImportError:
        routes = app.routes
    found = set()
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods:
            found |= {f"{m} {path}" for m in methods if m != "HEAD"}
        elif path:
            found.add(f"MOUNT {path}")
    return found


class Principals:
    """The credentials tried, made once for the test."""

    def __init__(self, domus: Domus, matrix: Matrix) -> None:
        self.domus, self.matrix = domus, matrix
        policy = matrix.app.state.session_policy
        # of Anderlecht, so that Schaerbeek's new tasks still go to alice
        add_person(domus, email="gone@anderlecht.be", name="Gone", role="caseworker",
                   ocmw=ANDERLECHT)
        add_person(domus, email="revoked@anderlecht.be", name="Revoked", role="caseworker",
                   ocmw=ANDERLECHT)
        self.tokens = {role: issue_token(domus.engine, PEOPLE[role][0], kind="api", now=NOW)
                       for role in ROLES}
        self.calendar = issue_token(domus.engine, PEOPLE["caseworker"][0], kind="calendar",
                                    now=NOW)
        revoked = issue_token(domus.engine, "revoked@anderlecht.be", kind="api", now=NOW)
        # revoked the way an operator does it
        result = CliRunner().invoke(cli, ["users", "token", "revoked@anderlecht.be",
                                          "--revoke"])
        assert result.exit_code == 0 and "revoked 1 API token" in result.stdout, result.output
        gone_token = issue_token(domus.engine, "gone@anderlecht.be", kind="api", now=NOW)
        gone_session = self.cookie("gone@anderlecht.be", at=NOW)
        deactivate_user(domus.engine, "gone@anderlecht.be", rules=domus.rules, now=NOW)
        logged_out = self.cookie(PEOPLE["caseworker"][0], at=NOW)
        plant(matrix.client, logged_out[0])
        assert matrix.client.post("/logout", data={"csrf_token": logged_out[1]},
                                  follow_redirects=False).status_code == 303
        matrix.client.cookies.clear()
        outlived = self.cookie(PEOPLE["caseworker"][0],
                               at=NOW - policy.lifetime - timedelta(minutes=1))
        with domus.engine.begin() as connection:  # busy until a minute ago
            connection.execute(update(t.web_sessions).where(
                t.web_sessions.c.id == digest(outlived[2]))
                .values(last_seen_at=NOW - timedelta(minutes=1)))
        forged = Signer("another secret key of at least 32 chars", salt="domus-session")
        self.sessions: dict[str, tuple[str, str] | None] = {
            "no session": None,
            "idle session": self.cookie(PEOPLE["caseworker"][0],
                                        at=NOW - policy.idle - timedelta(minutes=1))[:2],
            "outlived session": outlived[:2],
            "logged-out session": logged_out[:2],
            "forged cookie": (forged.sign("x" * 43).decode(), "x"),
            "deactivated user's session": gone_session[:2],
        }
        self.api: dict[str, dict[str, str]] = {
            "no token": {},
            "forged token": {"Authorization": "Bearer " + "A" * 43},
            "revoked token": {"Authorization": f"Bearer {revoked}"},
            "deactivated user's token": {"Authorization": f"Bearer {gone_token}"},
            "calendar token on the API": {"Authorization": f"Bearer {self.calendar}"},
        }
        self.browser = self.cookie(PEOPLE["administrator"][0], at=NOW)

    def cookie(self, email: str, *, at: Any) -> tuple[str, str, str]:
        """(signed cookie value, CSRF token, raw token) of a new session started `at`."""
        with self.domus.engine.connect() as connection:
            user = find_user(connection, email)
        token, session = start_session(self.domus.engine, user, now=at, ip="testclient")
        signed = Signer(self.domus.secret_key, salt="domus-session").sign(token).decode()
        return signed, session.csrf_token, token


def api_call(matrix: Matrix, route: str, role: str | None) -> tuple[str, Any]:
    """The path and JSON body of an API request; a role allowed to change a case gets a
    case of its own."""
    method, template = route.split(" ", 1)
    fresh = method == "POST" and role is not None and API_EXPECTED[route].get(role, 0) < 300
    path = template
    if "{case_id}" in template:
        path = template.replace("{case_id}", matrix.data.get("case_id", {}, fresh))
    body = API_BODY.get(route)
    if route == "POST /api/notices":
        body = matrix.data.notice()
    return path, body


def test_every_route_refuses_whoever_has_no_live_credential_and_each_role_gets_its_due(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    matrix = Matrix(domus, tmp_path)
    people = Principals(domus, matrix)
    routes = every_route(matrix.app)
    pages = {r for r in routes if r in EXPECTED}
    api = {r for r in routes if r.split(" ", 1)[1].startswith("/api/")}
    problems = [f"{r}: in no table (EXPECTED, API_EXPECTED or OTHER)"
                for r in sorted(routes - pages - set(API_EXPECTED) - OTHER)]
    problems += [f"{r}: listed but the app has no such route"
                 for r in sorted((set(API_EXPECTED) | OTHER) - routes)]
    tried = 0

    def leaked(answer: Any) -> bool:
        return bool(LEAKS.search(answer.text))

    # the rest (first: a page below makes alice a new calendar link): the calendar
    # opens with its own secret only
    client = TestClient(matrix.app)
    assert client.get(f"/calendar/{people.calendar}.ics").status_code == 200
    for who, token in {"forged": "A" * 43, "an API token": people.tokens["caseworker"],
                       "empty": ""}.items():
        tried += 1
        if client.get(f"/calendar/{token}.ics").status_code != 404:
            problems.append(f"GET /calendar/{{token}}.ics with {who}: not 404")
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/static/domus.css").status_code == 200

    # pages: each role as the table says, then every dead session
    for route in sorted(pages):
        method = route.split(" ", 1)[0]
        for role in ROLES:
            expected = EXPECTED[route][role]
            request = matrix.request_for(route, role)
            answer = matrix.send(route, request, matrix.session(role))
            tried += 1
            if not verdict(answer, expected, method, request.path):
                problems.append(f"{route} as {role}: expected {expected}, got "
                                f"{answer.status_code}")
            if expected in (NOT_FOUND, FORBIDDEN) and leaked(answer):
                problems.append(f"{route} as {role}: the refusal shows the case")
        expected = EXPECTED[route]["nobody"]
        request = matrix.request_for(route, "nobody")
        for who, session in people.sessions.items():
            answer = matrix.send(route, request, session)
            tried += 1
            if not verdict(answer, expected, method, request.path) or (
                    expected == LOGIN and leaked(answer)):
                problems.append(f"{route} with {who}: expected {expected}, got "
                                f"{answer.status_code} {answer.headers.get('location', '')}")
        matrix.client.cookies.clear()
        answer = matrix.client.request(method, request.path, params=request.query,
                                       data=request.form or None, files=request.files,
                                       headers={"Authorization": "Bearer "
                                                + people.tokens["administrator"]},
                                       follow_redirects=False)
        tried += 1
        if not verdict(answer, expected, method, request.path):
            problems.append(f"{route} with an API token: expected {expected}, got "
                            f"{answer.status_code}")

    # the API: each role's token, then every dead credential
    for route in sorted(api & set(API_EXPECTED)):
        method = route.split(" ", 1)[0]
        for role in ROLES:
            path, body = api_call(matrix, route, role)
            answer = matrix.client.request(method, path, json=body, headers={
                "Authorization": f"Bearer {people.tokens[role]}"})
            tried += 1
            expected = API_EXPECTED[route][role]
            if answer.status_code != expected:
                problems.append(f"{route} as {role}: expected {expected}, got "
                                f"{answer.status_code} {answer.text[:200]}")
            if expected >= 400 and leaked(answer):
                problems.append(f"{route} as {role}: the refusal shows the case")
        path, body = api_call(matrix, route, None)
        for who, headers in people.api.items():
            answer = matrix.client.request(method, path, json=body, headers=headers)
            tried += 1
            if answer.status_code != UNAUTHORIZED or leaked(answer):
                problems.append(f"{route} with {who}: expected 401, got "
                                f"{answer.status_code}")
        cookie, csrf = people.browser[:2]  # a browser's session (and its CSRF token)
        plant(matrix.client, cookie)
        answer = matrix.client.request(method, path, json=body,
                                       headers={"X-CSRF-Token": csrf})
        matrix.client.cookies.clear()
        tried += 1
        if answer.status_code != UNAUTHORIZED:
            problems.append(f"{route} with a browser session: expected 401, got "
                            f"{answer.status_code}")

    assert not problems, f"{len(problems)} of {tried} tries wrong:\n" + "\n".join(problems)
    assert tried > 500, tried
    assert ALLOWED  # (the table's vocabulary, imported for readers)
