"""Access control against a live server (issue 8): `python -m bench.access [--seconds 20]`.

Starts `domus serve` on a fresh SQLite database in its own process and, over real sockets
with real cookies:

1. tries every route of the app (read from the app; pages, API, calendar feed) as every
   role, a caseworker of another OCMW, and every dead credential of
   tests/integration/test_access_matrix.py (idle and outlived sessions, logged out,
   forged cookie, deactivated user, forged/revoked/deactivated tokens, a token on a page,
   a session on the API): prints routes × principals tried, denials, wrong answers and
   leaks (a refusal showing the case: must be 0);
2. the brake on password guessing, measured on the wall clock for `--seconds` each: one
   client guessing one account, then one client address guessing many accounts;
   guesses per hour are the checked guesses (answered 401, the password verified) per
   attempt window, and an hour is also driven through the app's clock in process (a guess
   every 10 s for 3,600 s) and counted;
3. a session-fixation attempt (before 2: the brake then closes this client address too):
   a cookie planted before log-in must be worthless after.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("domus serve did not start")


def form_token(http: httpx.Client) -> str:
    from tests.web_support import CSRF
    found = CSRF.search(http.get("/login").text)
    assert found
    return found.group(1)


def guess(http: httpx.Client, email: str, password: str = "wrong password!") -> int:
    return http.post("/login", data={"email": email, "password": password,
                                     "csrf_token": form_token(http), "next": "/"},
                     follow_redirects=False).status_code


def matrix(domus: Any, url: str, folder: Path) -> dict[str, int]:
    """Every route × every principal over HTTP."""
    import tests.integration.test_access_matrix as access_tests
    import tests.integration.test_web_security as web_tests
    from tests.integration.test_access_matrix import (
        API_EXPECTED,
        OTHER,
        Principals,
        api_call,
        every_route,
    )
    from tests.integration.test_web_security import EXPECTED, LOGIN, ROLES, Matrix, verdict
    from tests.web_support import add_people
    from web.app import now_in_brussels
    from web.security import SESSION_COOKIE
    # the tests' fixed "now" made the server's: sessions and notices of today
    access_tests.NOW = web_tests.NOW = now_in_brussels()
    add_people(domus)
    grid = Matrix(domus, folder)
    people = Principals(domus, grid)
    leaks = re.compile(r"El Idrissi|Amina|Josaphat|26M\d{4}")
    figures = {"routes": 0, "principals": len(ROLES) + len(people.sessions) + 1,
               "tried": 0, "denied": 0, "wrong": 0, "leaks": 0}
    routes = every_route(grid.app)
    figures["routes"] = len(routes)
    unlisted = routes - set(EXPECTED) - set(API_EXPECTED) - OTHER
    figures["wrong"] += len(unlisted)

    def tally(answer: httpx.Response, ok: bool, refused: bool) -> None:
        figures["tried"] += 1
        location = answer.headers.get("location", "")
        if answer.status_code in (401, 403, 404, 422, 429) or location.startswith("/login"):
            figures["denied"] += 1
        if not ok:
            figures["wrong"] += 1
            print(f"  WRONG {answer.request.method} {answer.request.url.path}: "
                  f"{answer.status_code} {location}")
        if refused and leaks.search(answer.text):
            figures["leaks"] += 1
            print(f"  LEAK {answer.request.method} {answer.request.url.path}")

    with httpx.Client(base_url=url, timeout=30) as http:
        def page(route: str, call: Any, session: tuple[str, str] | None,
                 headers: dict[str, str] | None = None) -> httpx.Response:
            method = route.split(" ", 1)[0]
            sent = dict(headers or {})
            form = dict(call.form)
            if session:
                sent["Cookie"] = f"{SESSION_COOKIE}={session[0]}"
                if method != "GET":
                    form["csrf_token"] = session[1]
            http.cookies.clear()
            return http.request(method, call.path, params=call.query, data=form or None,
                                files=call.files, headers=sent, follow_redirects=False)

        for route in sorted(routes & set(EXPECTED)):
            method = route.split(" ", 1)[0]
            for role in ROLES:
                expected = EXPECTED[route][role]
                call = grid.request_for(route, role)
                answer = page(route, call, grid.session(role))
                tally(answer, verdict(answer, expected, method, call.path),
                      expected in (403, 404))
            expected = EXPECTED[route]["nobody"]
            call = grid.request_for(route, "nobody")
            for session in people.sessions.values():
                answer = page(route, call, session)
                tally(answer, verdict(answer, expected, method, call.path), expected == LOGIN)
            answer = page(route, call, None, {"Authorization": "Bearer "
                                              + people.tokens["administrator"]})
            tally(answer, verdict(answer, expected, method, call.path), expected == LOGIN)
        for route in sorted(routes & set(API_EXPECTED)):
            method = route.split(" ", 1)[0]
            for role in ROLES:
                path, body = api_call(grid, route, role)
                answer = http.request(method, path, json=body, headers={
                    "Authorization": f"Bearer {people.tokens[role]}"})
                expected = API_EXPECTED[route][role]
                tally(answer, answer.status_code == expected, expected >= 400)
            path, body = api_call(grid, route, None)
            for headers in people.api.values():
                answer = http.request(method, path, json=body, headers=headers)
                tally(answer, answer.status_code == 401, True)
            answer = http.request(method, path, json=body, headers={
                "Cookie": f"{SESSION_COOKIE}={people.browser[0]}",
                "X-CSRF-Token": people.browser[1]})
            tally(answer, answer.status_code == 401, True)
        for token in ("A" * 43, people.tokens["caseworker"], ""):
            answer = http.get(f"/calendar/{token}.ics")
            tally(answer, answer.status_code == 404, True)
    return figures


def brake(url: str, seconds: float) -> list[str]:
    """Guesses sent for `seconds` on the wall clock: at one account, then from one address
    at a new account each time; how many were checked (401) and how many refused (429)."""
    from services.sessions import ATTEMPT_WINDOW
    from tests.web_support import PEOPLE
    lines = []
    per_hour = timedelta(hours=1) / ATTEMPT_WINDOW
    for label, emails in (("one account", lambda i: PEOPLE["team_lead"][0]),
                          ("one address, a new account each guess",
                           lambda i: f"guess{i}@schaerbeek.be")):
        checked = refused = 0
        started = time.monotonic()
        with httpx.Client(base_url=url, timeout=30) as http:
            i = 0
            while time.monotonic() - started < seconds:
                status = guess(http, emails(i))
                checked += status == 401
                refused += status == 429
                i += 1
        elapsed = time.monotonic() - started
        capped = "the brake closed" if refused else "the brake not reached yet"
        lines.append(f"{label}: {checked + refused} guesses in {elapsed:.0f} s, {checked} "
                     f"checked, {refused} refused ({capped}); at most {checked} per "
                     f"{ATTEMPT_WINDOW.seconds // 60} min = {checked * per_hour:g}/hour"
                     if refused else
                     f"{label}: {checked} guesses in {elapsed:.0f} s, all checked "
                     f"({checked / elapsed * 3600:,.0f}/hour unbraked pace; {capped})")
    return lines


def driven_hour(domus: Any) -> dict[str, int]:
    """An hour of guessing, a guess every 10 s, through the app's clock (in process)."""
    from fastapi.testclient import TestClient

    from tests.conftest import NOW
    from tests.web_support import PEOPLE
    from web.app import create_app
    now = [NOW + timedelta(days=1)]
    client = TestClient(create_app(domus, clock=lambda: now[0]))
    checked = {"account": 0, "address": 0}
    for i in range(360):
        for label, email in (("account", PEOPLE["monitor"][0]),
                             ("address", f"hour{i}@schaerbeek.be")):
            form = client.get("/login").text
            from tests.web_support import CSRF
            status = client.post("/login", data={
                "email": email, "password": "wrong password!",
                "csrf_token": CSRF.search(form).group(1)},  # type: ignore[union-attr]
                follow_redirects=False).status_code
            checked[label] += status == 401
        now[0] += timedelta(seconds=10)
    return checked


