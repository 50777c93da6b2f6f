"""Log-in, log-out, the language and the user's own page (calendar link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.sessions import (
    end_session,
    login_refused_for,
    record_login_attempt,
    start_session,
)
from services.users import issue_token, set_language, verify_password
from web.i18n import LANGUAGES, pick_language
from web.render import render
from web.security import LANGUAGE_COOKIE, WebUser, client_ip, safe_next

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {"monitor": "/monitoring"}


def _guest_language(request: Request) -> str:
    return pick_language(request.cookies.get(LANGUAGE_COOKIE),
                         accept_language=request.headers.get("accept-language"))


@router.get("/login")
def login_form(request: Request, next: str = "/", lang: str | None = None) -> Response:
    language = pick_language(lang, request.cookies.get(LANGUAGE_COOKIE),
                             accept_language=request.headers.get("accept-language"))
    response = Response()
    token = request.app.state.cookies.login_csrf(request, response)
    page = render(request, "login.html", language=language, login_csrf=token,
                  next=safe_next(next), error=None, email="")
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    if lang in LANGUAGES:
        page.set_cookie(LANGUAGE_COOKIE, lang, samesite="lax", max_age=365 * 86400)
    return page


@router.post("/login")
def login(request: Request, email: Annotated[str, Form(max_length=320)],
          password: Annotated[str, Form(max_length=1024)],
          csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
          ) -> Response:
    state = request.app.state
    engine, now, ip = state.domus.engine, state.clock(), client_ip(request)
    language = _guest_language(request)
    if not state.cookies.login_csrf_matches(request, csrf_token):
        raise HTTPException(403, "the log-in form is out of date: reload the page")

    def again(error: str, status: int) -> Response:
        response = Response()
        token = state.cookies.login_csrf(request, response)
        page = render(request, "login.html", language=language, login_csrf=token,
                      next=safe_next(next), error=error, email=email, status_code=status)
        page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
        return page

    with engine.connect() as connection:
        wait = login_refused_for(connection, email=email, ip=ip, now=now,
                                 allowed=state.domus.settings.login_attempts)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        return again("too_many:" + str(minutes), 429)
    with engine.connect() as connection:
        user = verify_password(connection, email, password)
    record_login_attempt(engine, email=email, ip=ip, now=now, succeeded=user is not None)
    if user is None:
        return again("wrong", 401)
    token, _ = start_session(engine, user, now=now, ip=ip,
                             replaces=state.cookies.session_token(request))
    target = safe_next(next)
    if target == "/":
        target = HOME_BY_ROLE.get(user.role, "/tasks")
    response = RedirectResponse(target, status_code=303)
    state.cookies.set_session(response, token)
    return response


@router.post("/logout")
def logout(request: Request, visitor: WebUser) -> Response:
    state = request.app.state
    token = state.cookies.session_token(request)
    if token:
        end_session(state.domus.engine, token, now=state.clock())
    response = RedirectResponse("/login", status_code=303)
    state.cookies.clear_session(response)
    return response


@router.get("/")
def home(visitor: WebUser) -> Response:
    return RedirectResponse(HOME_BY_ROLE.get(visitor.role, "/tasks"), status_code=303)


@router.post("/language")
def choose_language(request: Request, visitor: WebUser,
                    language: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
                    ) -> Response:
    if language not in LANGUAGES:
        raise HTTPException(422, "language: nl or fr")
    set_language(request.app.state.domus.engine, visitor.user.email, language)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, samesite="lax", max_age=365 * 86400)
    return response


@router.get("/account")
def account(request: Request, visitor: WebUser) -> Response:
    return render(request, "account.html", language=visitor.language, feed_url=None)


@router.post("/account/calendar")
def new_calendar_link(request: Request, visitor: WebUser) -> Response:
    """A new secret calendar-feed address; the previous one stops working."""
    state = request.app.state
    if visitor.role == "monitor":
        raise HTTPException(403, "monitors have no calendar")
    token = issue_token(state.domus.engine, visitor.user.email, kind="calendar",
                        now=state.clock(), revoke_others=True)
    feed_url = f"{state.domus.settings.base_url.rstrip('/')}/calendar/{token}.ics"
    return render(request, "account.html", language=visitor.language, feed_url=feed_url)
