"""The web pages, one router per part of the app; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter


def page_routers() -> list[APIRouter]:
    from web import pages_account, pages_cases, pages_monitoring, pages_tasks, pages_team
    from web.pages_import import router as import_router
    from web.pages_templates import router as templates_router

    return [pages_cases.router, pages_account.router, pages_tasks.router,
            pages_team.router, pages_monitoring.router, import_router, templates_router]
