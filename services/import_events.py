"""`domus import-events`: contacts and outcomes in bulk from an OCMW's own tracking
spreadsheet (CSV as Excel saves it in Belgium, or JSONL; CONTRACT.md "Events"). A row names
its case by court + docket number. Every row is kept verbatim as a receipt; a row that
cannot be used is quarantined with its file, record, field and reason, and the rest goes
on. Importing the same rows again (the next export of the same sheet) adds nothing twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, select

from domain.calendar import BelgianCalendar
from domain.case import case_id_for
from domain.notices import PROCEDURE_YEARS
from domain.statistics import OUTCOMES
from domain.sweep import CHANNELS, RESULTS
from domain.values import fold_key, parse_date, parse_local_datetime, shown
from services.contacts import add_contact
from services.intake import start_batch
from services.outcomes import apply_outcome
from services.readers import RawRecord, SourceFile, read_records
from store import tables as t
from store.sql import insert_ignore

CHUNK = 500
ACTOR = "import-events"


class RowError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass
class EventSummary:
    received: int = 0
    contacts: int = 0
    outcomes: int = 0
    duplicates: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"received": self.received, "contacts": self.contacts,
                "outcomes": self.outcomes, "duplicates": self.duplicates,
                "quarantined": self.quarantined}


def import_events(engine: Engine, source: SourceFile, *, now: datetime,
                  calendar: BelgianCalendar) -> EventSummary:
    summary = EventSummary()
    batch_id = start_batch(engine, source, now)
    records = read_records(source)
    while chunk := list(islice(records, CHUNK)):
        with engine.begin() as connection:
            for record in chunk:
                summary.received += 1
                _one(connection, source, batch_id, record, summary, now, calendar)
    return summary


def _one(connection: Connection, source: SourceFile, batch_id: int, record: RawRecord,
         summary: EventSummary, now: datetime, calendar: BelgianCalendar) -> None:
    receipt = {"batch_id": batch_id, "source_sha256": source.sha256,
               "record_no": record.record_no, "line_no": record.line_no, "raw": record.raw,
               "received_at": now, "outcome": "event", "fingerprint": None}
    try:
        if record.error:
            raise RowError("record", record.error)
        outcome = _apply(connection, record.data, now, calendar)
    except RowError as error:
        receipt["outcome"] = "quarantined"
        if insert_ignore(connection, t.receipts, [receipt], ["source_sha256", "record_no"]):
            receipt_id = connection.scalar(select(t.receipts.c.id).where(
                t.receipts.c.source_sha256 == source.sha256,
                t.receipts.c.record_no == record.record_no))
            connection.execute(t.quarantine.insert().values(
                receipt_id=receipt_id, source=source.name, record_no=record.record_no,
                line_no=record.line_no, errors=[{"field": error.field, "reason": error.reason}],
                data=record.data if isinstance(record.data, dict) else None, created_at=now))
        summary.quarantined.append({"file": source.name, "record": record.record_no,
                                    "line": record.line_no, "field": error.field,
                                    "reason": error.reason})
        return
    insert_ignore(connection, t.receipts, [receipt], ["source_sha256", "record_no"])
    if outcome == "duplicate":
        summary.duplicates += 1
    elif outcome == "contact":
        summary.contacts += 1
    else:
        summary.outcomes += 1


def _apply(connection: Connection, data: Any, now: datetime, calendar: BelgianCalendar) -> str:
    if not isinstance(data, dict):
        raise RowError("record", "expected one object with court, docket_number, type, at")
    court, docket = _text(data, "court"), _text(data, "docket_number")
    case_id = case_id_for((fold_key(court), fold_key(docket)))
    case = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
    if case is None:
        raise RowError("docket_number", f"no case '{shown(docket)}' at '{shown(court)}' "
                                        "(ingest its notice first)")
    kind = _text(data, "type")
    note = str(data.get("note") or "").strip() or None
    if kind == "contact":
        at = _moment(data.get("at"), now)
        channel, result = _choice(data, "channel", CHANNELS), _choice(data, "result", RESULTS)
        digest = hashlib.sha256("|".join((case_id, channel, result, at.isoformat(),
                                          note or "")).encode()).hexdigest()
        made = add_contact(connection, case, channel=channel, result=result, at=at, note=note,
                           recorded_by=ACTOR, now=now, calendar=calendar, fingerprint=digest)
        return "duplicate" if made.get("duplicate") else "contact"
    if kind == "outcome":
        code = _choice(data, "code", OUTCOMES)
        on = _day(data.get("at"), now)
        if on < case.first_received_on:
            raise RowError("at", f"{on.isoformat()} is before the case's first notice "
                                 f"({case.first_received_on.isoformat()})")
        if case.outcome_code:
            if case.outcome_code == code and case.outcome_on == on:
                return "duplicate"
            raise RowError("code", f"the case already has the outcome {case.outcome_code} "
                                   f"({case.outcome_on.isoformat()}); reopen it first")
        apply_outcome(connection, case, code, on, actor=ACTOR, now=now)
        return "outcome"
    raise RowError("type", f"'{shown(kind)}': contact or outcome")


def _text(data: dict[str, Any], name: str) -> str:
    value = str(data.get(name) or "").strip()
    if not value:
        raise RowError(name, "required")
    return value


def _choice(data: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = _text(data, name)
    if value not in allowed:
        raise RowError(name, f"'{shown(value)}' is not one of {', '.join(allowed)}")
    return value


def _moment(value: Any, now: datetime) -> datetime:
    if not value:
        raise RowError("at", "required")
    try:
        moment = parse_local_datetime(value)
    except ValueError as exc:
        raise RowError("at", str(exc)) from None
    if moment > now:
        raise RowError("at", f"{moment.isoformat()} is in the future")
    _in_procedure_years(moment.date())
    return moment


def _day(value: Any, now: datetime) -> date:
    if not value:
        raise RowError("at", "required")
    try:
        day = parse_date(value) if len(str(value).strip()) <= 10 else \
            parse_local_datetime(value).date()
    except ValueError as exc:
        raise RowError("at", str(exc)) from None
    if day > now.date():
        raise RowError("at", f"{day.isoformat()} is in the future")
    _in_procedure_years(day)
    return day


def _in_procedure_years(day: date) -> None:
    """The calendar (holidays, working days to contact) is known for these years only."""
    first, last = PROCEDURE_YEARS
    if not first <= day.year <= last:
        raise RowError("at", f"{day.isoformat()} is not in the years {first} to {last}")
