"""Driving the web pages in tests: people of every role with passwords, logged in through
the real log-in form (so the session cookie and CSRF token are the ones a browser gets)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import update

from domus.bootstrap import Domus
from services.users import add_user
from store import tables as t
from tests.conftest import NOW
from web.app import create_app

PASSWORD = "correct horse battery staple"
SCHAERBEEK, ANDERLECHT = "21015", "21001"

#: who is who in the web tests: alice works a case in Schaerbeek, bob leads her team,
#: carol is Schaerbeek's administrator, mona the regional monitor (no OCMW, no cases), and
#: eve a caseworker of Anderlecht who must never see a Schaerbeek case.
PEOPLE = {
    "caseworker": ("alice@schaerbeek.be", SCHAERBEEK),
    "team_lead": ("bob@schaerbeek.be", SCHAERBEEK),
    "administrator": ("carol@schaerbeek.be", SCHAERBEEK),
    "monitor": ("mona@region.brussels", None),
    "elsewhere": ("eve@anderlecht.be", ANDERLECHT),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_people(domus: Domus, *, language: str = "nl") -> None:
    for role, (email, ocmw) in PEOPLE.items():
        add_person(domus, email=email, name=email.split("@")[0].title(),
                   role="caseworker" if role == "elsewhere" else role, ocmw=ocmw,
                   language=language)


@cache
def _password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


def add_person(domus: Domus, *, email: str, name: str, role: str, ocmw: str | None,
               language: str = "nl") -> None:
    """A user whose password is PASSWORD. Its argon2 hash is made once per test session
    (hashing costs ~0.1 s and the web tests add hundreds of people); logging in still
    verifies it as in production."""
    add_user(domus.engine, email=email, name=name, role=role, ocmw=ocmw, language=language,
             password=None, now=NOW, rules=domus.rules)
    with domus.engine.begin() as connection:
        connection.execute(update(t.users).where(t.users.c.email == email)
                           .values(password_hash=_password_hash()))


@dataclass
class Browser:
    """A TestClient that remembers the page's CSRF token, like a browser's form would."""

    client: TestClient
    csrf: str = ""

    def get(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        answer = self.client.get(path, **kwargs)
        found = CSRF.search(answer.text) if "text/html" in answer.headers.get(
            "content-type", "") else None
        if found:
            self.csrf = found.group(1)
        return answer

    def post(self, path: str, data: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(path, data=form, follow_redirects=kwargs.pop(
            "follow_redirects", False), **kwargs)


def web_app(domus: Domus, now: datetime = NOW) -> TestClient:
    return TestClient(create_app(domus, clock=lambda: now))


def logged_in(domus: Domus, role: str, *, now: datetime = NOW,
              client: TestClient | None = None) -> Browser:
    """A browser logged in as the person of `role` in PEOPLE (add_people first)."""
    browser = Browser(client or web_app(domus, now))
    page = browser.get("/login")
    assert page.status_code == 200
    answer = browser.client.post("/login", data={
        "email": PEOPLE[role][0], "password": PASSWORD, "csrf_token": browser.csrf,
        "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    browser.get("/account")  # picks up the session's CSRF token
    return browser
