"""Monitoring (monitors, team leads, administrators): the contact-versus-outcome statistics
with filters, charts and downloads. Counts only: no name, address, docket or date of birth
reaches these pages. A monitor sees every OCMW; staff only their own (as GET /api/stats)."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from domain.routing import OCMWS
from services import stats_output
from services.monitoring import UNKNOWN_COMMUNE, compute_stats
from web.render import LOCALES, render
from web.security import Monitoring, Visitor

router = APIRouter(include_in_schema=False)

GROUPINGS = ("ocmw", "commune", "quarter", "month")
CHARTS = ("rate", "funnel")
WITHHELD = "—"
#: the chart is an image: its own inline styles are its business, it runs no script
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def ocmw_name(code: str | None, language: str) -> str:
    """The OCMW's name in `language` ("21015" → "Schaarbeek"), else the code itself."""
    ocmw = OCMWS.get(code or "")
    if ocmw is None:
        return code or ""
    return ocmw.name_nl if language == "nl" else ocmw.name_fr


def commune_name(postcode: str, language: str) -> str:
    """'1030 Schaarbeek'; a postcode two OCMWs share names both."""
    names = [ocmw_name(o.code, language) for o in OCMWS.values() if postcode in o.postcodes]
    return f"{postcode} {' / '.join(names)}".strip()


@dataclass
class StatsQuery:
    """The filters of the page, its downloads and its chart, read from the query string."""

    from_date: date | None = None
    to_date: date | None = None
    by: str | None = None
    min_cell: int = 5
    errors: list[str] = field(default_factory=list)  # the fields that were not understood

    @classmethod
    def read(cls, params: Any) -> StatsQuery:
        query = cls()
        for name, attribute in (("from", "from_date"), ("to", "to_date")):
            text = (params.get(name) or "").strip()
            if text:
                try:
                    setattr(query, attribute, date.fromisoformat(text))
                except ValueError:
                    query.errors.append(name)
        if query.from_date and query.to_date and query.from_date > query.to_date:
            query.errors.append("period")
        by = (params.get("by") or "").strip()
        if by in GROUPINGS:
            query.by = by
        elif by not in ("", "none"):
            query.errors.append("by")
        text = (params.get("min_cell") or "").strip()
        if text:
            if text.isdigit() and 1 <= int(text) <= 100:
                query.min_cell = int(text)
            else:
                query.errors.append("min_cell")
        return query

    def params(self) -> str:
        return urlencode({"from": self.from_date.isoformat() if self.from_date else "",
                          "to": self.to_date.isoformat() if self.to_date else "",
                          "by": self.by or "", "min_cell": self.min_cell})

    def stats(self, request: Request, visitor: Visitor, by: str | None = None
              ) -> dict[str, Any]:
        """The statistics the visitor may see: every OCMW for a monitor, else their own."""
        actor = visitor.actor
        ocmws = None if actor.role == "monitor" else [actor.ocmw or ""]
        with request.app.state.domus.engine.connect() as connection:
            return compute_stats(connection, from_date=self.from_date, to_date=self.to_date,
                                 by=by if by is not None else self.by,
                                 min_cell=self.min_cell, ocmws=ocmws)


def _checked(request: Request) -> StatsQuery:
    query = StatsQuery.read(request.query_params)
    if query.errors:
        raise HTTPException(400, "not understood: " + ", ".join(query.errors))
    return query


@router.get("/monitoring")
def monitoring(request: Request, visitor: Monitoring) -> Response:
    query = StatsQuery.read(request.query_params)
    document = None if query.errors else query.stats(request, visitor)
    rows = _rows(document, visitor.language) if document else []
    scope = (None if visitor.role == "monitor" else ocmw_name(visitor.user.ocmw,
                                                               visitor.language))
    return render(request, "monitoring.html", language=visitor.language,
                  status_code=400 if query.errors else 200, query=query, rows=rows,
                  document=document, params=query.params(), scope=scope,
                  groupings=GROUPINGS, raw=dict(request.query_params))


