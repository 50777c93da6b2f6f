"""Retention (GDPR storage limitation) on SQLite and PostgreSQL: a closed case whose outcome
is older than the retention period keeps nothing personal anywhere in the database or the
data folder, the statistics do not move, every case is audited once, and a second run
does nothing."""

from __future__ import annotations

import json
import os
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from domain.access import Actor
from domus.bootstrap import Domus
from domus.cli import cli
from services.contacts import record_contact
from services.import_events import import_events
from services.intake import ingest_source
from services.letters import make_letter
from services.monitoring import compute_stats, monthly_report
from services.outcomes import record_outcome, reopen_case
from services.readers import inspect_file
from services.referrals import refer
from services.retention import (
    MARK,
    cutoff_for,
    pseudonymised_notice,
    redacted_history,
    run_retention,
)
from services.review import resolve_triage
from store import tables as t
from tests.builders import judgment, petition, write_jsonl
from tests.conftest import NOW
from tests.integration.test_sweep import ingest

OPERATOR = Actor.operator()
RETENTION_NOW = datetime(2031, 12, 1, 3, 0)  # five years back: outcomes before 2026-12-01
LATER = datetime(2027, 1, 10, 9, 0)
#: what the old case's household told Domus, and what must be gone from everywhere
PERSONAL = ("Amina", "El Idrissi", "Josaphat", "470 12 34 56", "1984-03-02", "amina@mail.be",
            "pregnant", "NOTE-debts of 26A1", "NOTE-debts of 26A4", "REASON-shelter",
            "REOPEN-why", "TRIAGE-note", "Hassan", "Rue Haute")


def other_household(docket: str, **changes: Any) -> dict[str, Any]:
    return petition(docket, tenant__first_name="Jan", tenant__last_name="Peeters",
                    tenant__phone="+32 2 555 00 00", tenant__birth_date="1970-01-01",
                    dwelling__street="Rue Royale", landlord__name="Other SRL",
                    landlord__street="Rue Neuve", **changes)


@pytest.fixture
def region(domus: Domus, tmp_path: Path) -> dict[str, str]:
    """26A1: Amina's case, closed 2026-11-20 (due); 26A4: Hassan's case, routed by hand from
    triage and closed (due); 26A2: closed 2027-01-05 (too recent); 26A3: open."""
    old = petition("26A1", tenant__email="amina@mail.be", remarks="the tenant is pregnant")
    ingest(domus, tmp_path / "fax.jsonl", [old, other_household("26A2"),
                                           other_household("26A3")])
    ingest(domus, tmp_path / "letter.jsonl", [old, judgment("26A1")])  # a duplicate receipt
    ingest(domus, tmp_path / "triage.jsonl", [petition(
        "26A4", tenant__first_name="Hassan", tenant__last_name="Hassan",
        dwelling__street="Rue Haute", dwelling__municipality="Elsene-Brussel",
        dwelling__postcode="1050")])
    ingest(domus, tmp_path / "bad.jsonl", [petition("26A5", hearing_at="someday")])
    ids = case_ids(domus)
    resolve_triage(domus.engine, ids["26A4"], "21009", actor=OPERATOR, rules=domus.rules,
                   now=NOW, note="TRIAGE-note: Hassan lives on the Ixelles side")
    calendar = domus.rules.calendar
    for docket in ("26A1", "26A2", "26A4"):
        record_contact(domus.engine, ids[docket], channel="home_visit", result="reached",
                       at=datetime(2026, 11, 9, 10), note=f"NOTE-debts of {docket}",
                       actor=OPERATOR, now=NOW, calendar=calendar)
    refer(domus.engine, ids["26A1"], "capteur_createur", reason="REASON-shelter for Amina",
          actor=OPERATOR, now=NOW, directory=domus.programmes, calendar=calendar)
    make_letter(domus.engine, ids["26A1"], "tenant_invitation", None, actor=OPERATOR,
                data_dir=domus.settings.data_dir, profiles=domus.profiles, calendar=calendar,
                now=NOW)
    events = tmp_path / "events.csv"
    events.write_text("court;docket_number;type;at;channel;result;note\n"
                      "Vredegerecht Schaarbeek;26A1;contact;10/11/2026;phone;reached;"
                      "NOTE-debts Amina agreed\n", encoding="utf-8")
    import_events(domus.engine, inspect_file(events), now=NOW, calendar=calendar)
    record_outcome(domus.engine, ids["26A1"], "evicted", on=date(2026, 11, 20),
                   actor=OPERATOR, now=NOW)
    reopen_case(domus.engine, ids["26A1"], reason="REOPEN-why: Amina paid", actor=OPERATOR,
                now=NOW)
    record_outcome(domus.engine, ids["26A1"], "kept_payment_plan", on=date(2026, 11, 20),
                   actor=OPERATOR, now=NOW)
    record_outcome(domus.engine, ids["26A4"], "rehoused", on=date(2026, 11, 19),
                   actor=OPERATOR, now=NOW)
    record_outcome(domus.engine, ids["26A2"], "kept_agreement", on=date(2027, 1, 5),
                   actor=OPERATOR, now=LATER)
    with domus.engine.begin() as connection:  # e-mails as delivery renders them
        for key, docket, created, body in (
                ("overdue:26A1", "26A1", LATER, "Amina El Idrissi, Rue Josaphat 112"),
                ("digest", None, NOW, "Today: Amina El Idrissi, Jan Peeters"),
                ("overdue:26A2", "26A2", LATER, "Jan Peeters, Rue Royale 112")):
            connection.execute(t.outbox.insert().values(
                key=key, reason=key.split(":")[0], recipient="cw@ocmw.be",
                case_id=ids.get(docket), due_on=created.date(), created_at=created,
                status="sent", attempts=1, next_attempt_at=created, subject=f"Domus: {body}",
                body=body))
    return ids


