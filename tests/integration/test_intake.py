"""Intake against a real database, SQLite and PostgreSQL (services, without Prefect)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from domain.access import Actor
from domus.bootstrap import Domus
from services.cases import case_document
from services.intake import ingest_chunk, ingest_source, start_batch
from services.readers import inspect_file, read_records
from store import tables as t
from tests.builders import eviction_notice, judgment, petition, write_jsonl
from tests.conftest import NOW

TABLES = (t.receipts, t.notices, t.cases, t.tasks, t.flags, t.quarantine, t.triage)


def ingest(domus: Domus, path: Path, chunk_size: int = 1000):  # type: ignore[no-untyped-def]
    return ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=NOW,
                         chunk_size=chunk_size)


def counts(domus: Domus) -> dict[str, int]:
    with domus.engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table))
                for table in TABLES}


def case(domus: Domus, case_id: str) -> dict:  # type: ignore[type-arg]
    with domus.engine.connect() as connection:
        return case_document(connection, case_id, Actor.operator())


def mixed_batch() -> list[dict]:  # type: ignore[type-arg]
    return [
        petition("26A1"),
        petition("26A1", received_on="2026-11-04"),  # the confirming letter: a duplicate
        petition("26A2", dwelling__postcode="1050", dwelling__municipality="Elsene"),
        petition("26A3", dwelling__postcode="1030", dwelling__municipality="Evere"),
        petition("26A4", tenant={"first_name": "Jan"}),  # no last name: quarantined
        judgment("26A1", received_on="2026-12-20"),
    ]


def test_a_batch_opens_cases_updates_them_and_counts_every_record(domus: Domus,
                                                                   tmp_path: Path) -> None:
    summary = ingest(domus, write_jsonl(tmp_path / "batch.jsonl", mixed_batch()))

    assert (summary.created, summary.updated, summary.duplicates) == (3, 1, 1)
    assert [(q.record, q.field) for q in summary.quarantined] == [(5, "tenant.last_name")]
    assert summary.received == 6
    assert summary.triage == 1
    assert len(summary.cases) == 3
    assert counts(domus)["receipts"] == 6


def test_running_the_same_batch_again_doubles_nothing(domus: Domus, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "batch.jsonl", mixed_batch())
    ingest(domus, path)
    before = counts(domus)

    again = ingest(domus, path)

    assert counts(domus) == before
    assert (again.created, again.updated, again.duplicates) == (0, 0, 5)
    assert len(again.quarantined) == 1


def test_a_batch_killed_half_way_finishes_without_doubling_or_losing(
    domus: Domus, tmp_path: Path
) -> None:
    notices = [petition(f"26B{i}") for i in range(7)] + [judgment("26B1")]
    path = write_jsonl(tmp_path / "batch.jsonl", notices)
    source = inspect_file(path)
    first_chunk = list(read_records(source))[:3]
    batch_id = start_batch(domus.engine, source, NOW)
    with domus.engine.begin() as connection:  # the run that was killed after one chunk
        ingest_chunk(connection, source, batch_id, first_chunk, rules=domus.rules, now=NOW)

    resumed = ingest(domus, path, chunk_size=2)

    assert (resumed.created, resumed.updated, resumed.duplicates) == (4, 1, 3)
    assert counts(domus)["cases"] == 7
    assert counts(domus)["notices"] == 8
    assert counts(domus)["tasks"] == 7 * 6 + 2


def test_a_postponed_hearing_moves_open_tasks_and_leaves_done_ones(
    domus: Domus, tmp_path: Path
) -> None:
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [petition()]))
    case_id = summary.cases[0]
    with domus.engine.begin() as connection:
        connection.execute(update(t.tasks).where(t.tasks.c.kind == "landlord_contact")
                           .values(status="done"))

    later = petition(received_on="2026-11-20", hearing_at="2027-01-14T09:30:00")
    update_summary = ingest(domus, write_jsonl(tmp_path / "b.jsonl", [later]))

    assert update_summary.updated == 1
    tasks = {task["kind"]: task for task in case(domus, case_id)["tasks"]}
    assert tasks["hearing_preparation"]["due_on"] == "2027-01-12"
    assert tasks["landlord_contact"]["due_on"] == "2026-11-30"  # done: history stays
    assert tasks["invitation_letter"]["due_on"] == "2026-11-04"  # counted from first receipt
    assert case(domus, case_id)["hearing_at"] == "2027-01-14T09:30:00"
    assert [n["kind"] for n in case(domus, case_id)["notices"]] == ["petition", "petition"]


def test_a_judgment_in_the_winter_gives_the_moratorium_date_and_its_tasks(
    domus: Domus, tmp_path: Path
) -> None:
    notices = [petition(), judgment(served_on="2026-12-18"),
               eviction_notice(notified_on="2027-01-04", received_on="2027-01-04",
                               eviction_at="2027-01-12T08:00:00")]
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", notices))

    document = case(domus, summary.cases[0])
    assert document["earliest_eviction_on"] == "2027-03-16"
    assert {f["code"] for f in document["flags"]} == {"moratorium", "short_notice",
                                                     "before_delay"}
    kinds = {task["kind"] for task in document["tasks"]}
    assert {"post_judgment_contact", "rehousing_plan", "urgent_home_visit",
            "emergency_rehousing"} <= kinds


def test_an_objection_is_recorded_and_cancels_open_tasks(domus: Domus, tmp_path: Path) -> None:
    objection = {"kind": "objection", "court": "Vredegerecht Schaarbeek",
                 "docket_number": "26A1234", "received_on": "2026-11-05",
                 "tenant": {"last_name": "El Idrissi"}}
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [petition()]))
    ingest(domus, write_jsonl(tmp_path / "b.jsonl", [objection]))

    document = case(domus, summary.cases[0])
    assert document["status"] == "objected"
    assert {task["status"] for task in document["tasks"]} == {"cancelled"}


def test_a_later_notice_for_an_unknown_docket_needs_the_dwelling(
    domus: Domus, tmp_path: Path
) -> None:
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [judgment("26Z9")]))

    assert summary.quarantined[0].field == "dwelling"
    assert "26Z9" in summary.quarantined[0].reason


def test_unknown_fields_are_kept_with_the_notice(domus: Domus, tmp_path: Path) -> None:
    notice = petition(registry_reference="R/2026/1234", tenant__note="via fax")
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [notice]))

    data = case(domus, summary.cases[0])["notices"][0]["data"]
    assert data["registry_reference"] == "R/2026/1234"
    assert data["tenant"]["note"] == "via fax"


def test_the_raw_text_of_every_record_is_kept_verbatim(domus: Domus, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", mixed_batch())
    ingest(domus, path)

    with domus.engine.connect() as connection:
        raws = list(connection.scalars(select(t.receipts.c.raw).order_by(t.receipts.c.record_no)))
    assert raws == path.read_text(encoding="utf-8").splitlines()


def test_a_belgian_excel_csv_is_ingested_as_it_is(domus: Domus, tmp_path: Path) -> None:
    header = ("kind;court;docket_number;received_on;filed_on;hearing_at;tenant_first_name;"
              "tenant_last_name;tenant_language;dwelling_street;dwelling_number;"
              "dwelling_postcode;dwelling_municipality;arrears_eur")
    row = ("petition;Justice de paix de Laeken;26L77;02/11/2026;27/10/2026;10/12/2026 09:30;"
           "Hélène;Dubois;fr;Place Bockstael;4;1020;Laeken;2.900,50")
    path = tmp_path / "export.csv"
    path.write_bytes(f"{header}\r\n{row}\r\n".encode("cp1252"))

    summary = ingest(domus, path)

    document = case(domus, summary.cases[0])
    assert document["ocmw"] == "21004"
    assert document["tenant"]["first_name"] == "Hélène"
    assert document["notices"][0]["data"]["arrears_eur"] == "2900.50"
    assert document["hearing_at"] == "2026-12-10T09:30:00"