@router.get("/monitoring/chart.svg")
def chart(request: Request, visitor: Monitoring, chart: str = "rate") -> Response:
    if chart not in CHARTS:
        raise HTTPException(400, "chart: rate or funnel")
    query = _checked(request)
    document = _named(query.stats(request, visitor), visitor.language)
    return Response(stats_output.chart_svg(document, chart), media_type="image/svg+xml",
                    headers={"Content-Security-Policy": CHART_CSP,
                             "Cache-Control": "private, no-store"})


@router.get("/monitoring/stats.csv")
def stats_csv(request: Request, visitor: Monitoring) -> Response:
    query = _checked(request)
    document = query.stats(request, visitor)
    return _download(lambda path: stats_output.write_csv(document, path), query, "csv",
                     "text/csv; charset=utf-8")


@router.get("/monitoring/stats.xlsx")
def stats_xlsx(request: Request, visitor: Monitoring) -> Response:
    query = _checked(request)
    documents = {by: query.stats(request, visitor, by)
                 for by in ([query.by] if query.by else GROUPINGS)}
    return _download(lambda path: stats_output.write_xlsx(documents, path), query, "xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _download(write: Any, query: StatsQuery, suffix: str, media_type: str) -> Response:
    name = f"domus-stats-{query.by or 'all'}.{suffix}"
    with tempfile.TemporaryDirectory(prefix="domus-stats-") as folder:
        content = Path(write(Path(folder) / name)).read_bytes()
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


def _label(by: str | None, key: Any, language: str) -> str:
    if by == "ocmw":
        return ocmw_name(str(key), language)
    if by == "commune" and key != UNKNOWN_COMMUNE:
        return commune_name(str(key), language)
    return str(key)


def _named(document: dict[str, Any], language: str) -> dict[str, Any]:
    """The document with OCMW and commune names for keys, for the chart's labels."""
    by = document.get("by")
    return {**document, "groups": [{**group, "key": _label(by, group["key"], language)}
                                   for group in document.get("groups") or []]}


COUNT_COLUMNS = ("cases", "pending", "with_contact", "without_contact", "solved_with_contact",
                 "solved_without_contact")


def _rows(document: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """Each group and the total as the table shows them: counts, suppressed counts ("<5",
    "x"), withheld rates ("—"), rates with their interval, in the reader's locale."""
    locale = LOCALES[language]
    by = document.get("by")

    def count(value: Any) -> str:
        if value is None:
            return WITHHELD
        return value if isinstance(value, str) else format_decimal(value, locale=locale)

    def rate(value: float | None, ci: list[float] | None) -> tuple[str, str]:
        if value is None:
            return WITHHELD, ""
        def percent(share: float) -> str:  # half up, as the CLI table: 0.545 → 55 %
            return format_percent(math.floor(share * 100 + 0.5) / 100, locale=locale)

        interval = f"{percent(ci[0])}–{percent(ci[1])}" if ci else ""
        return percent(value), interval

    def median(value: Any) -> str:
        return WITHHELD if value is None else format_decimal(value, "#,##0.#", locale=locale)

    rows = []
    for group in [*document.get("groups", []), document["total"]]:
        total = group["key"] == "total"
        rows.append({
            "total": total, "key": group["key"],
            "label": None if total else _label(by, group["key"], language),
            "unknown": group["key"] == UNKNOWN_COMMUNE and by == "commune",
            **{name: count(group.get(name)) for name in COUNT_COLUMNS},
            "rate_with": rate(group.get("rate_with_contact"), group.get("ci_with_contact")),
            "rate_without": rate(group.get("rate_without_contact"),
                                 group.get("ci_without_contact")),
            "home_visits": count(group.get("home_visits")),
            "median": median(group.get("median_days_to_contact")),
        })
    return rows