def case_ids(domus: Domus) -> dict[str, str]:
    with domus.engine.connect() as connection:
        return dict(connection.execute(select(t.cases.c.docket_number, t.cases.c.id)).all())


def everything(domus: Domus) -> str:
    """Every row of every table, as text."""
    with domus.engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in t.metadata.sorted_tables
                         for row in connection.execute(select(table)))


def figures(domus: Domus) -> list[Any]:
    with domus.engine.connect() as connection:
        stats = [compute_stats(connection, from_date=None, to_date=None, by=by, min_cell=1)
                 for by in (None, "ocmw", "commune", "month", "quarter")]
        reports = [monthly_report(connection, ocmw=ocmw, month="2026-11", now=NOW)
                   for ocmw in ("21015", "21009")]
    return [stats, reports]


def retention(domus: Domus, **options: Any) -> dict[str, Any]:
    options = {"now": RETENTION_NOW, "years": 5, "data_dir": domus.settings.data_dir,
               **options}
    report = run_retention(domus.engine, **options)
    return {**report.as_json(), "case_ids": report.case_ids}


def test_a_closed_case_past_the_retention_period_keeps_nothing_personal(
        domus: Domus, region: dict[str, str]) -> None:
    assert all(word in everything(domus) for word in PERSONAL)
    letters = list((domus.settings.data_dir / "letters").rglob("*.docx"))
    assert len(letters) == 1
    report = retention(domus)
    assert report["case_ids"] == sorted([region["26A1"], region["26A4"]])
    assert report["cases"] == 2 and report["letter_files"] == 1
    assert report["contact_notes"] == 3  # two of Amina's (one imported), Hassan's
    left = everything(domus)
    assert [word for word in PERSONAL if word in left] == []
    assert "Jan" in left and "Peeters" in left and "Rue Royale" in left  # the others stay
    assert "NOTE-debts of 26A2" in left
    assert not letters[0].exists()


def test_what_the_statistics_and_the_register_need_stays(
        domus: Domus, region: dict[str, str]) -> None:
    before = figures(domus)
    with domus.engine.connect() as connection:
        facts = connection.execute(select(t.cases).where(t.cases.c.id == region["26A1"])).one()
        register = connection.execute(select(t.letters.c.kind, t.letters.c.sha256)).all()
    retention(domus)
    assert figures(domus) == before
    with domus.engine.connect() as connection:
        case = connection.execute(select(t.cases).where(t.cases.c.id == region["26A1"])).one()
        notices = connection.scalars(select(t.notices.c.data).where(
            t.notices.c.case_id == region["26A1"]).order_by(t.notices.c.id)).all()
        assert connection.execute(select(t.letters.c.kind, t.letters.c.sha256)).all() == register
    kept = ("ocmw", "postcode", "municipality", "court", "docket_number", "first_received_on",
            "outcome_code", "outcome_on", "contact_attempted", "first_effective_contact_on",
            "days_to_contact", "home_visits", "tenant_language", "hearing_at")
    assert {name: getattr(case, name) for name in kept} == {
        name: getattr(facts, name) for name in kept}
    assert (case.tenant_first_name, case.tenant_last_name, case.street, case.house_number,
            case.box) == (None, MARK, None, None, None)
    assert notices[0]["tenant"] == {"last_name": MARK, "language": "fr"}
    assert notices[0]["dwelling"] == {"postcode": "1030", "municipality": "Schaerbeek"}
    assert notices[0]["landlord"] == {"kind": "private"}
    assert notices[0]["hearing_at"] == "2026-12-10T09:30:00"
    assert notices[0]["arrears_eur"] == "2900.00" and "remarks" not in notices[0]


