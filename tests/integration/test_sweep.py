"""The sweep against a real database (SQLite and PostgreSQL), through the services: who gets
a task, what is notified once, escalation, at-risk flags, and re-runs after a crash."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from domain.access import Actor
from domus.bootstrap import Domus
from services.contacts import ContactError, record_contact
from services.intake import ingest_source
from services.readers import inspect_file
from services.sweep import record_digests, record_sweep
from services.tasks import TaskError, cancel_task, complete_task, reassign_task
from services.users import UserError, add_user
from store import tables as t
from tests.builders import petition, write_jsonl
from tests.conftest import NOW

SCHAERBEEK = "21015"


def ingest(domus: Domus, path: Path, notices: list[dict]) -> None:  # type: ignore[type-arg]
    ingest_source(domus.engine, inspect_file(write_jsonl(path, notices)), rules=domus.rules,
                  now=NOW)


def user(domus: Domus, email: str, role: str = "caseworker", ocmw: str | None = SCHAERBEEK,
         language: str = "nl") -> None:
    add_user(domus.engine, email=email, name=email.split("@")[0].title(), role=role,
             ocmw=ocmw, language=language, password=None, now=NOW, rules=domus.rules)


def tasks(domus: Domus) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    with domus.engine.connect() as connection:
        rows = connection.execute(select(t.tasks, t.cases.c.docket_number)
                                  .join(t.cases, t.cases.c.id == t.tasks.c.case_id))
        return {(r.docket_number, r.kind): dict(r._mapping) for r in rows}


def sweep(domus: Domus, now: datetime):  # type: ignore[no-untyped-def]
    with domus.engine.begin() as connection:
        return record_sweep(connection, domus.rules, now)


def outbox(domus: Domus) -> list[dict]:  # type: ignore[type-arg]
    with domus.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(t.outbox)
                                                             .order_by(t.outbox.c.id))]


def flags(domus: Domus, code: str = "at_risk") -> set[str]:
    with domus.engine.connect() as connection:
        return set(connection.scalars(select(t.flags.c.case_id).where(t.flags.c.code == code)))


# -- users and assignment ---------------------------------------------------------------
def test_new_tasks_go_to_the_case_caseworker_else_the_least_loaded(domus: Domus,
                                                                   tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    user(domus, "bo@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1"), petition("26A2"), petition("26A3")])
    found = tasks(domus)
    per_case = {docket: {r["assignee"] for (d, _), r in found.items() if d == docket}
                for docket in ("26A1", "26A2", "26A3")}
    assert all(len(people) == 1 for people in per_case.values())  # one caseworker a case
    owners = sorted(next(iter(people)) for people in per_case.values())
    assert owners in (["an@ocmw.be", "an@ocmw.be", "bo@ocmw.be"],
                      ["an@ocmw.be", "bo@ocmw.be", "bo@ocmw.be"])  # balanced by open tasks
    # a judgment on case 26A2 brings new tasks: they go to the same caseworker
    from tests.builders import judgment

    ingest(domus, tmp_path / "b.jsonl", [judgment("26A2")])
    after = {r["assignee"] for (d, _), r in tasks(domus).items() if d == "26A2"}
    assert after == per_case["26A2"]
    assert ("26A2", "post_judgment_contact") in tasks(domus)


def test_without_caseworker_tasks_wait_in_the_team_queue_until_one_joins(
        domus: Domus, tmp_path: Path) -> None:
    user(domus, "lead@ocmw.be", role="team_lead")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    assert {r["assignee"] for r in tasks(domus).values()} == {None}
    user(domus, "an@ocmw.be")
    assert {r["assignee"] for r in tasks(domus).values()} == {"an@ocmw.be"}
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.cases.c.caseworker)) == "an@ocmw.be"


def test_a_caseworker_who_leaves_hands_their_tasks_to_the_others(domus: Domus,
                                                                   tmp_path: Path) -> None:
    from services.users import deactivate_user, issue_token, user_for_token

    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    token = issue_token(domus.engine, "an@ocmw.be", kind="api", now=NOW)
    user(domus, "bo@ocmw.be")
    held = deactivate_user(domus.engine, "an@ocmw.be", rules=domus.rules, now=NOW)
    assert held == 6
    assert {r["assignee"] for r in tasks(domus).values()} == {"bo@ocmw.be"}
    with domus.engine.connect() as connection:
        assert user_for_token(connection, token, kind="api") is None
        assert connection.scalar(select(t.cases.c.caseworker)) == "bo@ocmw.be"
    ingest(domus, tmp_path / "b.jsonl", [petition("26A2")])
    assert "an@ocmw.be" not in {r["assignee"] for r in tasks(domus).values()}


def test_an_ocmw_can_choose_the_team_queue(domus: Domus, tmp_path: Path) -> None:
    import dataclasses

    from domain.playbook import default_playbook

    queue = dataclasses.replace(default_playbook(), assignment_rule="team_queue")
    rules = dataclasses.replace(domus.rules, playbooks={SCHAERBEEK: queue})
    domus = dataclasses.replace(domus, rules=rules)
    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    assert {r["assignee"] for r in tasks(domus).values()} == {None}


def test_users_are_checked(domus: Domus) -> None:
    with pytest.raises(UserError, match="--ocmw: a monitor"):
        add_user(domus.engine, email="m@region.brussels", name="M", role="monitor",
                 ocmw=SCHAERBEEK, password=None, now=NOW)
    with pytest.raises(UserError, match="--ocmw: a caseworker belongs to one OCMW"):
        add_user(domus.engine, email="c@ocmw.be", name="C", role="caseworker", ocmw=None,
                 password=None, now=NOW)
    with pytest.raises(UserError, match="not an OCMW code"):
        add_user(domus.engine, email="c@ocmw.be", name="C", role="caseworker", ocmw="99999",
                 password=None, now=NOW)
    with pytest.raises(UserError, match="e-mail 'not-an-address'"):
        add_user(domus.engine, email="not-an-address", name="C", role="caseworker",
                 ocmw=SCHAERBEEK, password=None, now=NOW)
    with pytest.raises(UserError, match="at least 12 characters"):
        add_user(domus.engine, email="c@ocmw.be", name="C", role="caseworker",
                 ocmw=SCHAERBEEK, password="short", now=NOW)
    user(domus, "c@ocmw.be")
    with pytest.raises(UserError, match="exists already"):
        user(domus, "C@OCMW.be")


def test_tasks_can_be_done_reassigned_and_cancelled(domus: Domus, tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    user(domus, "bo@ocmw.be")
    user(domus, "other@ocmw.be", ocmw="21001")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    found = tasks(domus)
    letter, visit = found[("26A1", "invitation_letter")], found[("26A1", "home_visit")]
    lead = Actor("lead@ocmw.be", "team_lead", SCHAERBEEK)
    moved = reassign_task(domus.engine, visit["id"], "bo@ocmw.be", lead, now=NOW)
    assert moved["assignee"] == "bo@ocmw.be"
    with pytest.raises(TaskError, match="not a caseworker or team lead of OCMW 21015"):
        reassign_task(domus.engine, visit["id"], "other@ocmw.be", lead, now=NOW)
    caseworker = Actor("an@ocmw.be", "caseworker", SCHAERBEEK)
    with pytest.raises(TaskError, match="only a team lead"):
        reassign_task(domus.engine, visit["id"], "an@ocmw.be", caseworker, now=NOW)
    with pytest.raises(TaskError, match="assigned to bo@ocmw.be"):
        complete_task(domus.engine, visit["id"], caseworker, now=NOW)
    assert complete_task(domus.engine, letter["id"], caseworker, now=NOW)["status"] == "done"
    assert complete_task(domus.engine, letter["id"], caseworker, now=NOW)["status"] == "done"
    elsewhere = Actor("other@ocmw.be", "caseworker", "21001")
    with pytest.raises(TaskError, match="not found"):
        complete_task(domus.engine, visit["id"], elsewhere, now=NOW)
    assert cancel_task(domus.engine, visit["id"], lead, now=NOW)["status"] == "cancelled"
    with pytest.raises(TaskError, match="cancelled already"):
        complete_task(domus.engine, visit["id"], Actor.operator(), now=NOW)


# -- the sweep ---------------------------------------------------------------------------
def test_each_task_and_reason_is_notified_once(domus: Domus, tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    user(domus, "lead@ocmw.be", role="team_lead")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    # 2026-11-09: first_contact due today, invitation_letter (due 11-04) 3 wd late
    first = sweep(domus, datetime(2026, 11, 9, 8, 0))
    assert (first.due, first.overdue, first.escalated) == (1, 1, 1)
    rows = outbox(domus)
    assert sorted((r["reason"], r["recipient"]) for r in rows) == [
        ("due", "an@ocmw.be"), ("escalated", "lead@ocmw.be"), ("overdue", "an@ocmw.be")]
    assert first.notifications == 3
    again = sweep(domus, datetime(2026, 11, 9, 8, 0))
    later = sweep(domus, datetime(2026, 11, 9, 17, 0))
    assert again.notifications == later.notifications == 0
    assert len(outbox(domus)) == 3
    next_day = sweep(domus, datetime(2026, 11, 10, 8, 0))  # first_contact now overdue
    assert next_day.notifications == 1
    assert outbox(domus)[-1]["reason"] == "overdue"


def test_escalation_waits_two_working_days_and_counts_the_holiday(domus: Domus,
                                                                  tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    user(domus, "lead@ocmw.be", role="team_lead")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1", received_on="2026-11-06")])
    letter = tasks(domus)[("26A1", "invitation_letter")]
    assert letter["due_on"] == date(2026, 11, 10)  # Tuesday; Wednesday 11 is a holiday
    with domus.engine.begin() as connection:  # leave only the letter open
        connection.execute(update(t.tasks).where(t.tasks.c.kind != "invitation_letter")
                           .values(status="done"))
    escalated = lambda: [r for r in outbox(domus) if r["reason"] == "escalated"]  # noqa: E731
    sweep(domus, datetime(2026, 11, 12, 9, 0))  # Thursday: one working day late
    assert escalated() == []
    sweep(domus, datetime(2026, 11, 13, 9, 0))  # Friday: two working days late
    assert [r["recipient"] for r in escalated()] == ["lead@ocmw.be"]


def test_unassigned_tasks_and_escalations_without_a_lead_are_held(domus: Domus,
                                                                  tmp_path: Path) -> None:
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    counts = sweep(domus, datetime(2026, 11, 9, 8, 0))
    assert counts.held == counts.notifications == 3
    assert {r["status"] for r in outbox(domus)} == {"held"}
    user(domus, "admin@ocmw.be", role="administrator")  # no team lead: the administrator
    counts = sweep(domus, datetime(2026, 11, 9, 9, 0))
    assert counts.held == 0 and counts.notifications == 3
    assert {r["recipient"] for r in outbox(domus) if r["status"] == "pending"} == \
        {"admin@ocmw.be"}


def test_a_moved_deadline_is_notified_again(domus: Domus, tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    sweep(domus, datetime(2026, 11, 30, 8, 0))
    before = len(outbox(domus))
    ingest(domus, tmp_path / "b.jsonl", [petition("26A1", received_on="2026-11-27",
                                                  hearing_at="2026-12-17T09:30:00")])
    assert tasks(domus)[("26A1", "landlord_contact")]["due_on"] == date(2026, 12, 7)
    sweep(domus, datetime(2026, 12, 7, 8, 0))
    assert [r for r in outbox(domus)[before:] if r["reason"] == "due"]


def test_at_risk_is_set_notified_once_and_cleared_by_an_effective_contact(
        domus: Domus, tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1", hearing_at="2026-11-27T09:30:00"),
                                         petition("26A2", hearing_at="2026-12-18T09:30:00")])
    counts = sweep(domus, datetime(2026, 11, 23, 8, 0))
    with domus.engine.connect() as connection:
        at_risk = connection.scalar(select(t.cases.c.id).where(
            t.cases.c.docket_number == "26A1"))
    assert counts.at_risk == 1 and flags(domus) == {at_risk}
    assert [r["recipient"] for r in outbox(domus) if r["reason"] == "at_risk"] == \
        ["an@ocmw.be"]
    sweep(domus, datetime(2026, 11, 24, 8, 0))
    assert len([r for r in outbox(domus) if r["reason"] == "at_risk"]) == 1
    # a letter is no effective contact; a phone call that reached the tenant is
    letter = record_contact(domus.engine, at_risk, channel="letter", result="reached",
                            at=None, note=None, actor=Actor.operator(), now=NOW)
    assert not letter["effective"] and flags(domus) == {at_risk}
    call = record_contact(domus.engine, at_risk, channel="phone", result="reached",
                          at=datetime(2026, 11, 23, 8, 30), note="payment plan proposed",
                          actor=Actor.operator(), now=NOW)
    assert call["effective"] and call["at_risk_cleared"]
    assert flags(domus) == set()
    closed = {k[1]: r["status"] for k, r in tasks(domus).items() if k[0] == "26A1"}
    assert closed["first_contact"] == closed["home_visit"] == "done"
    assert closed["hearing_preparation"] == "open"
    again = sweep(domus, datetime(2026, 11, 24, 9, 0))
    assert again.at_risk == 0 and flags(domus) == set()


def test_the_at_risk_flag_clears_when_the_hearing_has_passed(domus: Domus,
                                                             tmp_path: Path) -> None:
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1", hearing_at="2026-11-27T09:30:00")])
    sweep(domus, datetime(2026, 11, 26, 8, 0))
    assert len(flags(domus)) == 1
    counts = sweep(domus, datetime(2026, 11, 30, 8, 0))
    assert counts.at_risk_cleared == 1 and flags(domus) == set()


def test_contacts_are_checked(domus: Domus, tmp_path: Path) -> None:
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    case_id = next(iter(tasks(domus).values()))["case_id"]
    with pytest.raises(ContactError, match="--channel 'pigeon'"):
        record_contact(domus.engine, case_id, channel="pigeon", result="reached", at=None,
                       note=None, actor=Actor.operator(), now=NOW)
    with pytest.raises(ContactError, match="in the future"):
        record_contact(domus.engine, case_id, channel="phone", result="reached",
                       at=datetime(2026, 12, 1), note=None, actor=Actor.operator(), now=NOW)
    from services.cases import CaseNotFound
    with pytest.raises(CaseNotFound):
        record_contact(domus.engine, case_id, channel="phone", result="reached", at=None,
                       note=None, actor=Actor("x@ocmw.be", "caseworker", "21001"), now=NOW)
    with pytest.raises(CaseNotFound):
        record_contact(domus.engine, case_id, channel="phone", result="reached", at=None,
                       note=None, actor=Actor("m@region", "monitor"), now=NOW)


def test_a_sweep_that_crashed_before_commit_leaves_nothing_and_reruns_cleanly(
        domus: Domus, tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1", hearing_at="2026-11-13T09:30:00")])
    with pytest.raises(RuntimeError), domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, datetime(2026, 11, 9, 8, 0))
        raise RuntimeError("killed")
    assert outbox(domus) == [] and flags(domus) == set()
    counts = sweep(domus, datetime(2026, 11, 9, 8, 0))
    assert counts.notifications == len(outbox(domus)) > 0 and len(flags(domus)) == 1


def test_digests_on_working_days_only_once_per_caseworker(domus: Domus,
                                                          tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])

    def digest(now: datetime) -> int:
        with domus.engine.begin() as connection:
            return record_digests(connection, domus.rules, now)

    assert digest(datetime(2026, 11, 11, 7, 30)) == 0  # Armistice: a legal holiday
    assert digest(datetime(2026, 11, 14, 7, 30)) == 0  # Saturday
    assert digest(datetime(2026, 11, 12, 7, 30)) == 1
    assert digest(datetime(2026, 11, 12, 7, 35)) == 0
    assert [r["recipient"] for r in outbox(domus)] == ["an@ocmw.be"]


def test_intake_with_users_costs_one_assignment_query_per_chunk(domus: Domus,
                                                                tmp_path: Path) -> None:
    user(domus, "an@ocmw.be")
    notices = [petition(f"26A{n}") for n in range(30)]
    ingest(domus, tmp_path / "a.jsonl", notices)
    with domus.engine.connect() as connection:
        unassigned = connection.scalar(select(func.count()).select_from(t.tasks)
                                       .where(t.tasks.c.assignee.is_(None)))
    assert unassigned == 0
