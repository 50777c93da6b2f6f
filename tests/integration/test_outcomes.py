"""Outcomes, reopening, the append-only history, referrals and imported events, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from domain.access import Actor
from domus.bootstrap import Domus
from services.cases import CaseNotFound, case_document
from services.contacts import record_contact
from services.import_events import import_events
from services.outcomes import OutcomeError, record_outcome, reopen_case
from services.readers import inspect_file
from services.referrals import ReferralError, refer, update_referral
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest

OPERATOR = Actor.operator()


@pytest.fixture
def case_id(domus: Domus, tmp_path: Path) -> str:
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    with domus.engine.connect() as connection:
        return connection.scalar(select(t.cases.c.id))


def document(domus: Domus, case_id: str) -> dict:  # type: ignore[type-arg]
    with domus.engine.connect() as connection:
        return case_document(connection, case_id, OPERATOR)


def test_an_outcome_closes_the_case_once_and_reopening_needs_a_reason(
        domus: Domus, case_id: str) -> None:
    done = record_outcome(domus.engine, case_id, "kept_payment_plan", on=date(2026, 11, 20),
                          actor=OPERATOR, now=NOW)
    assert done["solution"] and done["cancelled_tasks"]
    case = document(domus, case_id)
    assert case["status"] == "closed"
    assert case["outcome"] == {"code": "kept_payment_plan", "on": "2026-11-20"}
    assert {task["status"] for task in case["tasks"]} == {"cancelled"}
    with pytest.raises(OutcomeError, match="already has the outcome kept_payment_plan"):
        record_outcome(domus.engine, case_id, "evicted", on=None, actor=OPERATOR, now=NOW)
    with pytest.raises(OutcomeError, match="--reason"):
        reopen_case(domus.engine, case_id, reason=" ", actor=OPERATOR, now=NOW)
    reopen_case(domus.engine, case_id, reason="wrong code", actor=OPERATOR, now=NOW)
    assert document(domus, case_id)["outcome"] is None
    record_outcome(domus.engine, case_id, "evicted", on=None, actor=OPERATOR, now=NOW)
    history = [(e["kind"], e["actor"]) for e in document(domus, case_id)["history"]]
    assert history == [("outcome", "local operator"), ("reopen", "local operator"),
                       ("outcome", "local operator")]
    assert document(domus, case_id)["history"][1]["after"]["reason"] == "wrong code"


def test_outcomes_are_validated(domus: Domus, case_id: str) -> None:
    with pytest.raises(OutcomeError, match="--code 'won'"):
        record_outcome(domus.engine, case_id, "won", on=None, actor=OPERATOR, now=NOW)
    with pytest.raises(OutcomeError, match="before the case's first notice"):
        record_outcome(domus.engine, case_id, "evicted", on=date(2026, 10, 1), actor=OPERATOR,
                       now=NOW)
    with pytest.raises(OutcomeError, match="in the future"):
        record_outcome(domus.engine, case_id, "evicted", on=date(2026, 12, 1), actor=OPERATOR,
                       now=NOW)
    with pytest.raises(CaseNotFound):
        record_outcome(domus.engine, case_id, "evicted", on=None,
                       actor=Actor("x@ocmw.be", "caseworker", "21001"), now=NOW)


def test_the_history_cannot_be_changed(domus: Domus, case_id: str) -> None:
    record_contact(domus.engine, case_id, channel="phone", result="reached", at=None,
                   note=None, actor=OPERATOR, now=NOW)
    for statement in ("UPDATE case_events SET actor = 'someone else'",
                      "DELETE FROM case_events"):
        with pytest.raises(DBAPIError, match="append-only"), domus.engine.begin() as c:
            c.execute(text(statement))
    assert [e["kind"] for e in document(domus, case_id)["history"]] == ["contact"]


def test_contacts_keep_the_monitoring_facts_of_the_case(domus: Domus, case_id: str) -> None:
    for channel, result, at in (("letter", "reached", datetime(2026, 11, 4, 9)),
                                ("home_visit", "not_reached", datetime(2026, 11, 10, 9)),
                                ("home_visit", "reached", datetime(2026, 11, 16, 9)),
                                ("phone", "reached", datetime(2026, 11, 13, 9))):
        record_contact(domus.engine, case_id, channel=channel, result=result, at=at,
                       note=None, actor=OPERATOR, now=NOW, calendar=domus.rules.calendar)
    with domus.engine.connect() as connection:
        row = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).one()
    assert row.contact_attempted and row.home_visits == 2
    assert row.first_effective_contact_on == date(2026, 11, 13)  # the earliest, not the last
    # received Monday 2 November; Wednesday 11 November is a holiday
    assert row.days_to_contact == 8


def test_referrals_follow_up_and_housed_suggests_rehoused(domus: Domus, case_id: str) -> None:
    made = refer(domus.engine, case_id, "capteur_createur", reason="needs a new home",
                 actor=OPERATOR, now=NOW, directory=domus.programmes,
                 calendar=domus.rules.calendar)
    assert made["status"] == "sent" and made["follow_up_on"] == "2026-12-07"
    case = document(domus, case_id)
    assert [(r["programme"], r["status"]) for r in case["referrals"]] == [
        ("capteur_createur", "sent")]
    follow = next(task for task in case["tasks"] if task["kind"] == "referral_follow_up")
    assert follow["due_on"] == "2026-12-07" and follow["status"] == "open"
    assert update_referral(domus.engine, made["id"], "accepted", actor=OPERATOR,
                           now=NOW)["status"] == "accepted"
    housed = update_referral(domus.engine, made["id"], "housed", actor=OPERATOR, now=NOW)
    assert housed["suggested_outcome"] == "rehoused"
    assert [e["kind"] for e in document(domus, case_id)["history"]] == [
        "referral", "referral_status", "referral_status"]
    with pytest.raises(ReferralError, match="not in the directory"):
        refer(domus.engine, case_id, "nowhere", reason="x", actor=OPERATOR, now=NOW,
              directory=domus.programmes, calendar=domus.rules.calendar)
    with pytest.raises(ReferralError, match="--status 'lost'"):
        update_referral(domus.engine, made["id"], "lost", actor=OPERATOR, now=NOW)
    with pytest.raises(ReferralError, match="not found"):
        update_referral(domus.engine, made["id"], "closed",
                        actor=Actor("x@ocmw.be", "caseworker", "21001"), now=NOW)


EVENTS_CSV = (
    "court;docket_number;type;at;channel;result;code;note\r\n"
    "Vredegerecht Schaarbeek;26A1;contact;05/11/2026 10:30;phone;not_reached;;\r\n"
    "Vredegerecht Schaarbeek;26A1;contact;09/11/2026 14:00;home_visit;reached;;r\xe9solu\r\n"
    "Vredegerecht Schaarbeek;26A1;outcome;20/11/2026;;;kept_agreement;\r\n"
    "Vredegerecht Schaarbeek;26A9;contact;09/11/2026;phone;reached;;\r\n"
    "Vredegerecht Schaarbeek;26A1;contact;09/11/2026;pigeon;reached;;\r\n"
    "Vredegerecht Schaarbeek;26A1;outcome;01/10/2026;;;evicted;\r\n"
)


def test_import_events_loads_a_belgian_spreadsheet_once(domus: Domus, case_id: str,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "suivi.csv"
    path.write_bytes(EVENTS_CSV.encode("cp1252"))
    summary = import_events(domus.engine, inspect_file(path), now=NOW,
                            calendar=domus.rules.calendar)
    assert (summary.received, summary.contacts, summary.outcomes) == (6, 2, 1)
    assert [(q["record"], q["field"]) for q in summary.quarantined] == [
        (4, "docket_number"), (5, "channel"), (6, "at")]
    case = document(domus, case_id)
    assert case["outcome"] == {"code": "kept_agreement", "on": "2026-11-20"}
    assert [(c["channel"], c["result"], c["note"]) for c in case["contacts"]] == [
        ("phone", "not_reached", None), ("home_visit", "reached", "résolu")]
    again = import_events(domus.engine, inspect_file(path), now=NOW,
                          calendar=domus.rules.calendar)
    assert (again.contacts, again.outcomes, again.duplicates) == (0, 0, 3)
    assert len(document(domus, case_id)["contacts"]) == 2
    with domus.engine.connect() as connection:
        raw = connection.scalars(select(t.receipts.c.raw).where(
            t.receipts.c.source_sha256 == inspect_file(path).sha256)).all()
    assert len(raw) == 6  # every row received is kept verbatim


def test_a_closed_case_leaves_the_sweep_alone(domus: Domus, case_id: str) -> None:
    from services.sweep import record_sweep

    record_outcome(domus.engine, case_id, "procedure_stopped", on=None, actor=OPERATOR,
                   now=NOW)
    with domus.engine.begin() as connection:
        counts = record_sweep(connection, domus.rules, NOW)
        connection.execute(update(t.cases).values(updated_at=NOW))
    assert counts.notifications == 0 and counts.at_risk == 0
