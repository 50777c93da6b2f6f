"""The web pages, one router per part of the app; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter


def page_routers() -> list[APIRouter]:
    from web import pages_account, pages_tasks

    return [pages_account.router, pages_tasks.router]
