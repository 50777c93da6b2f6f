"""The HTTP side of `domus serve`. For now: the calendar feed and a health check; the web
app and the API (issue 6) grow here. Every answer about a person checks who is asking."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI, HTTPException, Response

from domain.values import BRUSSELS
from domus.bootstrap import Domus
from services.calendar_feed import CalendarRefused, build_calendar
from services.users import user_for_token
from web.api import api_router


def create_app(domus: Domus) -> FastAPI:
    app = FastAPI(title="Domus", version="0.1.0",
                  description="Eviction-prevention workflow engine for OCMW/CPAS debt cells")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/calendar/{token}.ics", response_class=Response,
             summary="The user's deadlines as a calendar feed")
    def calendar_feed(token: str) -> Response:
        with domus.engine.connect() as connection:
            user = user_for_token(connection, token, kind="calendar")
            if user is None:
                raise HTTPException(status_code=404, detail="no such calendar")
            try:
                data = build_calendar(connection, user.as_json(), now=_now(),
                                      base_url=domus.settings.base_url, rules=domus.rules)
            except CalendarRefused:
                raise HTTPException(status_code=404, detail="no such calendar") from None
        return Response(content=data, media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300"})

    app.state.domus = domus
    app.include_router(api_router(domus))
    return app


def _now() -> datetime:
    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)
