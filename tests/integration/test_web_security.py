"""The web app's security (issue 6): sessions, CSRF, the brake on guessing passwords, no open
redirect, the security headers on every kind of answer, and the authorization matrix that
tries every page route with every role, another OCMW's caseworker and no session.

Where the database keeps the state (sessions, log-in attempts, the matrix) the tests run on
SQLite and PostgreSQL through the `domus` fixture; the app's clock is one the test moves.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.testclient import TestClient
from httpx import Response as Answer
from itsdangerous import Signer
from sqlalchemy import func, select

from domain.access import Actor
from domus.bootstrap import Domus, bootstrap
from domus.settings import Settings
from services import review
from services.intake import ingest_source
from services.letter_templates import PACKAGED, active_template
from services.letters import make_letter
from services.outcomes import record_outcome
from services.readers import inspect_file
from services.sessions import start_session
from services.users import deactivate_user, find_user, issue_token
from services.web_import import IntakeRuns, form_values, keep_upload
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.web_support import CSRF, PASSWORD, PEOPLE, add_people, logged_in
from web.app import create_app
from web.pages_import import ingest_directly
from web.security import SESSION_COOKIE

ALICE, BOB = PEOPLE["caseworker"][0], PEOPLE["team_lead"][0]


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def app_with(domus: Domus, clock: Clock) -> TestClient:
    return TestClient(create_app(domus, clock=clock))


def log_in(client: TestClient, email: str, password: str = PASSWORD,
           next: str = "/") -> Answer:
    """Fill in and send the real log-in form; the answer is not followed."""
    form = client.get("/login")
    token = CSRF.search(form.text)
    assert token, form.text
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token.group(1), "next": next},
                       follow_redirects=False)


def plant(client: TestClient, value: str) -> None:
    """Put `value` in the browser's session cookie, as the server would have set it."""
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, value, domain="testserver.local", path="/")


def visit(client: TestClient | Any, path: str) -> Answer:
    """A GET that is not followed (a Browser or a TestClient)."""
    client = getattr(client, "client", client)
    return client.get(path, follow_redirects=False)


def goes_to_login(answer: Answer, path: str) -> bool:
    return (answer.status_code == 303
            and answer.headers["location"] == "/login?next=" + quote(path, safe=""))


def live_sessions(domus: Domus, email: str) -> int:
    with domus.engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(t.web_sessions.join(t.users))
            .where(t.users.c.email == email, t.web_sessions.c.ended_at.is_(None)))


@pytest.fixture
def lone_domus(tmp_path: Path) -> Iterator[Domus]:
    """Domus on SQLite only, for what does not depend on the database (headers, cookie
    flags, redirects)."""
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'one.db'}",
                             data_dir=tmp_path / "data"))
    yield app
    app.engine.dispose()


# -- sessions -----------------------------------------------------------------------------
def session_cookie_header(answer: Answer) -> str:
    [header] = [h for h in answer.headers.get_list("set-cookie")
                if h.startswith(SESSION_COOKIE + "=")]
    return header.lower()


def test_logging_in_sets_an_httponly_samesite_lax_cookie(lone_domus: Domus) -> None:
    add_people(lone_domus)
    answer = log_in(app_with(lone_domus, Clock()), ALICE)
    assert answer.status_code == 303 and answer.headers["location"] == "/tasks"
    header = session_cookie_header(answer)
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert "secure" not in header  # plain http: a Secure cookie would never come back


def test_the_cookie_is_secure_when_domus_is_reached_over_https(lone_domus: Domus) -> None:
    add_people(lone_domus)
    over_tls = replace(lone_domus, settings=lone_domus.settings.model_copy(
        update={"base_url": "https://domus.schaerbeek.be"}))
    client = TestClient(create_app(over_tls, clock=Clock()), base_url="https://testserver")
    form = client.get("/login")
    [login_csrf] = form.headers.get_list("set-cookie")  # the log-in form's own token
    assert "secure" in login_csrf.lower() and "httponly" in login_csrf.lower()
    answer = log_in(client, ALICE)
    header = session_cookie_header(answer)
    assert "secure" in header and "httponly" in header and "samesite=lax" in header
    assert visit(client, "/tasks").status_code == 200


