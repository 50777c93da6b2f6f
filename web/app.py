"""The HTTP side of `domus serve`: the web pages (login sessions), the API (bearer tokens),
the calendar feed and a health check. Who is asking is settled in web/security.py (pages)
and web/api.py (API); every answer carries the security headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.values import BRUSSELS
from domus.bootstrap import Domus
from services.calendar_feed import CalendarRefused, build_calendar
from services.users import user_for_token
from web.api import api_router
from web.i18n import pick_language
from web.render import render
from web.security import (
    LANGUAGE_COOKIE,
    SECURITY_HEADERS,
    Cookies,
    LoginRequired,
    login_redirect,
    session_policy,
)

STATIC_DIR = Path(__file__).with_name("static")


def now_in_brussels() -> datetime:
    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)


def create_app(domus: Domus, *, clock: Callable[[], datetime] = now_in_brussels) -> FastAPI:
    """The whole HTTP app for `domus`; `clock` gives Brussels wall time (tests fix it)."""
    from web.pages import page_routers

    # no /docs or /redoc: they load scripts from a CDN, which the CSP (rightly) refuses;
    # the API description is /openapi.json
    app = FastAPI(title="Domus", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Eviction-prevention workflow engine for OCMW/CPAS debt cells. "
                              "The API takes a bearer token from `domus users token EMAIL`.")
    settings = domus.settings
    app.state.domus = domus
    app.state.clock = clock
    app.state.session_policy = session_policy(settings.session_idle_minutes,
                                              settings.session_max_hours)
    if not domus.secret_key:  # bootstrap() always sets one; a known key would sign forgeries
        raise ValueError("the web app needs the secret key (DOMUS_SECRET_KEY or the kept one)")
    app.state.cookies = Cookies(domus.secret_key,
                                secure=settings.base_url.startswith("https://"))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/calendar/{token}.ics", response_class=Response,
             summary="The user's deadlines as a calendar feed",
             responses={200: {"content": {"text/calendar": {}}},
                        404: {"description": "no such calendar"}})
    def calendar_feed(token: str) -> Response:
        with domus.engine.connect() as connection:
            user = user_for_token(connection, token, kind="calendar")
            if user is None:
                raise HTTPException(status_code=404, detail="no such calendar")
            try:
                data = build_calendar(connection, user.as_json(), now=clock(),
                                      base_url=settings.base_url, rules=domus.rules)
            except CalendarRefused:
                raise HTTPException(status_code=404, detail="no such calendar") from None
        return Response(content=data, media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300"})

    app.include_router(api_router(domus))
    for router in page_routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_pages(app)
    app.add_middleware(SecurityHeaders)
    return app


def _install_error_pages(app: FastAPI) -> None:
    """Pages answer errors with a page in the reader's language; the API with JSON."""

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_redirect(exc.next_path), status_code=303)

    # Starlette's own HTTPException (an unknown path's 404, a 405) is the base class of
    # FastAPI's: handling it makes those answers pages too, not bare JSON
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        page = _error_page(request, exc.status_code, str(exc.detail))
        page.headers.update(getattr(exc, "headers", None) or {})  # e.g. a 405's Allow
        return page

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": _plain(exc.errors())}, status_code=422)
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                           for e in exc.errors())
        return _error_page(request, 422, fields)


def _plain(errors: object) -> object:
    """Validation errors as JSON can carry them: the input they repeat may hold bytes, or a
    lone surrogate (JSON's "\\ud800"), which UTF-8 cannot encode (the answer was a 500)."""
    import json
    text = json.dumps(errors, default=str, ensure_ascii=False)
    return json.loads(text.encode("utf-8", "replace").decode("utf-8"))


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.startswith("/calendar/") or path == "/openapi.json"


def _error_page(request: Request, status: int, detail: str) -> Response:
    visitor = getattr(request.state, "visitor", None)
    language = visitor.language if visitor else pick_language(
        request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"))
    return render(request, "error.html", language=language, status_code=status,
                  status=status, detail=detail)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer (plain ASGI: no extra task per request)."""

    HEADERS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                message["headers"] = headers + [h for h in self.HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
