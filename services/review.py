"""The two review queues of intake: quarantined records and cases waiting for triage.

A quarantined record is corrected and re-ingested through the same chunk transaction as
any file; the correction is a receipt of its own, so the original raw text stays.

Each queue entry belongs to the batch it came from (a triage case to the batch whose
notice opened the case), and a batch to whoever imported it (`batches.ocmw`): the local
operator sees every entry, an administrator those of their OCMW's batches and of the
batches without an owner (`owned_batch`); another OCMW's entry is "not found".
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, insert, select, true, update
from sqlalchemy.sql import ColumnElement

from domain.access import Actor
from domain.routing import OCMWS
from domain.rulebook import RuleBook
from services.access import opened_by, owned_batch
from services.intake import CHUNK_ATTEMPTS, ingest_chunk
from services.intake_store import ChunkConflict, ChunkStore
from services.readers import RawRecord, SourceFile
from services.summary import IntakeSummary
from store import tables as t


class ReviewError(LookupError):
    """A queue entry that does not exist or cannot take this action."""


def _quarantine_rows(actor: Actor) -> Any:
    return (select(t.quarantine, t.receipts.c.raw)
            .join(t.receipts, t.receipts.c.id == t.quarantine.c.receipt_id)
            .join(t.batches, t.batches.c.id == t.receipts.c.batch_id)
            .where(owned_batch(actor)))


def visible_quarantine(actor: Actor) -> ColumnElement[bool]:
    """The quarantine entries `actor` may see (a condition on `quarantine`)."""
    return exists(select(t.receipts.c.id)
                  .join(t.batches, t.batches.c.id == t.receipts.c.batch_id)
                  .where(t.receipts.c.id == t.quarantine.c.receipt_id, owned_batch(actor)))


def visible_triage(actor: Actor) -> ColumnElement[bool]:
    """The triage cases `actor` may see (a condition on `triage`): those whose case was
    opened by a notice of a batch `actor` may see (the receipt that created the case)."""
    if actor.role == "operator":
        return true()
    return opened_by(owned_batch(actor), t.triage.c.case_id)


def quarantined(connection: Connection, actor: Actor, *,
                include_resolved: bool = False) -> list[dict[str, Any]]:
    """The quarantine entries `actor` may see, oldest first."""
    query = _quarantine_rows(actor).order_by(t.quarantine.c.id)
    if not include_resolved:
        query = query.where(t.quarantine.c.resolved_at.is_(None))
    return [_entry(row) for row in connection.execute(query)]


def quarantined_entry(connection: Connection, entry_id: int, actor: Actor) -> dict[str, Any]:
    """One quarantine entry; ReviewError when there is none that `actor` may see."""
    row = connection.execute(
        _quarantine_rows(actor).where(t.quarantine.c.id == entry_id)).first()
    if row is None:
        raise ReviewError(f"quarantine entry {entry_id} not found")
    return _entry(row)


def _entry(row: Any) -> dict[str, Any]:
    return {"id": row.id, "file": row.source, "record": row.record_no, "line": row.line_no,
            "errors": row.errors, "raw": row.raw, "data": row.data,
            "created_at": row.created_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None}


def corrected_record(entry: dict[str, Any], changes: dict[str, str]) -> dict[str, Any]:
    """The entry's record with `changes` ({"tenant.last_name": "Dupont"}) applied; an
    empty value removes the field."""
    if entry["data"] is None:
        raise ReviewError(f"quarantine entry {entry['id']} could not be read as a record; "
                          "give the whole corrected notice with --file")
    record = json.loads(json.dumps(entry["data"]))
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = record
        for part in parents:
            target = target.setdefault(part, {})
        if value == "":
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return record


def reingest(engine: Engine, entry_id: int, record: dict[str, Any], *, actor: Actor,
             rules: RuleBook, now: datetime) -> IntakeSummary:
    """Ingest the corrected `record` of a quarantine entry `actor` may see. The entry is
    resolved by the correction either way: accepted, or quarantined again as a new entry
    with the new reasons (so the queue shows each problem once and keeps every attempt).
    The correction's batch keeps the owner of the entry's batch, so a new entry stays in
    the same OCMW's queue. When an intake worker opens the same case at that moment, the
    correction is made again from a fresh read (as intake's chunks are)."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            return _reingest(engine, entry_id, record, actor=actor, rules=rules, now=now)
        except ChunkConflict:
            if attempt == CHUNK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _reingest(engine: Engine, entry_id: int, record: dict[str, Any], *, actor: Actor,
              rules: RuleBook, now: datetime) -> IntakeSummary:
    with engine.begin() as connection:
        entry = quarantined_entry(connection, entry_id, actor)
        if entry["resolved_at"]:
            raise ReviewError(f"quarantine entry {entry_id} was already resolved")
        owner = connection.execute(
            select(t.batches.c.ocmw, t.batches.c.imported_by)
            .join(t.receipts, t.receipts.c.batch_id == t.batches.c.id)
            .join(t.quarantine, t.quarantine.c.receipt_id == t.receipts.c.id)
            .where(t.quarantine.c.id == entry_id)).one()
        raw = json.dumps(record, ensure_ascii=False, sort_keys=True)
        name = f"correction of {entry['file']} record {entry['record']} (quarantine {entry_id})"
        source = SourceFile(name, hashlib.sha256(f"{entry_id}|{raw}".encode()).hexdigest())
        batch_id = connection.execute(insert(t.batches).values(
            source=name, sha256=source.sha256, started_at=now, finished_at=now,
            ocmw=owner.ocmw, imported_by=owner.imported_by)
        ).inserted_primary_key[0]
        summary = ingest_chunk(connection, source, batch_id, [RawRecord(1, 1, raw, record)],
                               rules=rules, now=now)
        connection.execute(update(t.batches).where(t.batches.c.id == batch_id)
                           .values(summary=summary.to_json()))
        receipt_id = connection.scalar(select(t.receipts.c.id).where(
            t.receipts.c.source_sha256 == source.sha256))
        connection.execute(update(t.quarantine).where(t.quarantine.c.id == entry_id)
                           .values(resolved_at=now, resolved_by_receipt_id=receipt_id))
    return summary


def triage_queue(connection: Connection, actor: Actor) -> list[dict[str, Any]]:
    """The cases waiting for an OCMW that `actor` may see, oldest first."""
    rows = connection.execute(
        select(t.triage, t.cases.c.court, t.cases.c.docket_number, t.cases.c.postcode,
               t.cases.c.municipality, t.cases.c.street)
        .join(t.cases, t.cases.c.id == t.triage.c.case_id)
        .where(t.triage.c.resolved_at.is_(None), visible_triage(actor))
        .order_by(t.triage.c.id)
    )
    return [{"case_id": r.case_id, "reason": r.reason, "court": r.court,
             "docket_number": r.docket_number, "street": r.street, "postcode": r.postcode,
             "municipality": r.municipality, "since": r.created_at.isoformat()} for r in rows]


def resolve_triage(engine: Engine, case_id: str, ocmw: str, *, actor: Actor, rules: RuleBook,
                   now: datetime, note: str | None = None) -> None:
    """Give a triage case `actor` may see its OCMW: its status, dates and tasks are
    assessed again with that OCMW's playbook."""
    if ocmw not in OCMWS:
        raise ReviewError(f"--ocmw {ocmw}: not the NIS code of a Brussels OCMW "
                          "(21001 Anderlecht … 21019 Woluwe-Saint-Pierre)")
    with engine.begin() as connection:
        waiting = connection.execute(select(t.triage.c.id).where(
            t.triage.c.case_id == case_id, t.triage.c.resolved_at.is_(None),
            visible_triage(actor))).first()
        if waiting is None:
            raise ReviewError(f"case {case_id} is not waiting in triage")
        store = ChunkStore(connection, SourceFile("triage", ""), 0, now)
        store.load_cases({case_id})
        case = store.cases[case_id]
        case.ocmw, case.touched = ocmw, True
        store.write(rules)
        connection.execute(update(t.triage).where(t.triage.c.id == waiting.id).values(
            resolved_at=now, resolved_ocmw=ocmw, resolution=note))
