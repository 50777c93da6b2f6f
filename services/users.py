"""Staff and monitors: who they are, their passwords (argon2) and their tokens.

An API token or a calendar-feed token is shown once and only its SHA-256 is stored, so a
copy of the database gives no one access. A calendar token is separate from the API token:
it only reads one calendar, and revoking it does not touch the API token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Engine, func, select, update

from domain.access import Actor
from domain.routing import OCMWS
from domain.rulebook import RuleBook
from services.assignment import assign_waiting_tasks
from store import tables as t

ROLES = ("caseworker", "team_lead", "administrator", "monitor")
LANGUAGES = ("nl", "fr")
TOKEN_KINDS = ("api", "calendar")
MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher()


class UserError(ValueError):
    """A user that cannot be created or found; the message names the field."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    ocmw: str | None
    language: str
    active: bool

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(row.id, row.email, row.name, row.role, row.ocmw, row.language, row.active)

    def actor(self) -> Actor:
        return Actor(self.email, self.role, self.ocmw)

    def as_json(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "role": self.role, "ocmw": self.ocmw,
                "language": self.language, "active": self.active}


def normalise_email(email: str) -> str:
    """The address as stored: checked for its syntax (no DNS lookup), lower-cased."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise UserError(f"e-mail {email!r}: {exc}") from None


def add_user(
    engine: Engine, *, email: str, name: str, role: str, ocmw: str | None,
    language: str = "nl", password: str | None, now: datetime,
    known_ocmws: Mapping[str, Any] = OCMWS, rules: RuleBook | None = None,
) -> User:
    """Create a user. Staff belong to one OCMW (its NIS code); a regional monitor to none.
    A new caseworker takes over the tasks waiting in the OCMW's team queue, by the OCMW's
    assignment rule (with `rules`), in the same transaction."""
    email = normalise_email(email)
    if not name.strip():
        raise UserError("--name: a user needs a name")
    if role not in ROLES:
        raise UserError(f"--role {role!r}: one of {', '.join(ROLES)}")
    if role == "monitor" and ocmw:
        raise UserError("--ocmw: a monitor sees every OCMW's figures and belongs to none")
    if role != "monitor":
        if not ocmw:
            raise UserError(f"--ocmw: a {role} belongs to one OCMW (its NIS code, e.g. 21015)")
        if not (len(ocmw) == 5 and ocmw.isdigit()):
            raise UserError(f"--ocmw {ocmw!r}: the OCMW's NIS code, five digits (e.g. 21015)")
        if known_ocmws and ocmw not in known_ocmws:
            raise UserError(f"--ocmw {ocmw!r}: not an OCMW code of this region")
    if language not in LANGUAGES:
        raise UserError(f"--lang {language!r}: nl or fr")
    password_hash = None
    if password is not None:
        check_password(password)
        password_hash = _HASHER.hash(password)
    with engine.begin() as connection:
        if connection.scalar(select(t.users.c.id).where(t.users.c.email == email)):
            raise UserError(f"user {email} exists already")
        user_id = connection.execute(t.users.insert().values(
            email=email, name=name.strip(), role=role, ocmw=ocmw or None, language=language,
            password_hash=password_hash, active=True, created_at=now,
        )).inserted_primary_key[0]
        user = User(user_id, email, name.strip(), role, ocmw or None, language, True)
        if role == "caseworker" and rules is not None and ocmw:
            assign_waiting_tasks(connection, ocmw=ocmw, rules=rules, now=now)
    return user


def deactivate_user(engine: Engine, email: str, *, rules: RuleBook,
                    now: datetime) -> int:
    """A user who leaves: no more log-in, tokens or e-mails; their open tasks go back to
    the team queue and, by the OCMW's rule, to the other caseworkers. Returns how many
    open tasks they held."""
    with engine.begin() as connection:
        user = find_user(connection, email)
        connection.execute(update(t.users).where(t.users.c.id == user.id).values(active=False))
        for kind in TOKEN_KINDS:
            _revoke(connection, user.id, kind, now)
        connection.execute(update(t.web_sessions).where(
            t.web_sessions.c.user_id == user.id, t.web_sessions.c.ended_at.is_(None))
            .values(ended_at=now))  # logged out everywhere
        held = connection.execute(update(t.tasks).where(
            t.tasks.c.assignee == user.email, t.tasks.c.status == "open")
            .values(assignee=None, updated_at=now)).rowcount
        connection.execute(update(t.cases).where(t.cases.c.caseworker == user.email)
                           .values(caseworker=None))
        if user.ocmw:
            assign_waiting_tasks(connection, ocmw=user.ocmw, rules=rules, now=now)
    return held


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def set_password(engine: Engine, email: str, password: str) -> None:
    check_password(password)
    with engine.begin() as connection:
        user = find_user(connection, email)
        connection.execute(update(t.users).where(t.users.c.id == user.id)
                           .values(password_hash=_HASHER.hash(password)))


def verify_password(connection: Connection, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (never says which was wrong)."""
    row = connection.execute(select(t.users).where(
        t.users.c.email == email.strip().lower(), t.users.c.active.is_(True))).first()
    if row is None or row.password_hash is None:
        _HASHER.hash(password)  # the same work either way: no timing hint
        return None
    try:
        _HASHER.verify(row.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return User.from_row(row)


def set_language(engine: Engine, email: str, language: str) -> None:
    """The user's language for the web app, e-mails and calendar labels."""
    if language not in LANGUAGES:
        raise UserError(f"language {language!r}: nl or fr")
    with engine.begin() as connection:
        connection.execute(update(t.users).where(t.users.c.email == email.strip().lower())
                           .values(language=language))


def find_user(connection: Connection, email: str) -> User:
    row = connection.execute(select(t.users).where(
        t.users.c.email == email.strip().lower())).first()
    if row is None:
        raise UserError(f"no user {email.strip()!r}")
    return User.from_row(row)


def list_users(connection: Connection, *, ocmw: str | None = None) -> list[User]:
    query = select(t.users).order_by(t.users.c.ocmw, t.users.c.role, t.users.c.email)
    if ocmw:
        query = query.where(t.users.c.ocmw == ocmw)
    return [User.from_row(row) for row in connection.execute(query)]


def issue_token(engine: Engine, email: str, *, kind: str, now: datetime,
                revoke_others: bool = False) -> str:
    """A new secret token of `kind` for this user; only its digest is kept. With
    `revoke_others`, the user's earlier tokens of that kind stop working."""
    if kind not in TOKEN_KINDS:
        raise UserError(f"token kind {kind!r}: one of {TOKEN_KINDS}")
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        user = find_user(connection, email)
        if not user.active:
            raise UserError(f"user {user.email} is deactivated")
        if revoke_others:
            _revoke(connection, user.id, kind, now)
        connection.execute(t.tokens.insert().values(
            user_id=user.id, kind=kind, token_sha256=_digest(token), created_at=now))
    return token


def revoke_tokens(engine: Engine, email: str, *, kind: str, now: datetime) -> int:
    """Revoke every token of `kind` of this user; returns how many were live."""
    with engine.begin() as connection:
        return _revoke(connection, find_user(connection, email).id, kind, now)


def _revoke(connection: Connection, user_id: int, kind: str, now: datetime) -> int:
    return connection.execute(update(t.tokens).where(
        t.tokens.c.user_id == user_id, t.tokens.c.kind == kind,
        t.tokens.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount


def user_for_token(connection: Connection, token: str, *, kind: str) -> User | None:
    """The active user holding this live token of `kind`, or None."""
    row = connection.execute(
        select(t.users).join(t.tokens, t.tokens.c.user_id == t.users.c.id).where(
            t.tokens.c.token_sha256 == _digest(token), t.tokens.c.kind == kind,
            t.tokens.c.revoked_at.is_(None), t.users.c.active.is_(True))
    ).first()
    return User.from_row(row) if row else None


def caseworkers_by_ocmw(connection: Connection, ocmws: set[str]) -> dict[str, list[str]]:
    """Active caseworkers' e-mails per OCMW, for the OCMWs given."""
    found: dict[str, list[str]] = {}
    if not ocmws:
        return found
    for ocmw, email in connection.execute(
        select(t.users.c.ocmw, t.users.c.email).where(
            t.users.c.role == "caseworker", t.users.c.active.is_(True),
            t.users.c.ocmw.in_(sorted(ocmws))).order_by(t.users.c.email)
    ):
        found.setdefault(ocmw, []).append(email)
    return found


def active_user_count(connection: Connection) -> int:
    return connection.scalar(select(func.count()).select_from(t.users)
                             .where(t.users.c.active.is_(True))) or 0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