def test_a_forged_or_tampered_cookie_is_sent_to_the_log_in_page(domus: Domus) -> None:
    add_people(domus)
    alice = logged_in(domus, "caseworker", client=app_with(domus, Clock()))
    real = alice.client.cookies[SESSION_COOKIE]
    token, _, signature = real.rpartition(".")
    forged = [
        "forged",
        token[:-1] + ("A" if token[-1] != "A" else "B") + "." + signature,  # token changed
        token + "." + signature[:-2] + "xx",  # signature changed
        Signer("another secret key of at least 32 chars", salt="domus-session")
        .sign(token).decode(),  # signed with someone else's key
        "",
    ]
    for value in forged:
        plant(alice.client, value)
        assert goes_to_login(visit(alice, "/tasks?due=today"), "/tasks?due=today"), value
        refused = alice.post("/language", {"language": "fr"})
        assert refused.status_code == 401, value
    plant(alice.client, real)  # the real one still works
    assert visit(alice, "/tasks").status_code == 200


def test_a_cookie_whose_session_was_logged_out_is_worthless(domus: Domus) -> None:
    add_people(domus)
    alice = logged_in(domus, "caseworker", client=app_with(domus, Clock()))
    kept = alice.client.cookies[SESSION_COOKIE]
    assert alice.post("/logout").headers["location"] == "/login"
    assert live_sessions(domus, ALICE) == 0
    plant(alice.client, kept)  # a copy made before logging out
    assert goes_to_login(visit(alice, "/tasks"), "/tasks")
    assert alice.post("/logout").status_code == 401


def test_a_session_idle_too_long_ends_but_requests_keep_it_alive(domus: Domus) -> None:
    add_people(domus)
    clock = Clock()
    idle = domus.settings.session_idle_minutes
    alice = logged_in(domus, "caseworker", client=app_with(domus, clock))
    clock.move(minutes=idle - 1)
    assert visit(alice, "/tasks").status_code == 200
    clock.move(minutes=idle - 1)  # idle counts from the last request, not from log-in
    assert visit(alice, "/tasks").status_code == 200
    clock.move(minutes=idle + 1)
    assert goes_to_login(visit(alice, "/tasks"), "/tasks")
    assert live_sessions(domus, ALICE) == 0

    bob = logged_in(domus, "team_lead", client=app_with(domus, clock))
    clock.move(minutes=idle + 1)
    assert bob.post("/language", {"language": "fr"}).status_code == 401
    with domus.engine.connect() as connection:
        assert find_user(connection, BOB).language == "nl"


def test_a_session_ends_after_its_lifetime_however_busy(domus: Domus) -> None:
    add_people(domus)
    clock = Clock()
    lifetime = timedelta(hours=domus.settings.session_max_hours)
    alice = logged_in(domus, "caseworker", client=app_with(domus, clock))
    while clock.now + timedelta(minutes=25) < NOW + lifetime:
        clock.move(minutes=25)
        assert visit(alice, "/tasks").status_code == 200, clock.now
    clock.now = NOW + lifetime + timedelta(minutes=1)  # a request came under 25 minutes ago
    assert goes_to_login(visit(alice, "/tasks"), "/tasks")
    assert alice.post("/logout").status_code == 401


def test_logging_in_makes_a_new_session_and_ends_the_one_held_before(domus: Domus) -> None:
    add_people(domus)
    client = app_with(domus, Clock())
    assert log_in(client, ALICE).status_code == 303
    first = client.cookies[SESSION_COOKIE]
    assert log_in(client, ALICE).status_code == 303
    second = client.cookies[SESSION_COOKIE]
    assert second != first and live_sessions(domus, ALICE) == 1
    plant(client, first)
    assert goes_to_login(visit(client, "/tasks"), "/tasks")


def test_a_session_planted_before_log_in_is_worthless_afterwards(domus: Domus) -> None:
    """Session fixation: an attacker plants their own session cookie in the victim's
    browser; the victim's log-in must not turn it into the victim's session."""
    add_people(domus)
    clock = Clock()
    attacker = logged_in(domus, "elsewhere", client=app_with(domus, clock))
    planted = attacker.client.cookies[SESSION_COOKIE]
    victim = app_with(domus, clock)
    plant(victim, planted)
    assert log_in(victim, ALICE).status_code == 303
    assert victim.cookies[SESSION_COOKIE] != planted
    assert "Alice" in visit(victim, "/account").text
    attacker_view = visit(attacker, "/account")
    assert goes_to_login(attacker_view, "/account")
    assert live_sessions(domus, PEOPLE["elsewhere"][0]) == 0


