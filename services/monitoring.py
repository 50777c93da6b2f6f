"""The store's side of the monitoring figures: pre-aggregated cells, never a row per person.

Contacts and outcomes keep each case's monitoring facts on the case itself (contact
attempted, first effective contact and its delay in working days, home visits, outcome), so
the figures are three GROUP BY queries over cases and referrals; `domain.statistics`
turns the cells into rates, intervals, medians and suppressed tables.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from domain.statistics import (
    CaseCell,
    DelayCell,
    ReferralCell,
    report_document,
    statistics,
)
from store import tables as t

UNKNOWN_COMMUNE = "unknown"


def _month(connection: Connection, column: Any) -> Any:
    if connection.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _scoped(query: Any, from_date: date | None, to_date: date | None,
            ocmws: list[str] | None) -> Any:
    """The cases routed to an OCMW whose first notice came between the dates."""
    c = t.cases.c
    query = query.where(c.ocmw.is_not(None))
    if from_date:
        query = query.where(c.first_received_on >= from_date)
    if to_date:
        query = query.where(c.first_received_on <= to_date)
    if ocmws:
        query = query.where(c.ocmw.in_(ocmws))
    return query


def monitoring_cells(connection: Connection, *, from_date: date | None = None,
                     to_date: date | None = None, ocmws: list[str] | None = None,
                     ) -> tuple[list[CaseCell], list[DelayCell], list[ReferralCell]]:
    """The cells of the cases whose first notice was received between the dates."""
    c = t.cases.c
    month = _month(connection, c.first_received_on).label("month")
    keys = (c.ocmw, c.postcode, month)

    def scoped(query: Any) -> Any:
        return _scoped(query, from_date, to_date, ocmws)

    effective = c.first_effective_contact_on.is_not(None).label("effective")
    cells = [
        CaseCell(ocmw, postcode or UNKNOWN_COMMUNE, month_, outcome, bool(eff), bool(tried),
                 int(cases), int(visits or 0))
        for ocmw, postcode, month_, outcome, eff, tried, cases, visits in connection.execute(
            scoped(select(*keys, c.outcome_code, effective, c.contact_attempted, func.count(),
                          func.sum(c.home_visits)))
            .group_by(*keys, c.outcome_code, effective, c.contact_attempted))
    ]
    delays = [
        DelayCell(ocmw, postcode or UNKNOWN_COMMUNE, month_, int(days), int(cases))
        for ocmw, postcode, month_, days, cases in connection.execute(
            scoped(select(*keys, c.days_to_contact, func.count())
                   .where(c.days_to_contact.is_not(None)))
            .group_by(*keys, c.days_to_contact))
    ]
    r = t.referrals.c
    referrals = [
        ReferralCell(ocmw, postcode or UNKNOWN_COMMUNE, month_, programme, status, int(n))
        for ocmw, postcode, month_, programme, status, n in connection.execute(
            scoped(select(*keys, r.programme, r.status, func.count())
                   .join(t.referrals, r.case_id == c.id))
            .group_by(*keys, r.programme, r.status))
    ]
    return cells, delays, referrals


def commune_cells(connection: Connection, *, from_date: date | None = None,
                  to_date: date | None = None, ocmws: list[str] | None = None,
                  ) -> tuple[list[CaseCell], list[DelayCell], list[ReferralCell]]:
    """The cells by OCMW and postcode only, for statistics by OCMW, by commune or in total:
    one scan of cases gives the case and the delay cells (in the order of the covering index
    ix_cases_monitoring, so SQLite needs no sort), one join the referral cells.

    A cell's month is the period's first month (or its last): the store has selected the
    exact days, and `statistics` keeps the cells of the months the period touches."""
    c = t.cases.c
    period = from_date or to_date
    month = period.isoformat()[:7] if period else "0000-01"
    query = _scoped(select(c.ocmw, c.postcode), from_date, to_date, ocmws)
    keys = (c.ocmw, c.postcode)
    reached = c.first_effective_contact_on.is_not(None)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    histogram: dict[tuple, int] = defaultdict(int)
    for ocmw, postcode, outcome, tried, days, cases, effective, visits, visits_effective in (
            connection.execute(query.add_columns(
                c.outcome_code, c.contact_attempted, c.days_to_contact, func.count(),
                func.count(c.first_effective_contact_on), func.sum(c.home_visits),
                func.sum(case((reached, c.home_visits), else_=0)))
                .group_by(*keys, c.outcome_code, c.contact_attempted, c.days_to_contact))):
        commune = postcode or UNKNOWN_COMMUNE
        for is_effective, n, v in ((True, effective, visits_effective or 0),
                                   (False, cases - effective,
                                    (visits or 0) - (visits_effective or 0))):
            if n:
                kept = counts[(ocmw, commune, month, outcome, is_effective, bool(tried))]
                kept[0] += n
                kept[1] += int(v)
        if days is not None:
            histogram[(ocmw, commune, month, int(days))] += cases
    r = t.referrals.c
    referrals = [
        ReferralCell(ocmw, postcode or UNKNOWN_COMMUNE, month, programme, status, int(n))
        for ocmw, postcode, programme, status, n in connection.execute(
            query.add_columns(r.programme, r.status, func.count())
            .join(t.referrals, r.case_id == c.id).group_by(*keys, r.programme, r.status))
    ]
    return ([CaseCell(*identity, n, visits) for identity, (n, visits) in counts.items()],
            [DelayCell(*identity, n) for identity, n in histogram.items()], referrals)


def compute_stats(connection: Connection, *, from_date: date | None, to_date: date | None,
                  by: str | None, min_cell: int, ocmws: list[str] | None = None
                  ) -> dict[str, Any]:
    """CONTRACT.md's `stats` document (suppressed for publication)."""
    cells_for = monitoring_cells if by in ("month", "quarter") else commune_cells
    cells, delays, referrals = cells_for(connection, from_date=from_date, to_date=to_date,
                                         ocmws=ocmws)
    return statistics(cells, delays, referrals, by=by, min_cell=min_cell,
                      period_from=from_date.isoformat() if from_date else None,
                      period_to=to_date.isoformat() if to_date else None)


def ocmws_with_cases(connection: Connection) -> list[str]:
    return sorted(connection.scalars(select(t.cases.c.ocmw).distinct()
                                     .where(t.cases.c.ocmw.is_not(None))))


def monthly_report(connection: Connection, *, ocmw: str, month: str,
                   now: datetime) -> dict[str, Any]:
    """One OCMW's report for the cases first received in `month` ("2026-11"): exact counts
    of cells, no personal data (the region merges and suppresses)."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    last = date(year + number // 12, number % 12 + 1, 1).toordinal() - 1
    cells, delays, referrals = monitoring_cells(
        connection, from_date=first, to_date=date.fromordinal(last), ocmws=[ocmw])
    return report_document(cells, delays, referrals, ocmw=ocmw, month=month,
                           generated_at=now.isoformat())
