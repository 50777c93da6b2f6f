"""Who is asking, for the web pages: the one place that settles it (issue 6).

- The session cookie `domus_session` holds a random token signed with the secret key
  (HttpOnly, SameSite=Lax, Secure when Domus is reached over https); the database keeps the
  token's digest (services/sessions.py).
- Every page depends on `visitor` (or `require(*roles)`): no live session sends a browser
  to the log-in page (an unsafe request gets 401), a form or unsafe request without the
  session's CSRF token gets 403, a role that may not use the page gets 403; reads of a
  case then check the OCMW in the services (another OCMW's case is a 404).
- Every answer carries the security headers (CSP without inline script, no framing,
  no-sniff, no referrer to other sites).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadSignature, Signer

from domain.access import Actor
from services.sessions import SessionPolicy, load_session
from services.users import User

SESSION_COOKIE = "domus_session"
LOGIN_CSRF_COOKIE = "domus_login_csrf"
LANGUAGE_COOKIE = "domus_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class LoginRequired(Exception):
    """No live session: a page sends the browser to the log-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Visitor:
    """The person behind a web request."""

    user: User
    session_id: str
    csrf_token: str

    @property
    def actor(self) -> Actor:
        return self.user.actor()

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def language(self) -> str:
        return self.user.language


class Cookies:
    """Signing and setting Domus's cookies."""

    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self._signer = Signer(secret_key, salt="domus-session")
        self._login_signer = Signer(secret_key, salt="domus-login-csrf")
        self.secure = secure

    def session_token(self, request: Request) -> str | None:
        return self._unsign(self._signer, request.cookies.get(SESSION_COOKIE))

    def set_session(self, response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, self._signer.sign(token).decode(), httponly=True,
                            samesite="lax", secure=self.secure, path="/")

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self.secure)

    def login_csrf(self, request: Request, response: Response) -> str:
        """The log-in form's CSRF token (there is no session yet): a random value in a
        signed cookie that the form must repeat."""
        token = self._unsign(self._login_signer, request.cookies.get(LOGIN_CSRF_COOKIE))
        if token is None:
            token = secrets.token_urlsafe(24)
            response.set_cookie(LOGIN_CSRF_COOKIE, self._login_signer.sign(token).decode(),
                                httponly=True, samesite="strict", secure=self.secure,
                                path="/login", max_age=3600)
        return token

    def login_csrf_matches(self, request: Request, submitted: str | None) -> bool:
        token = self._unsign(self._login_signer, request.cookies.get(LOGIN_CSRF_COOKIE))
        return bool(token and submitted and hmac.compare_digest(token, submitted))

    @staticmethod
    def _unsign(signer: Signer, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return signer.unsign(value).decode()
        except BadSignature:
            return None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def visitor(request: Request) -> Visitor:
    """The logged-in person, with the CSRF check for anything that changes state."""
    state = request.app.state
    token = state.cookies.session_token(request)
    now: datetime = state.clock()
    session = load_session(state.domus.engine, token, now=now, policy=state.session_policy) \
        if token else None
    if session is None:
        if request.method in SAFE_METHODS:
            raise LoginRequired(request.url.path + (f"?{request.url.query}"
                                                    if request.url.query else ""))
        raise HTTPException(401, "log in first")
    if request.method not in SAFE_METHODS:
        submitted = request.headers.get(CSRF_HEADER)
        if submitted is None and _is_form(request):
            submitted = (await request.form()).get(CSRF_FIELD)  # parsed once, kept
        if not (isinstance(submitted, str)
                and hmac.compare_digest(submitted, session.csrf_token)):
            raise HTTPException(403, "the form is out of date or did not come from Domus: "
                                     "reload the page and try again")
    found = Visitor(session.user, session.id, session.csrf_token)
    request.state.visitor = found
    request.state.csrf_token = found.csrf_token
    return found


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def require(*roles: str) -> Callable[..., Awaitable[Visitor]]:
    """A dependency that lets only `roles` in (403 for the others)."""
    async def allowed(found: Annotated[Visitor, Depends(visitor)]) -> Visitor:
        if found.role not in roles:
            raise HTTPException(403, "this page is not for your role")
        return found
    allowed.__name__ = f"require_{'_'.join(roles)}"
    return allowed


WebUser = Annotated[Visitor, Depends(visitor)]
Staff = Annotated[Visitor, Depends(require("caseworker", "team_lead", "administrator"))]
Admin = Annotated[Visitor, Depends(require("administrator"))]
Lead = Annotated[Visitor, Depends(require("team_lead", "administrator"))]
Monitoring = Annotated[Visitor, Depends(require("monitor", "team_lead", "administrator"))]


def login_redirect(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="")


def safe_next(next_path: str | None) -> str:
    """Only a path on this site (no //host, no scheme): no open redirect after log-in.
    Control characters are refused too: browsers drop tabs and newlines from a URL, so
    "/<tab>/host" would read as "//host"."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") \
            or "\\" in next_path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in next_path):
        return "/"
    return next_path


def session_policy(idle_minutes: int, max_hours: int) -> SessionPolicy:
    return SessionPolicy(idle=timedelta(minutes=idle_minutes), lifetime=timedelta(hours=max_hours))


def add_security_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
