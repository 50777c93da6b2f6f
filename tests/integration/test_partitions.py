"""A large file is split by procedure over processes; together they store what one does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from domus.bootstrap import Domus, bootstrap
from domus.demo_data import generate_notices, write_jsonl
from domus.settings import Settings
from services.intake import ingest_source, partition_of
from services.readers import RawRecord, inspect_file
from services.summary import IntakeSummary
from store import tables as t
from tests.conftest import NOW

TABLES = (t.receipts, t.notices, t.cases, t.tasks, t.flags, t.quarantine, t.triage)


def counts(domus: Domus) -> dict[str, int]:
    with domus.engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table))
                for table in TABLES}


def totals(summary: IntakeSummary) -> tuple[int, ...]:
    return (summary.received, summary.created, summary.updated, summary.duplicates,
            summary.triage, len(summary.quarantined))


def test_two_partitions_store_exactly_what_one_run_stores(domus: Domus, tmp_path: Path) -> None:
    path = tmp_path / "year.jsonl"
    write_jsonl(generate_notices(400, seed=11, start=date(2026, 9, 1), days=120), path)
    source = inspect_file(path)
    reference = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'reference.db'}"))
    whole = ingest_source(reference.engine, source, rules=reference.rules, now=NOW)

    split = IntakeSummary()
    for part in (1, 0):  # in any order: no procedure spans two partitions
        split.add(ingest_source(domus.engine, source, rules=domus.rules, now=NOW, part=part,
                                parts=2))

    assert totals(split) == totals(whole)
    assert whole.updated > 0 and whole.duplicates > 0 and whole.quarantined
    assert counts(domus) == counts(reference)
    assert sorted(split.cases) == sorted(whole.cases)
    reference.engine.dispose()


def test_every_notice_of_a_procedure_lands_in_the_same_partition() -> None:
    def record(court: str, docket: str) -> RawRecord:
        return RawRecord(1, 1, "", {"court": court, "docket_number": docket})

    for parts in (2, 3, 4):
        first = partition_of(record("Vredegerecht Schaarbeek", "26A1234"), parts)
        assert partition_of(record("vredegerecht  SCHAARBEEK", "26 a 1234"), parts) == first
    spread = {partition_of(record("JP Ixelles", f"26A{n}"), 2) for n in range(20)}
    assert spread == {0, 1}


def test_a_record_without_court_or_docket_goes_to_the_first_partition() -> None:
    for data in (None, [], {"court": "JP Ixelles"}, {"court": 5, "docket_number": "1"}):
        assert partition_of(RawRecord(1, 1, "", data), 2) == 0