def fixation(domus: Any, url: str) -> bool:
    """An attacker's own session cookie planted in the victim's browser before log-in."""
    from tests.web_support import PASSWORD, PEOPLE
    from web.security import SESSION_COOKIE
    with httpx.Client(base_url=url) as attacker, httpx.Client(base_url=url) as victim:
        assert attacker.post("/login", data={
            "email": PEOPLE["elsewhere"][0], "password": PASSWORD,
            "csrf_token": form_token(attacker)}, follow_redirects=False).status_code == 303
        planted = attacker.cookies[SESSION_COOKIE]
        victim.cookies.set(SESSION_COOKIE, planted)
        answer = victim.post("/login", data={"email": PEOPLE["administrator"][0],
                                             "password": PASSWORD,
                                             "csrf_token": form_token(victim)},
                             follow_redirects=False)
        assert answer.status_code == 303, answer.text[:300]
        new = answer.cookies.get(SESSION_COOKIE)
        with httpx.Client(base_url=url) as replay:
            replay.cookies.set(SESSION_COOKIE, planted)
            dead = replay.get("/account", follow_redirects=False).status_code == 303
        return bool(new) and new != planted and dead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="domus-access-"))
    os.environ["DOMUS_DATABASE_URL"] = f"sqlite:///{folder / 'domus.db'}"
    os.environ["DOMUS_DATA_DIR"] = str(folder / "data")
    from domus.bootstrap import bootstrap
    from domus.settings import Settings
    domus = bootstrap(Settings())  # the schema and the secret key the server will use
    url = f"http://127.0.0.1:{options.port}"
    server = subprocess.Popen([str(Path(sys.executable).parent / "domus"), "serve",
                               "--port", str(options.port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(url)
        started = time.monotonic()
        figures = matrix(domus, url, folder)
        print(f"matrix over HTTP: {figures['routes']} routes, {figures['principals']} page "
              f"principals + API tokens; {figures['tried']} requests in "
              f"{time.monotonic() - started:.1f} s; denied {figures['denied']}, "
              f"wrong {figures['wrong']}, leaks {figures['leaks']} (must be 0 and 0)")
        print(f"session fixation: planted cookie worthless after log-in: {fixation(domus, url)}")
        for line in brake(url, options.seconds):
            print(f"brake, {line}")
        hour = driven_hour(domus)
        print(f"brake, an hour driven through the app's clock, a guess every 10 s (360): "
              f"one account {hour['account']} checked/hour, one address over new "
              f"accounts {hour['address']} checked/hour")
    finally:
        server.terminate()
        server.wait(10)
        domus.engine.dispose()


if __name__ == "__main__":
    main()
