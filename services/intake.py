"""Intake: received records become notices on routed cases with dates, flags and tasks.

`ingest_source` streams one file in chunks; each chunk is one transaction
(`ingest_chunk`) that can be re-run safely: receipts, notices, cases and tasks all have
unique keys, so a batch run twice, or finished after a crash, doubles nothing.

Several workers may ingest at once, the same file or files that share cases (PostgreSQL):
a chunk locks the known cases it touches before reading them, and one that finds a case it
meant to open opened by another worker meanwhile is rolled back and run again, so each
notice is created or updated by exactly one worker and counted once across them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, func, insert, select, update

from domain.access import Actor
from domain.case import case_id_for
from domain.notices import Notice, NoticeInvalid, validate_notice
from domain.rulebook import RuleBook
from domain.values import fold_key
from services.intake_store import CaseDraft, ChunkConflict, ChunkStore
from services.readers import RawRecord, SourceFile, read_records
from services.summary import IntakeSummary
from store.tables import batches, receipts

#: who imports a batch: a person (their `Actor`, or (OCMW, e-mail) as the intake flow passes
#: it), or None for the local operator on the command line
Owner = Actor | tuple[str | None, str | None] | None


def owner_of(owner: Owner) -> tuple[str | None, str | None]:
    """(OCMW, e-mail) of whoever imports a batch; (None, None) for the local operator."""
    if owner is None:
        return None, None
    if isinstance(owner, Actor):
        return (None, None) if owner.role == "operator" else (owner.ocmw, owner.name)
    ocmw, email = owner
    return ocmw, email


def ingest_source(
    engine: Engine,
    source: SourceFile,
    *,
    rules: RuleBook,
    now: datetime,
    chunk_size: int = 1000,
    part: int = 0,
    parts: int = 1,
    owner: Owner = None,
) -> IntakeSummary:
    """Ingest the records of `source` that fall in partition `part` of `parts`; chunks are
    committed one by one, so memory stays flat and a killed batch resumes where it stopped
    when it is run again. Partitions split by procedure (`partition_of`), so processes
    that each take one never share a case. `owner` is who imports it (the review queues
    show an administrator their OCMW's batches); None for the local operator."""
    batch_id = start_batch(engine, source, now, part=part, parts=parts, owner=owner)
    summary = IntakeSummary()
    records = (r for r in read_records(source) if partition_of(r, parts) == part)
    for chunk in _chunks(records, chunk_size):
        summary.add(_store_retrying(engine, source, batch_id, parse_chunk(chunk), rules=rules,
                                    now=now))
    with engine.begin() as connection:
        connection.execute(
            update(batches).where(batches.c.id == batch_id)
            .values(finished_at=now, summary=summary.to_json())
        )
    return summary


#: times a chunk is run again when other workers opened its new cases meanwhile; each
#: attempt sees those as known, so a second attempt almost always succeeds
CHUNK_ATTEMPTS = 5


def _store_retrying(engine: Engine, source: SourceFile, batch_id: int, parsed: list[Parsed],
                    *, rules: RuleBook, now: datetime) -> IntakeSummary:
    """`store_chunk` in a transaction of its own, run again (from a fresh read) when a
    concurrent worker opened one of its new cases first (`ChunkConflict`)."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                return store_chunk(connection, source, batch_id, parsed, rules=rules, now=now)
        except ChunkConflict:
            if attempt == CHUNK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def partition_of(record: RawRecord, parts: int) -> int:
    """Which of `parts` partitions takes `record`: every notice of one procedure (court +
    docket, spelled any way) lands in the same one; a record without them in the first."""
    data = record.data
    if parts == 1 or not isinstance(data, dict):
        return 0
    court, docket = data.get("court"), data.get("docket_number")
    if not isinstance(court, str) or not isinstance(docket, str):
        return 0
    return int(case_id_for((fold_key(court), fold_key(docket))), 16) % parts


def received_count(engine: Engine, digests: Iterable[str]) -> int:
    """Records received so far from the files with these sha256 digests (for progress)."""
    with engine.connect() as connection:
        return int(connection.scalar(
            select(func.count()).select_from(receipts)
            .where(receipts.c.source_sha256.in_(list(digests)))) or 0)


def start_batch(engine: Engine, source: SourceFile, now: datetime, *, part: int = 0,
                parts: int = 1, owner: Owner = None) -> int:
    name = source.name if parts == 1 else f"{source.name} (partition {part + 1} of {parts})"
    ocmw, email = owner_of(owner)
    with engine.begin() as connection:
        result = connection.execute(
            insert(batches).values(source=name, sha256=source.sha256, started_at=now,
                                   ocmw=ocmw, imported_by=email)
        )
        return int(result.inserted_primary_key[0])


def _chunks(records: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    while chunk := list(islice(records, size)):
        yield chunk


def ingest_chunk(
    connection: Connection,
    source: SourceFile,
    batch_id: int,
    records: Iterable[RawRecord],
    *,
    rules: RuleBook,
    now: datetime,
) -> IntakeSummary:
    """One transaction: receive, validate, deduplicate, route, assess and store `records`."""
    return store_chunk(connection, source, batch_id, parse_chunk(records), rules=rules,
                       now=now)


class Parsed(NamedTuple):
    record: RawRecord
    notice: Notice | NoticeInvalid
    fingerprint: str
    data: dict[str, Any]  # the notice as stored (JSON), unknown fields included


def parse_chunk(records: Iterable[RawRecord]) -> list[Parsed]:
    """Validation and everything else a record needs that touches no database."""
    return [_parse(record) for record in records]


def _parse(record: RawRecord) -> Parsed:
    if record.error:
        return Parsed(record, NoticeInvalid.single("(record)", record.error), "", {})
    try:
        notice = validate_notice(record.data)
    except NoticeInvalid as invalid:
        # a fresh exception: the raised one's traceback would keep the whole chunk alive
        return Parsed(record, NoticeInvalid(invalid.errors), "", {})
    data = notice.model_dump(mode="json", exclude_none=True)
    return Parsed(record, notice, notice.fingerprint(), data)


def store_chunk(
    connection: Connection,
    source: SourceFile,
    batch_id: int,
    parsed: list[Parsed],
    *,
    rules: RuleBook,
    now: datetime,
) -> IntakeSummary:
    """One transaction: deduplicate, route, assess and store parsed records. A record
    received before (same file digest and record number) keeps the decision taken then."""
    store = ChunkStore(connection, source, batch_id, now)
    summary = IntakeSummary()
    received = store.load_received([p.record.record_no for p in parsed])
    for entry in received.values():  # decided by an earlier run: reported only
        if entry is None:
            summary.duplicates += 1
        else:
            summary.quarantined.append(entry)
    parsed = [p for p in parsed if p.record.record_no not in received]
    store.load_known([(p.notice, p.fingerprint) for p in parsed if isinstance(p.notice, Notice)])
    for item in parsed:
        if isinstance(item.notice, NoticeInvalid):
            summary.quarantined.append(store.quarantine(item.record, item.notice))
        else:
            _take_notice(store, summary, item, rules)
    store.write(rules)
    summary.quarantined.sort(key=lambda entry: entry.record)
    summary.triage = sum(1 for case_id in summary.cases if store.in_triage(case_id))
    return summary




def _take_notice(store: ChunkStore, summary: IntakeSummary, item: Parsed,
                 rules: RuleBook) -> None:
    record, notice, fingerprint = item.record, item.notice, item.fingerprint
    assert isinstance(notice, Notice)
    if store.knows_notice(fingerprint):
        store.mark(record, "duplicate", fingerprint)
        summary.duplicates += 1
        return
    case = store.case_for(notice)
    if case is None and notice.dwelling is None:
        invalid = NoticeInvalid.single(
            "dwelling", f"required: docket {notice.docket_number} at {notice.court} is not known"
        )
        summary.quarantined.append(store.quarantine(record, invalid))
        return
    if case is None:
        store.open_case(CaseDraft.from_notice(notice, rules.route(notice)))
        outcome = "created"
    else:
        outcome = "updated"
    store.add_notice(record, notice, fingerprint, item.data, outcome)
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.note_case(store.case_id(notice))