def test_the_history_keeps_its_rows_and_loses_only_free_text(
        domus: Domus, region: dict[str, str]) -> None:
    def history() -> list[tuple]:  # type: ignore[type-arg]
        with domus.engine.connect() as connection:
            return connection.execute(
                select(t.case_events.c.id, t.case_events.c.kind, t.case_events.c.actor,
                       t.case_events.c.at, t.case_events.c.after)
                .where(t.case_events.c.case_id == region["26A1"])
                .order_by(t.case_events.c.id)).all()

    before = history()
    report = retention(domus)
    after = history()
    assert [row[:4] for row in after] == [row[:4] for row in before]
    kinds = [row.kind for row in after]
    assert kinds == ["contact", "referral", "contact", "outcome", "reopen", "outcome"]
    assert [row.after.get("note") for row in after if row.kind == "contact"] == [None, None]
    assert after[0].after["channel"] == "home_visit" and after[0].after["result"] == "reached"
    assert after[4].after == {"status": "open", "outcome": None}  # the reason is gone
    assert after[5].after["outcome"] == {"code": "kept_payment_plan", "on": "2026-11-20"}
    assert report["history_rows"] == 4  # 26A1: two contacts and the reopening; 26A4: one
    for statement in ("UPDATE case_events SET actor = 'someone else'",
                      "UPDATE case_events SET after = NULL",
                      f"UPDATE case_events SET redacted_at = '2031-12-02 00:00:00', "
                      f"kind = 'forged' WHERE case_id = '{region['26A2']}'",
                      "UPDATE case_events SET redacted_at = NULL",
                      "DELETE FROM case_events"):
        with pytest.raises(DBAPIError, match="append-only"), domus.engine.begin() as c:
            c.execute(text(statement))


def test_each_case_is_audited_once_and_a_second_run_does_nothing(
        domus: Domus, region: dict[str, str]) -> None:
    first = retention(domus)
    snapshot = everything(domus)
    second = retention(domus)
    assert everything(domus) == snapshot
    counts = {k: v for k, v in second.items() if isinstance(v, int) and not isinstance(v, bool)}
    assert set(counts.values()) == {0}
    assert first["cases"] == 2
    with domus.engine.connect() as connection:
        audited = connection.execute(
            select(t.audit_log.c.case_id, t.audit_log.c.actor, t.audit_log.c.channel,
                   t.audit_log.c.at).where(t.audit_log.c.action == "retention")
            .order_by(t.audit_log.c.case_id)).all()
    assert audited == [(case_id, "retention job", "job", RETENTION_NOW)
                       for case_id in sorted([region["26A1"], region["26A4"]])]


