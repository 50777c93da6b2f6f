"""Server-rendered pages: one Jinja2 environment per language (the catalogs of web/i18n.py
installed in it), autoescaping on, dates and labels in the reader's language."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

from services import vocabulary
from web.i18n import LANGUAGES, translations

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "web"
LOCALES = {"nl": "nl_BE", "fr": "fr_BE"}


def _locale(context: Context) -> str:
    return LOCALES[context["language"]]


# Babel's formatting costs tens of microseconds a call and a page of 200 tasks makes
# hundreds of calls on a few distinct values: each (value, style, locale) is formatted once.
_format_date = lru_cache(maxsize=8192)(format_date)
_format_datetime = lru_cache(maxsize=8192)(format_datetime)


@pass_context
def _date(context: Context, value: date | str | None, style: str = "medium") -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = (datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value))
    if isinstance(value, datetime):  # hearings and evictions: the date and hh:mm
        return f"{_format_date(value.date(), style, locale=_locale(context))} {value:%H:%M}"
    return _format_date(value, style, locale=_locale(context))


@pass_context
def _weekday_date(context: Context, value: date | str | None) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return _format_date(value, "EEE d MMM yyyy", locale=_locale(context))


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


_NEEDS_ESCAPE = re.compile(r"[&<>\"']").search
_new_str = str.__new__


def _escape(value: Any) -> Markup:
    """markupsafe.escape, the same result, for what pages print most: markupsafe 3 escapes
    in Python and a page of 200 task rows prints 4,000 values (3.6 of its 5.4 ms)."""
    kind = type(value)
    if kind is Markup:
        return value  # escape() would make an equal copy
    if kind is str:
        return _new_str(Markup, value) if _NEEDS_ESCAPE(value) is None else escape(value)
    if kind is int:
        return _new_str(Markup, str(value))  # digits and a minus sign: nothing to escape
    return escape(value)


class _Template(Template):
    """A compiled template whose autoescaping calls `_escape` (the generated code calls
    the name `escape` of its module)."""

    @classmethod
    def from_code(cls, environment: Environment, code: Any, globals: Any,
                  uptodate: Any = None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        template.root_render_func.__globals__["escape"] = _escape
        return template


#: names that are attributes of a dict (items, get, …): `d.items` stays the method
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, with compiled templates that escape with `_escape`, and with
    `row.name` on a plain dict looked up as a key first: the default tries the attribute,
    fails with an exception, then the key, and a page of 200 task rows makes thousands of
    such lookups. The results are the same."""

    template_class = _Template

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _cached_gettext(translate: Any) -> Any:
    """Jinja's newstyle gettext (the translation is trusted, the variables are escaped,
    `%%` is a literal %), with the strings without variables translated once."""
    done: dict[str, Markup] = {}

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        if not __context.eval_ctx.autoescape:
            return translate(__string) % variables  # type: ignore[no-any-return]
        if variables:
            return Markup(translate(__string)) % variables
        found = done.get(__string)
        if found is None:
            found = done[__string] = Markup(translate(__string)) % {}
        return found

    return gettext


@cache
def environment(language: str) -> Environment:
    """The pages' environment for `language`."""
    env = _Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates change with a release, not while Domus runs
    )
    catalog = translations(language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _cached_gettext(catalog.gettext)
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