def test_deactivating_a_user_ends_their_sessions(domus: Domus) -> None:
    add_people(domus)
    clock = Clock()
    alice = logged_in(domus, "caseworker", client=app_with(domus, clock))
    other_tab = logged_in(domus, "caseworker", client=app_with(domus, clock))
    deactivate_user(domus.engine, ALICE, rules=domus.rules, now=NOW)
    assert goes_to_login(visit(alice, "/tasks"), "/tasks")
    assert goes_to_login(visit(other_tab, "/account"), "/account")
    assert log_in(alice.client, ALICE).status_code == 401


# -- CSRF ---------------------------------------------------------------------------------
def snapshot(domus: Domus) -> dict[str, list[str]]:
    """Every row of every table, to show a refused request changed nothing."""
    with domus.engine.connect() as connection:
        return {table.name: sorted(repr(tuple(row)) for row in connection.execute(
            select(table))) for table in t.metadata.sorted_tables}


def test_no_post_route_acts_without_its_sessions_csrf_token(domus: Domus,
                                                            tmp_path: Path) -> None:
    """Every POST page route (from the app's routes), as a role that may use it: without
    the session's token, or with another session's, 403 and not a row changed."""
    add_people(domus)
    matrix = Matrix(domus, tmp_path)
    posts = [route for route in sorted(matrix.routes() & set(EXPECTED))
             if route.startswith("POST ") and route != "POST /login"]
    assert "POST /tasks/{task_id}/done" in posts and "POST /logout" in posts
    for route in posts:
        role = next(r for r in ROLES if EXPECTED[route][r] == ALLOWED)
        request = matrix.request_for(route, role)
        mine, my_other = matrix.session(role), matrix.session(role)  # two browsers
        theirs = matrix.session("team_lead" if role != "team_lead" else "caseworker")
        before = snapshot(domus)
        attempts = {
            "no token": ({}, {}),
            "an empty token": ({"csrf_token": ""}, {}),
            "another person's token": ({"csrf_token": theirs[1]}, {}),
            "the same person's other session's token": ({"csrf_token": my_other[1]}, {}),
            "another session's token in the header": ({}, {"X-CSRF-Token": my_other[1]}),
        }
        for what, (token, headers) in attempts.items():
            plant(matrix.client, mine[0])
            answer = matrix.client.post(request.path, data={**request.form, **token},
                                        files=request.files, params=request.query,
                                        headers=headers, follow_redirects=False)
            assert answer.status_code == 403, (route, role, what, answer.text[:300])
            assert snapshot(domus) == before, (route, role, what)
        # the same request with the token goes through: the 403 was the token's doing
        answer = matrix.send(route, request, mine)
        assert verdict(answer, ALLOWED, "POST", request.path), (route, role, answer.text[:300])