def test_a_notice_that_arrives_after_pseudonymisation_is_pseudonymised_by_the_next_run(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    retention(domus)
    late = datetime(2032, 1, 5, 9, 0)
    ingest_source(domus.engine, inspect_file(write_jsonl(tmp_path / "late.jsonl", [
        judgment("26A1", received_on="2032-01-04", judgment_on="2031-12-20",
                 served_on="2031-12-28")])), rules=domus.rules, now=late)
    assert "El Idrissi" in everything(domus)
    again = retention(domus, now=datetime(2032, 1, 6, 3, 0))  # 26A2 (2027-01-05) is due now
    assert again["case_ids"] == sorted([region["26A1"], region["26A2"]])
    assert again["notices"] == 3 + 1 and again["receipts"] == 4 + 1
    assert "El Idrissi" not in everything(domus)
    assert retention(domus, now=datetime(2032, 1, 7, 3, 0))["cases"] == 0


def test_two_runs_at_once_pseudonymise_and_audit_each_case_once(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    dockets = [f"27B{n}" for n in range(20)]
    ingest(domus, tmp_path / "more.jsonl", [other_household(d) for d in dockets])
    ids = case_ids(domus)
    for docket in dockets:
        record_outcome(domus.engine, ids[docket], "refused_help", on=date(2026, 11, 20),
                       actor=OPERATOR, now=NOW)
    start, reports, errors = threading.Barrier(2), [], []

    def run() -> None:
        start.wait()
        try:
            reports.append(retention(domus, chunk=3))
        except Exception as exc:  # the test reports it below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(report["cases"] for report in reports) == 22
    with domus.engine.connect() as connection:
        audited = connection.scalars(select(t.audit_log.c.case_id).where(
            t.audit_log.c.action == "retention")).all()
    assert sorted(audited) == sorted({*ids.values()} - {region["26A2"], region["26A3"]})


def test_a_dry_run_counts_the_same_and_changes_nothing(
        domus: Domus, region: dict[str, str]) -> None:
    snapshot = everything(domus)
    letters = sorted((domus.settings.data_dir / "letters").rglob("*.docx"))
    dry = retention(domus, dry_run=True)
    assert everything(domus) == snapshot
    assert sorted((domus.settings.data_dir / "letters").rglob("*.docx")) == letters
    real = retention(domus)
    assert {**dry, "dry_run": False} == real


def test_the_recent_and_the_open_cases_and_a_zero_period_are_left_alone(
        domus: Domus, region: dict[str, str]) -> None:
    snapshot = everything(domus)
    assert retention(domus, years=0)["cases"] == 0
    assert retention(domus, now=datetime(2030, 1, 1))["cases"] == 0
    assert everything(domus) == snapshot
    with domus.engine.connect() as connection:
        marked = connection.scalars(select(t.cases.c.id).where(
            t.cases.c.pseudonymised_at.is_not(None))).all()
    assert marked == []
    report = retention(domus)
    assert region["26A2"] not in report["case_ids"] and region["26A3"] not in report["case_ids"]
    with domus.engine.connect() as connection:
        names = dict(connection.execute(select(t.cases.c.docket_number,
                                               t.cases.c.tenant_last_name)).all())
    assert names == {"26A1": MARK, "26A4": MARK, "26A2": "Peeters", "26A3": "Peeters"}


def test_records_tied_to_no_case_and_old_files_expire_by_age(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    data, done = domus.settings.data_dir, tmp_path / "watch" / "done"
    old, new = data / "incoming" / "old.csv", data / "letters" / "batch" / "new.docx"
    watched = done / "2020" / "notices.csv"
    for path, moment in ((old, datetime(2020, 1, 1)), (new, datetime(2027, 6, 1)),
                         (watched, datetime(2025, 3, 1))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Amina", encoding="utf-8")
        os.utime(path, (moment.timestamp(), moment.timestamp()))
    report = retention(domus, folders=[done])
    assert report["expired_receipts"] == 2  # the quarantined petition and the event row
    assert report["old_files"] == 2 and not old.exists() and not watched.exists()
    assert new.exists()
    with domus.engine.connect() as connection:
        outbox = dict(connection.execute(select(t.outbox.c.key, t.outbox.c.body)).all())
        quarantined = connection.scalars(select(t.quarantine.c.data)).all()
    assert outbox == {"overdue:26A1": None, "digest": None,
                      "overdue:26A2": "Jan Peeters, Rue Royale 112"}
    assert quarantined == [None]


def test_the_command_prints_the_counts(domus: Domus, region: dict[str, str],
                                       prefect_server: str) -> None:
    result = CliRunner().invoke(cli, ["retention", "--dry-run", "--now", "2031-12-01T03:00",
                                      "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["cases"], report["dry_run"], report["cutoff"]) == (2, True, "2026-12-01")
    result = CliRunner().invoke(cli, ["retention", "--now", "2031-12-01T03:00"])
    assert result.exit_code == 0, result.stderr
    assert "closed cases with an outcome before 2026-12-01" in result.stdout
    assert "  cases: 2" in result.stdout


# -- what a record keeps (pure) --------------------------------------------------------------
def test_a_notice_keeps_the_procedure_and_an_institution_landlord() -> None:
    notice = petition(landlord__kind="social_housing", landlord__name="Le Foyer Schaerbeekois",
                      landlord__email="jan@foyer.be", extra_field="free text")
    kept = pseudonymised_notice(notice, date(2031, 12, 1))
    assert kept["landlord"] == {"name": "Le Foyer Schaerbeekois", "kind": "social_housing",
                                "street": "Avenue Louise", "number": "10",
                                "postcode": "1050", "municipality": "Bruxelles"}
    assert kept["tenant"] == {"last_name": MARK, "language": "fr"}
    assert "extra_field" not in kept and kept["pseudonymised_on"] == "2031-12-01"
    assert {k: kept[k] for k in ("kind", "court", "docket_number", "filed_on")} == {
        k: notice[k] for k in ("kind", "court", "docket_number", "filed_on")}


def test_history_keeps_only_known_keys_at_every_level() -> None:
    assert redacted_history({"id": 3, "channel": "phone", "note": "x", "result": "reached",
                             "outcome": {"code": "evicted", "on": "2026-11-20", "why": "y"}}) == {
        "id": 3, "channel": "phone", "result": "reached",
        "outcome": {"code": "evicted", "on": "2026-11-20"}}
    assert redacted_history(None) is None


def test_the_cutoff_is_the_same_day_years_back() -> None:
    assert cutoff_for(date(2031, 12, 1), 5) == date(2026, 12, 1)
    assert cutoff_for(date(2032, 2, 29), 1) == date(2031, 2, 28)
    assert cutoff_for(date(2031, 12, 1), 0) is None
