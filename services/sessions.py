"""Web log-in sessions and the brake on guessing passwords (issue 6).

A session is a random token in a signed cookie; the database keeps only its SHA-256, so a
copy of the database opens no session. Logging in always makes a new session (a session
id planted before log-in is worthless), and a session ends at log-out, after
`idle` without a request, after `lifetime` in any case, or when its user is deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from services.users import User
from store import tables as t

#: a session's last-seen time is written at most this often (not on every request)
TOUCH_EVERY = timedelta(seconds=60)
#: the window in which failed log-ins are counted
ATTEMPT_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class WebSession:
    id: str  # the token's digest
    user: User
    csrf_token: str


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


def start_session(engine: Engine, user: User, *, now: datetime, ip: str | None,
                  replaces: str | None = None) -> tuple[str, WebSession]:
    """A new session for `user`; returns the token for the cookie. The session the browser
    held before (`replaces`, a token) is ended."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if replaces:
            _end(connection, digest(replaces), now)
        connection.execute(t.web_sessions.insert().values(
            id=digest(token), user_id=user.id, csrf_token=csrf, created_at=now,
            last_seen_at=now, ip=(ip or "")[:64]))
    return token, WebSession(digest(token), user, csrf)


#: built once: every page request runs it (building it cost five times running it)
_SESSION = (select(t.web_sessions.c.csrf_token, t.web_sessions.c.created_at,
                   t.web_sessions.c.last_seen_at, t.web_sessions.c.ended_at, t.users)
            .join(t.users, t.users.c.id == t.web_sessions.c.user_id)
            .where(t.web_sessions.c.id == bindparam("key")))


def load_session(engine: Engine, token: str, *, now: datetime,
                 policy: SessionPolicy) -> WebSession | None:
    """The live session of this token, its last-seen time moved on; None when there is
    none, it ended, it has been idle too long or outlived its lifetime, or its user left."""
    key = digest(token)
    with engine.connect() as connection:
        row = connection.execute(_SESSION, {"key": key}).first()
    if row is None or row.ended_at is not None:
        return None
    if (not row.active or now - row.last_seen_at > policy.idle
            or now - row.created_at > policy.lifetime):
        with engine.begin() as connection:
            _end(connection, key, now)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        with engine.begin() as connection:
            connection.execute(update(t.web_sessions).where(t.web_sessions.c.id == key)
                               .values(last_seen_at=now))
    return WebSession(key, User.from_row(row), row.csrf_token)


def end_session(engine: Engine, token: str, *, now: datetime) -> None:
    with engine.begin() as connection:
        _end(connection, digest(token), now)


def _end(connection: Connection, key: str, now: datetime) -> None:
    connection.execute(update(t.web_sessions).where(
        t.web_sessions.c.id == key, t.web_sessions.c.ended_at.is_(None)).values(ended_at=now))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the brake on guessing ----------------------------------------------------------------
def login_refused_for(connection: Connection, *, email: str, ip: str, now: datetime,
                      allowed: int) -> timedelta | None:
    """How long until this e-mail (or, at ten times the count, this client address) may
    try again, or None when it may try now. Counts failures in the last quarter hour."""
    since = now - ATTEMPT_WINDOW
    for column, value, limit in ((t.login_attempts.c.email, email.strip().lower(), allowed),
                                 (t.login_attempts.c.ip, ip, allowed * 10)):
        count, oldest = connection.execute(
            select(func.count(), func.min(t.login_attempts.c.at)).where(
                column == value, t.login_attempts.c.at > since,
                t.login_attempts.c.succeeded.is_(False))).one()
        if count >= limit:
            return max(oldest + ATTEMPT_WINDOW - now, timedelta(seconds=1))
    return None


def record_login_attempt(engine: Engine, *, email: str, ip: str, now: datetime,
                         succeeded: bool) -> None:
    with engine.begin() as connection:
        connection.execute(t.login_attempts.insert().values(
            email=email.strip().lower()[:320], ip=ip[:64], at=now, succeeded=succeeded))
