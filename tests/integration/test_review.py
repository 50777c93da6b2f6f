"""The review queues: correcting a quarantined record, routing a triage case."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.access import Actor
from domus.bootstrap import Domus
from services import review
from services.cases import CaseNotFound, case_document
from services.intake import ingest_source
from services.readers import inspect_file
from tests.builders import petition, write_jsonl
from tests.conftest import NOW

OPERATOR = Actor.operator()


def ingest(domus: Domus, path: Path):  # type: ignore[no-untyped-def]
    return ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=NOW)


def test_a_corrected_record_is_ingested_and_resolves_its_quarantine_entry(
    domus: Domus, tmp_path: Path
) -> None:
    ingest(domus, write_jsonl(tmp_path / "a.jsonl", [petition(hearing_at="bientôt")]))
    with domus.engine.connect() as connection:
        [entry] = review.quarantined(connection, OPERATOR)
    assert entry["errors"][0]["field"] == "hearing_at"
    assert "bientôt" in entry["raw"]

    record = review.corrected_record(entry, {"hearing_at": "10/12/2026 09:30"})
    summary = review.reingest(domus.engine, entry["id"], record, actor=OPERATOR,
                              rules=domus.rules, now=NOW)

    assert summary.created == 1
    with domus.engine.connect() as connection:
        assert review.quarantined(connection, OPERATOR) == []
        resolved = review.quarantined(connection, OPERATOR, include_resolved=True)
    assert resolved[0]["resolved_at"] is not None
    assert "bientôt" in resolved[0]["raw"]  # the record as received stays


def test_a_correction_that_is_still_wrong_replaces_the_entry_with_the_new_reasons(
    domus: Domus, tmp_path: Path
) -> None:
    ingest(domus, write_jsonl(tmp_path / "a.jsonl", [petition(hearing_at="bientôt")]))
    with domus.engine.connect() as connection:
        [entry] = review.quarantined(connection, OPERATOR)

    record = review.corrected_record(entry, {"hearing_at": "31/11/2026"})
    summary = review.reingest(domus.engine, entry["id"], record, actor=OPERATOR,
                              rules=domus.rules, now=NOW)

    assert summary.quarantined[0].field == "hearing_at"
    with domus.engine.connect() as connection:
        [still_open] = review.quarantined(connection, OPERATOR)
        everything = review.quarantined(connection, OPERATOR, include_resolved=True)
    assert "31/11/2026" in still_open["errors"][0]["reason"]
    assert [e["id"] for e in everything] == [entry["id"], still_open["id"]]


def test_a_triage_case_gets_its_ocmw_and_its_status(domus: Domus, tmp_path: Path) -> None:
    notice = petition(dwelling__postcode="1030", dwelling__municipality="Evere")
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [notice]))
    case_id = summary.cases[0]
    with domus.engine.connect() as connection:
        [waiting] = review.triage_queue(connection, OPERATOR)
    assert waiting["case_id"] == case_id
    assert "1030" in waiting["reason"] and "Evere" in waiting["reason"]

    review.resolve_triage(domus.engine, case_id, "21015", actor=OPERATOR, rules=domus.rules,
                          now=NOW, note="tenant confirmed Rue Josaphat, Schaerbeek")

    with domus.engine.connect() as connection:
        document = case_document(connection, case_id, Actor.operator())
        assert review.triage_queue(connection, OPERATOR) == []
    assert (document["ocmw"], document["status"]) == ("21015", "open")


def test_resolving_triage_refuses_an_unknown_ocmw(domus: Domus, tmp_path: Path) -> None:
    notice = petition(dwelling__postcode="2000", dwelling__municipality="Antwerpen")
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [notice]))

    with pytest.raises(review.ReviewError, match="99999"):
        review.resolve_triage(domus.engine, summary.cases[0], "99999", actor=OPERATOR,
                              rules=domus.rules, now=NOW)


def test_staff_of_another_ocmw_do_not_find_the_case(domus: Domus, tmp_path: Path) -> None:
    summary = ingest(domus, write_jsonl(tmp_path / "a.jsonl", [petition()]))
    case_id = summary.cases[0]
    schaerbeek = Actor("alice@schaerbeek", "caseworker", "21015")
    ixelles = Actor("bob@ixelles", "caseworker", "21009")
    monitor = Actor("carol@region", "monitor")

    with domus.engine.connect() as connection:
        assert case_document(connection, case_id, schaerbeek)["id"] == case_id
        for outsider in (ixelles, monitor):
            with pytest.raises(CaseNotFound):
                case_document(connection, case_id, outsider)
