"""Intake: received records become notices on routed cases with dates, flags and tasks.

`ingest_source` streams one file in chunks; each chunk is one transaction
(`ingest_chunk`) that can be re-run safely: receipts, notices, cases and tasks all have
unique keys, so a batch run twice, or finished after a crash, doubles nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice

from sqlalchemy import Connection, Engine, insert, update

from domain.notices import Notice, NoticeInvalid, validate_notice
from domain.rulebook import RuleBook
from services.intake_store import CaseDraft, ChunkStore
from services.readers import RawRecord, SourceFile, read_records
from services.summary import IntakeSummary
from store.tables import batches

Progress = Callable[[int], None]


def ingest_source(
    engine: Engine,
    source: SourceFile,
    *,
    rules: RuleBook,
    now: datetime,
    chunk_size: int = 1000,
    progress: Progress | None = None,
) -> IntakeSummary:
    """Ingest every record of `source`; chunks are committed one by one, so memory stays
    flat and a killed batch resumes where it stopped when it is run again."""
    batch_id = start_batch(engine, source, now)
    summary = IntakeSummary()
    for chunk in _chunks(read_records(source), chunk_size):
        with engine.begin() as connection:
            summary.add(ingest_chunk(connection, source, batch_id, chunk, rules=rules, now=now))
        if progress:
            progress(len(chunk))
    with engine.begin() as connection:
        connection.execute(
            update(batches).where(batches.c.id == batch_id)
            .values(finished_at=now, summary=summary.to_json())
        )
    return summary


def start_batch(engine: Engine, source: SourceFile, now: datetime) -> int:
    with engine.begin() as connection:
        result = connection.execute(
            insert(batches).values(source=source.name, sha256=source.sha256, started_at=now)
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
    records = list(records)
    store = ChunkStore(connection, source, batch_id, now)
    parsed = [_parse(record) for record in records]
    store.load_known([(n, fp) for _, n, fp in parsed if isinstance(n, Notice)])
    summary = IntakeSummary()
    for record, notice, fingerprint in parsed:
        if isinstance(notice, NoticeInvalid):
            summary.quarantined.append(store.quarantine(record, notice))
        else:
            _take_notice(store, summary, record, notice, fingerprint, rules)
    store.write(rules)
    summary.triage = sum(1 for case_id in summary.cases if store.in_triage(case_id))
    return summary


def _parse(record: RawRecord) -> tuple[RawRecord, Notice | NoticeInvalid, str]:
    if record.error:
        return record, NoticeInvalid.single("(record)", record.error), ""
    try:
        notice = validate_notice(record.data)
    except NoticeInvalid as invalid:
        # a fresh exception: the raised one's traceback would keep the whole chunk alive
        return record, NoticeInvalid(invalid.errors), ""
    return record, notice, notice.fingerprint()


def _take_notice(store: ChunkStore, summary: IntakeSummary, record: RawRecord,
                 notice: Notice, fingerprint: str, rules: RuleBook) -> None:
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
    store.add_notice(record, notice, fingerprint, outcome)
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.note_case(store.case_id(notice))