def test_the_log_in_form_needs_its_own_token(domus: Domus) -> None:
    add_people(domus)
    client = app_with(domus, Clock())
    credentials = {"email": ALICE, "password": PASSWORD}
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data=credentials).status_code == 403
    assert client.post("/login", data={**credentials, "csrf_token": "x" + token}
                       ).status_code == 403
    stranger = app_with(domus, Clock())  # the token of a form this browser never loaded
    assert stranger.post("/login", data={**credentials, "csrf_token": token}
                         ).status_code == 403
    with domus.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(t.web_sessions)) == 0
    assert SESSION_COOKIE not in client.cookies and SESSION_COOKIE not in stranger.cookies
    answer = client.post("/login", data={**credentials, "csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303  # with it, the same form logs in


# -- the brake on guessing passwords ------------------------------------------------------
def test_after_too_many_failures_even_the_right_password_waits_a_quarter_hour(
        domus: Domus) -> None:
    add_people(domus)
    clock = Clock()
    client = app_with(domus, clock)
    for _ in range(domus.settings.login_attempts):
        assert log_in(client, ALICE, "wrong password").status_code == 401
    refused = log_in(client, ALICE)
    assert refused.status_code == 429
    assert "Probeer opnieuw over 15 minuten" in refused.text
    assert SESSION_COOKIE not in client.cookies
    assert log_in(app_with(domus, clock), BOB).status_code == 303  # that e-mail only
    assert log_in(client, ALICE.upper()).status_code == 429  # however it is written
    clock.move(minutes=14)
    later = log_in(client, ALICE)
    assert later.status_code == 429 and "over 1 minuten" in later.text
    clock.move(minutes=1)
    assert log_in(client, ALICE).status_code == 303


def test_an_unknown_address_and_a_wrong_password_get_the_same_answer(domus: Domus) -> None:
    add_people(domus)
    strict = replace(domus, settings=domus.settings.model_copy(update={"login_attempts": 2}))
    client = app_with(strict, Clock())
    unknown = log_in(client, "nobody@schaerbeek.be", "wrong password")
    wrong = log_in(client, ALICE, "wrong password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.text.replace("nobody@schaerbeek.be", "E") == wrong.text.replace(ALICE, "E")
    for _ in range(strict.settings.login_attempts - 1):
        log_in(client, "nobody@schaerbeek.be", "wrong password")
        log_in(client, ALICE, "wrong password")
    unknown, wrong = (log_in(client, "nobody@schaerbeek.be"), log_in(client, ALICE))
    assert unknown.status_code == wrong.status_code == 429
    assert unknown.text.replace("nobody@schaerbeek.be", "E") == wrong.text.replace(ALICE, "E")


# -- no open redirect ---------------------------------------------------------------------
ELSEWHERE = ["//evil.example", "https://evil.example", "http:evil.example", "/\\evil.example",
             "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)", "///evil.example",
             "%2F%2Fevil.example"]


def lands_on_domus(location: str) -> bool:
    """Where a browser goes: it drops tabs and newlines and reads \\ as / in a URL."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(cleaned)
    return cleaned.startswith("/") and not cleaned.startswith("//") and not parts.netloc \
        and not parts.scheme


def test_log_in_never_sends_the_browser_to_another_site(lone_domus: Domus) -> None:
    add_people(lone_domus)
    for target in ELSEWHERE:
        client = app_with(lone_domus, Clock())
        form = client.get("/login", params={"next": target})
        assert 'name="next" value="/"' in form.text, target
        answer = log_in(client, ALICE, next=target)
        assert answer.status_code == 303, target
        assert lands_on_domus(answer.headers["location"]), (target, answer.headers["location"])
        language = client.post("/language", data={
            "language": "nl", "next": target,
            "csrf_token": CSRF.search(client.get("/account").text).group(1)},  # type: ignore[union-attr]
            follow_redirects=False)
        assert lands_on_domus(language.headers["location"]), target
    answer = log_in(app_with(lone_domus, Clock()), ALICE, next="/account?tab=calendar")
    assert answer.headers["location"] == "/account?tab=calendar"  # a Domus page is kept


# -- security headers ---------------------------------------------------------------------
def assert_security_headers(answer: Answer, what: str) -> None:
    headers = answer.headers
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, what
    assert "default-src 'self'" in policy and "object-src 'none'" in policy, what
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer",
                                              "strict-origin-when-cross-origin"), what
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert len(headers.get_list(name)) == 1, (what, name)


def test_every_kind_of_answer_carries_the_security_headers(lone_domus: Domus) -> None:
    add_people(lone_domus)
    feed = issue_token(lone_domus.engine, ALICE, kind="calendar", now=NOW)
    api = issue_token(lone_domus.engine, ALICE, kind="api", now=NOW)
    guest = app_with(lone_domus, Clock())
    mona = logged_in(lone_domus, "monitor", client=app_with(lone_domus, Clock()))
    alice = logged_in(lone_domus, "caseworker", client=app_with(lone_domus, Clock()))
    answers = {
        "log-in page": (guest.get("/login"), 200),
        "a page": (alice.get("/tasks"), 200),
        "redirect to log in": (guest.get("/tasks", follow_redirects=False), 303),
        "API answer": (guest.get("/api/tasks", headers={"Authorization": f"Bearer {api}"}),
                       200),
        "API refusal": (guest.get("/api/tasks"), 401),
        "calendar feed": (guest.get(f"/calendar/{feed}.ics"), 200),
        "unknown calendar": (guest.get("/calendar/nothing.ics"), 404),
        "stylesheet": (guest.get("/static/domus.css"), 200),
        "script": (guest.get("/static/domus.js"), 200),
        "missing static file": (guest.get("/static/nothing.css"), 404),
        "not-found page": (alice.get("/no-such-page"), 404),
        "forbidden page": (mona.get("/tasks"), 403),
        "unsafe request without a session": (guest.post("/logout"), 401),
        "wrong method": (guest.put("/login"), 405),
        "health check": (guest.get("/healthz"), 200),
        "OpenAPI description": (guest.get("/openapi.json"), 200),
    }
    for what, (answer, status) in answers.items():
        assert answer.status_code == status, (what, answer.status_code, answer.text[:200])
        assert_security_headers(answer, what)
    assert answers["calendar feed"][0].headers["content-type"].startswith("text/calendar")
    assert "GET" in answers["wrong method"][0].headers.get("allow", "")


def test_error_pages_are_pages_in_the_readers_language(lone_domus: Domus) -> None:
    add_people(lone_domus)
    alice = logged_in(lone_domus, "caseworker", client=app_with(lone_domus, Clock()))
    missing = alice.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "text/html")
    assert "Niet gevonden" in missing.text and "Traceback" not in missing.text
    mona = logged_in(lone_domus, "monitor", client=app_with(lone_domus, Clock()))
    assert "Niet toegestaan" in mona.get("/tasks").text
    guest = app_with(lone_domus, Clock())
    french = guest.get("/no-such-page", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert french.status_code == 404 and "Introuvable" in french.text
    assert guest.get("/api/nothing").headers["content-type"] == "application/json"


# -- the authorization matrix -------------------------------------------------------------
#
# EXPECTED lists every page route of the app: "METHOD /path/{param}" → what each kind of
# visitor gets. A route that exists and is not listed here fails the test, and so does a
# listed route that no longer exists: when you add a page, add its line here.
#
#   ALLOWED    200, or a 303 anywhere but the log-in page
#   FORBIDDEN  403: the role may not use the page
#   NOT_FOUND  404: the object belongs to another OCMW (never 403, never a hint)
#   LOGIN      without a session: a GET is sent to /login?next=<the page> (303), an unsafe
#              request gets 401
#
# Besides the six visitors, an entry may say what the request needs (each value may also be
# a function of the Dataset, called when the request is made):
#   "form":   a POST's form fields (the session's CSRF token is added);
#   "files":  files to upload, as httpx takes them ({"file": ("n.jsonl", b"...", "...")});
#   "query":  query-string parameters;
#   "params": which FILLERS entry fills a path parameter when its name is not enough,
#             e.g. {"case_id": "triage_case"}.
# Path parameters are filled by name from FILLERS (a Schaerbeek case with tasks, a task of
# that case, a letter, a quarantine entry, a kept import, a template version…): add a
# filler when a new name appears. A POST by a role expected to be ALLOWED gets fresh
# objects (its own case, task…), so one role's change does not decide the next one's.
ALLOWED, FORBIDDEN, NOT_FOUND, LOGIN = "allowed", 403, 404, "login"
ROLES = ("caseworker", "team_lead", "administrator", "monitor", "elsewhere")
VISITORS = (*ROLES, "nobody")


def answers(caseworker: Any, team_lead: Any, administrator: Any, monitor: Any,
            elsewhere: Any, nobody: Any = LOGIN, **request: Any) -> dict[str, Any]:
    """One row of the table; `elsewhere` is a caseworker of Anderlecht."""
    return {"caseworker": caseworker, "team_lead": team_lead,
            "administrator": administrator, "monitor": monitor, "elsewhere": elsewhere,
            "nobody": nobody, **request}


EVERYONE = answers(ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED)
OPEN = answers(ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, nobody=ALLOWED)
STAFF_OWN = answers(ALLOWED, ALLOWED, ALLOWED, FORBIDDEN, ALLOWED)  # each their own OCMW's
STAFF_CASE = answers(ALLOWED, ALLOWED, ALLOWED, FORBIDDEN, NOT_FOUND)  # a Schaerbeek object
LEADS = answers(FORBIDDEN, ALLOWED, ALLOWED, FORBIDDEN, FORBIDDEN)
ADMINS = answers(FORBIDDEN, FORBIDDEN, ALLOWED, FORBIDDEN, FORBIDDEN)
MONITORING = answers(FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, FORBIDDEN)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXPECTED: dict[str, dict[str, Any]] = {
    # web/app.py
    "GET /healthz": OPEN,
    # web/pages_account.py
    "GET /login": OPEN,
    # without the log-in form's own token every log-in is refused (tested on its own above)
    "POST /login": answers(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                           nobody=FORBIDDEN, form={"email": ALICE, "password": PASSWORD}),
    "POST /logout": EVERYONE,
    "GET /": EVERYONE,
    "POST /language": {**EVERYONE, "form": {"language": "fr", "next": "/account"}},
    "GET /account": EVERYONE,
    "POST /account/calendar": STAFF_OWN,
    # web/pages_tasks.py
    "GET /tasks": STAFF_OWN,
    "POST /tasks/{task_id}/done": {**STAFF_CASE, "form": {"next": "/tasks"}},
    # web/pages_cases.py
    "GET /cases": STAFF_OWN,
    "GET /cases/{case_id}": STAFF_CASE,
    "POST /cases/{case_id}/contacts": {**STAFF_CASE, "form": {"contact": "phone/reached"}},
    "POST /cases/{case_id}/outcome": {**STAFF_CASE,
                                      "form": {"code": "kept_payment_plan", "on": "2026-11-20"}},
    "POST /cases/{case_id}/reopen": answers(FORBIDDEN, ALLOWED, ALLOWED, FORBIDDEN, FORBIDDEN,
                                            params={"case_id": "closed_case"},
                                            form={"reason": "the payment plan failed"}),
    "POST /cases/{case_id}/letters": {**STAFF_CASE,
                                      "form": {"kind": "tenant_invitation", "language": "fr"}},
    "GET /cases/{case_id}/letters/{letter_id}": STAFF_CASE,
    "POST /cases/{case_id}/tasks/{task_id}/assign": {**LEADS, "form": {"assignee": BOB}},
    # the audit trail is for a data-protection request: administrators only (issue 6)
    "GET /cases/{case_id}/audit.json": answers(FORBIDDEN, FORBIDDEN, ALLOWED, FORBIDDEN,
                                               FORBIDDEN),
    # web/pages_team.py
    "GET /team": LEADS,
    "POST /team/tasks/{task_id}/assign": {**LEADS, "form": {"assignee": BOB}},
    "POST /team/move": {**LEADS, "form": {"from": ALICE, "to": "queue"}},
    # web/pages_monitoring.py
    "GET /monitoring": MONITORING,
    "GET /monitoring/chart.svg": MONITORING,
    "GET /monitoring/stats.csv": MONITORING,
    "GET /monitoring/stats.xlsx": MONITORING,
    # web/pages_import.py
    "GET /import": ADMINS,
    "POST /import": {**ADMINS, "files": lambda data: {"file": (
        "notices.jsonl", data.notices_file(), "application/json")}},
    "GET /import/batches/{ref}": ADMINS,
    "POST /import/batches/{ref}/run": ADMINS,
    "GET /import/notice": ADMINS,
    "POST /import/notice": {**ADMINS, "form": lambda data: form_values(data.notice())},
    "GET /import/quarantine": ADMINS,
    "GET /import/quarantine/{entry_id}": ADMINS,
    "POST /import/quarantine/{entry_id}": {**ADMINS,
                                           "form": {"hearing_at": "2026-12-10T09:30:00"}},
    "GET /import/triage": ADMINS,
    "POST /import/triage/{case_id}": {**ADMINS, "params": {"case_id": "triage_case"},
                                      "form": {"ocmw": "21015"}},
    # web/pages_templates.py
    "GET /templates": ADMINS,
    "POST /templates": {**ADMINS, "form": {"kind": "tenant_invitation", "lang": "fr"},
                        "files": lambda data: {"file": (
                            "invitation.docx", data.template_file(), DOCX_TYPE)}},
    "POST /templates/{kind}/{lang}/{version}/activate": ADMINS,
    "GET /templates/{kind}/{lang}/{version}.docx": ADMINS,
}
#: routes the matrix leaves to others: the API (tests/integration/test_api.py), the
#: calendar feed (test_calendar_feed.py), static files and the API's documentation
SKIPPED_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static"}
SKIPPED_PREFIXES = ("/static/", "/api/", "/calendar/")


@dataclass
class Dataset:
    """What path parameters and forms are filled with: Schaerbeek's (21015) objects."""

    domus: Domus
    folder: Path
    shared: dict[str, Any] = field(default_factory=dict)
    made: int = 0

    def get(self, name: str, values: dict[str, Any], fresh: bool) -> Any:
        """The object `name` (its shared one, or with `fresh` a new one); `values` are the
        parameters filled before it in the same path (a task of *that* case)."""
        if fresh:
            return FILLERS[name](self, values)
        key = f"{name} {sorted(values.items())}"
        if key not in self.shared:
            self.shared[key] = FILLERS[name](self, values)
        return self.shared[key]

    def docket(self) -> str:
        self.made += 1
        return f"26M{self.made:04d}"

    def notice(self, **changes: Any) -> dict[str, Any]:
        return petition(self.docket(), **changes)

    def notices_file(self, **changes: Any) -> bytes:
        return json.dumps(self.notice(**changes)).encode()

    def ingest(self, **changes: Any) -> Any:
        """Ingest one notice as an administrator's upload kept in incoming/ would be."""
        path = keep_upload(self.domus.settings.data_dir, "notices.jsonl",
                           io.BytesIO(self.notices_file(**changes)), now=NOW)
        summary = ingest_source(self.domus.engine, inspect_file(path), rules=self.domus.rules,
                                now=NOW)
        return summary, path

    def case(self, values: dict[str, Any]) -> str:
        """A Schaerbeek case with its open tasks (alice is its caseworker)."""
        return self.ingest()[0].cases[0]

    def closed_case(self, values: dict[str, Any]) -> str:
        case_id = self.case(values)
        record_outcome(self.domus.engine, case_id, "kept_payment_plan", on=NOW.date(),
                       actor=Actor.operator(), now=NOW)
        return case_id

    def triage_case(self, values: dict[str, Any]) -> str:
        """A case whose OCMW could not be told from its address."""
        return self.ingest(dwelling__postcode="1030", dwelling__municipality="Evere")[0].cases[0]

    def task(self, values: dict[str, Any]) -> int:
        """An open task of the case in the path, else of a case of its own."""
        case_id = values.get("case_id") or self.case(values)
        with self.domus.engine.connect() as connection:
            return connection.scalar(select(func.min(t.tasks.c.id)).where(
                t.tasks.c.case_id == case_id, t.tasks.c.status == "open"))

    def letter(self, values: dict[str, Any]) -> int:
        made = make_letter(self.domus.engine, values.get("case_id") or self.case(values),
                           "tenant_invitation", "fr", actor=Actor.operator(),
                           data_dir=self.domus.settings.data_dir, profiles=self.domus.profiles,
                           calendar=self.domus.rules.calendar, now=NOW)
        return made["id"]

    def quarantine_entry(self, values: dict[str, Any]) -> int:
        self.ingest(hearing_at="bientôt")
        with self.domus.engine.connect() as connection:
            entries = review.quarantined(connection, Actor.operator())
        return max(entry["id"] for entry in entries)

    def kept_import(self, values: dict[str, Any]) -> str:
        """A file an administrator uploaded, ingested: the batch page's reference."""
        return self.ingest()[1].name

    def template_file(self) -> bytes:
        return (PACKAGED / "fr" / "tenant_invitation.docx").read_bytes()

    def template_version(self, values: dict[str, Any]) -> int:
        with self.domus.engine.begin() as connection:
            return active_template(connection, values.get("kind", "tenant_invitation"),
                                   values.get("lang", "fr"), now=NOW).version


#: path parameter (or "params" name) → how to make the object
FILLERS: dict[str, Callable[[Dataset, dict[str, Any]], Any]] = {
    "case_id": Dataset.case,
    "closed_case": Dataset.closed_case,
    "triage_case": Dataset.triage_case,
    "task_id": Dataset.task,
    "letter_id": Dataset.letter,
    "entry_id": Dataset.quarantine_entry,
    "ref": Dataset.kept_import,
    "kind": lambda data, values: "tenant_invitation",
    "lang": lambda data, values: "fr",
    "version": Dataset.template_version,
}


def page_routes(app: FastAPI) -> set[str]:
    """Every "METHOD /path" of the app but those SKIPPED."""
    try:  # FastAPI ≥ 0.150 keeps included routers as branches
        from fastapi.routing import iter_route_contexts
        routes: Any = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI lists them flat
        routes = app.routes
    found = set()
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods or path in SKIPPED_PATHS \
                or path.startswith(SKIPPED_PREFIXES):
            continue
        found |= {f"{method} {path}" for method in methods if method != "HEAD"}
    return found


@dataclass
class Call:
    path: str
    form: dict[str, Any]
    files: Any
    query: Any


class Matrix:
    """One app, its dataset, and a new session for every request (nothing carries over from
    one route to the next). Uploads are ingested within the request, without Prefect."""

    def __init__(self, domus: Domus, folder: Path) -> None:
        self.domus = domus
        self.app = create_app(domus, clock=lambda: NOW)
        self.app.state.intake_runs = IntakeRuns(partial(ingest_directly, domus),
                                                background=False)
        self.client = TestClient(self.app)
        self.data = Dataset(domus, folder)

    def routes(self) -> set[str]:
        return page_routes(self.app)

    def session(self, role: str) -> tuple[str, str]:
        """A new session of the person of `role`: (cookie value, CSRF token), as logging
        in would give (without the password hashing, which would make this slow)."""
        with self.domus.engine.connect() as connection:
            user = find_user(connection, PEOPLE[role][0])
        token, session = start_session(self.domus.engine, user, now=NOW, ip="testclient")
        response = Response()
        self.app.state.cookies.set_session(response, token)
        cookie: SimpleCookie = SimpleCookie(response.headers["set-cookie"])
        return cookie[SESSION_COOKIE].value, session.csrf_token

    def request_for(self, route: str, visitor: str) -> Call:
        """The path with its parameters filled, the form (without a CSRF token), files."""
        method, template = route.split(" ", 1)
        entry = EXPECTED[route]
        fresh = method != "GET" and entry.get(visitor) == ALLOWED
        chosen = entry.get("params", {})
        values: dict[str, Any] = {}
        for name in re.findall(r"{(\w+)(?::\w+)?}", template):
            filler = chosen.get(name, name)
            assert filler in FILLERS, f"{route}: add a filler for {{{name}}} to FILLERS"
            values[name] = self.data.get(filler, dict(values), fresh)
        path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: quote(str(values[m.group(1)]), safe=""),
                      template)

        def made(value: Any) -> Any:
            return value(self.data) if callable(value) else value

        form = made(entry.get("form", {}))
        return Call(path, {key: made(value) for key, value in form.items()},
                       made(entry.get("files")), made(entry.get("query")))

    def send(self, route: str, request: Call, session: tuple[str, str] | None,
             *, token: bool = True) -> Answer:
        method = route.split(" ", 1)[0]
        form = dict(request.form)
        self.client.cookies.clear()
        if session is not None:
            plant(self.client, session[0])
            if method != "GET" and token:
                form["csrf_token"] = session[1]
        if method == "GET":
            return self.client.get(request.path, params=request.query, follow_redirects=False)
        return self.client.request(method, request.path, params=request.query, data=form,
                                   files=request.files, follow_redirects=False)


DETAIL = re.compile(r'class="detail">([^<]*)<')


def verdict(answer: Answer, expected: Any, method: str, path: str) -> bool:
    location = answer.headers.get("location", "")
    if expected == ALLOWED:
        return answer.status_code == 200 or (answer.status_code == 303
                                             and not location.startswith("/login?next="))
    if expected == LOGIN:
        if method == "GET":
            return answer.status_code == 303 and location == "/login?next=" + quote(
                path, safe="")
        return answer.status_code == 401
    return answer.status_code == expected


def test_every_page_route_answers_each_visitor_as_the_table_says(domus: Domus,
                                                                 tmp_path: Path) -> None:
    add_people(domus)
    matrix = Matrix(domus, tmp_path)
    routes = matrix.routes()
    problems = [f"{route}: not in EXPECTED (add it to the table in this file)"
                for route in sorted(routes - set(EXPECTED))]
    problems += [f"{route}: in EXPECTED but the app has no such route"
                 for route in sorted(set(EXPECTED) - routes)]
    for route in sorted(routes & set(EXPECTED)):
        method = route.split(" ", 1)[0]
        for visitor in VISITORS:
            expected = EXPECTED[route][visitor]
            request = matrix.request_for(route, visitor)
            session = matrix.session(visitor) if visitor != "nobody" else None
            answer = matrix.send(route, request, session)
            if not verdict(answer, expected, method, request.path):
                detail = DETAIL.search(answer.text) if answer.status_code >= 400 else None
                problems.append(f"{route} as {visitor}: expected {expected}, got "
                                f"{answer.status_code} {answer.headers.get('location', '')}"
                                f"{detail.group(1) if detail else ''}")
    assert not problems, "\n".join(problems)


def test_the_matrix_can_tell_a_wrong_answer(domus: Domus, tmp_path: Path) -> None:
    """The matrix's own check: a caseworker of another OCMW who got a Schaerbeek task done
    would be reported, and so would a page left open without a session."""
    add_people(domus)
    matrix = Matrix(domus, tmp_path)
    route = "POST /tasks/{task_id}/done"
    request = matrix.request_for(route, "elsewhere")
    refused = matrix.send(route, request, matrix.session("elsewhere"))
    assert verdict(refused, NOT_FOUND, "POST", request.path)
    assert not verdict(refused, ALLOWED, "POST", request.path)
    done = matrix.send(route, matrix.request_for(route, "caseworker"),
                       matrix.session("caseworker"))
    assert verdict(done, ALLOWED, "POST", request.path)
    open_page = matrix.send("GET /healthz", Call("/healthz", {}, None, None), None)
    assert not verdict(open_page, LOGIN, "GET", "/healthz")
