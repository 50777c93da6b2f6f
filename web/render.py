"""Server-rendered pages: one Jinja2 environment per language (the catalogs of web/i18n.py
installed in it), autoescaping on, dates and labels in the reader's language."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from services import vocabulary
from web.i18n import LANGUAGES, translations

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "web"
LOCALES = {"nl": "nl_BE", "fr": "fr_BE"}


def _locale(context: Context) -> str:
    return LOCALES[context["language"]]


@pass_context
def _date(context: Context, value: date | str | None, style: str = "medium") -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = (datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value))
    if isinstance(value, datetime):
        return format_datetime(value, "medium" if style == "medium" else style,
                               locale=_locale(context))
    return format_date(value, style, locale=_locale(context))


@pass_context
def _weekday_date(context: Context, value: date | str | None) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "EEE d MMM yyyy", locale=_locale(context))


@pass_context
def _number(context: Context, value: Any) -> str:
    if isinstance(value, int | float):
        return format_decimal(value, locale=_locale(context))
    return "—" if value is None else str(value)


def _labeller(table: dict[str, dict[str, str]]) -> Any:
    @pass_context
    def label(context: Context, key: str | None) -> str:
        return vocabulary.label(table, key or "", context["language"])
    return label


@pass_context
def _task_label(context: Context, kind: str) -> str:
    return vocabulary.task_label(kind, context["language"])


@cache
def environment(language: str) -> Environment:
    """The pages' environment for `language`."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        date=_date, weekday_date=_weekday_date, number=_number, task_label=_task_label,
        channel_label=_labeller(vocabulary.CHANNEL_LABELS),
        result_label=_labeller(vocabulary.RESULT_LABELS),
        flag_label=_labeller(vocabulary.FLAG_LABELS),
    )
    env.globals["LANGUAGES"] = LANGUAGES
    return env


def render(request: Request, template: str, *, language: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """The page `template` in `language`; `request`, `language` and the visitor's CSRF
    token (for forms) are always in the context."""
    visitor = getattr(request.state, "visitor", None)
    page = environment(language).get_template(template).render(
        request=request, language=language, visitor=visitor,
        csrf_token=getattr(request.state, "csrf_token", ""), **context)
    return HTMLResponse(page, status_code=status_code)
