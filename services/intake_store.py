"""The database side of one intake chunk: what is known already, and the batched writes.

A chunk reads what it needs in a handful of IN (...) queries, decides in memory, then
writes every table with one executemany each. All inserts skip rows whose unique key is
already there, so a re-run chunk writes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from domain.case import (
    LEGAL_FLAG_CODES,
    Assessment,
    StoredTask,
    case_id_for,
    case_status,
    reconcile_tasks,
)
from domain.notices import Notice, NoticeFacts, NoticeInvalid
from domain.routing import Routing
from domain.rulebook import RuleBook
from services.assignment import assign_new_tasks
from services.readers import RawRecord, SourceFile
from services.summary import Quarantined
from store import tables as t
from store.sql import in_groups, insert_ignore, rows_where_in

FACT_COLUMNS = ("kind", "received_on", "filed_on", "served_on", "hearing_at", "judgment_on",
                "notified_on", "eviction_at", "moratorium_lifted", "social_housing")


class ChunkConflict(Exception):
    """Another worker opened cases this chunk meant to open: run the chunk again."""

    def __init__(self, cases: int) -> None:
        super().__init__(f"{cases} case(s) opened by another worker meanwhile")
        self.cases = cases


@dataclass
class CaseDraft:
    """A case a notice opens: its identity, its people and place, and its routing."""

    id: str
    row: dict[str, Any]
    routing: Routing

    @classmethod
    def from_notice(cls, notice: Notice, routing: Routing) -> CaseDraft:
        tenant, dwelling = notice.tenant, notice.dwelling
        row = {
            "court": notice.court, "docket_number": notice.docket_number,
            "tenant_first_name": tenant.first_name, "tenant_last_name": tenant.last_name,
            "tenant_language": tenant.language,
            "street": dwelling and dwelling.street, "house_number": dwelling and dwelling.number,
            "box": dwelling and dwelling.box, "postcode": dwelling and dwelling.postcode,
            "municipality": dwelling and dwelling.municipality, "ocmw": routing.ocmw,
        }
        return cls(case_id_for(notice.case_key), row, routing)


@dataclass
class ChunkCase:
    id: str
    ocmw: str | None
    status: str
    notices: list[NoticeFacts]
    tasks: list[StoredTask] = field(default_factory=list)
    draft: CaseDraft | None = None  # set when this chunk opens the case
    touched: bool = False


class ChunkStore:
    def __init__(self, connection: Connection, source: SourceFile, batch_id: int,
                 now: datetime) -> None:
        self.connection, self.source, self.batch_id, self.now = connection, source, batch_id, now
        self.cases: dict[str, ChunkCase] = {}
        self.fingerprints: set[str] = set()
        self.receipts: dict[int, dict[str, Any]] = {}
        self.notice_rows: list[tuple[int, dict[str, Any]]] = []
        self.quarantine_rows: list[tuple[int, dict[str, Any]]] = []

    # -- what is known already -------------------------------------------------------
    def load_known(self, notices: list[tuple[Notice, str]]) -> None:
        """Load the cases these (notice, fingerprint) pairs may meet, and which of their
        fingerprints are known: a notice of an unknown case cannot be known (the
        fingerprint includes court and docket), so only those of known cases are looked up."""
        self.load_cases({case_id_for(n.case_key) for n, _ in notices})
        self.fingerprints = self._select_in(
            t.notices.c.fingerprint, t.notices.c.fingerprint,
            [fp for n, fp in notices if case_id_for(n.case_key) in self.cases],
        )

    def load_cases(self, ids: set[str]) -> None:
        """Lock the known ones of these cases (until this chunk commits), then load them:
        a worker that takes the same case in another chunk waits here, and then reads the
        notices and tasks this chunk wrote (no update is lost)."""
        cases, notices, tasks = t.cases.c, t.notices.c, t.tasks.c
        for id_, ocmw, status in rows_where_in(self.connection,
                                               (cases.id, cases.ocmw, cases.status), cases.id,
                                               ids, lock=True):
            self.cases[id_] = ChunkCase(id_, ocmw, status, [])
        known = list(self.cases)
        fact_columns = [notices[name] for name in FACT_COLUMNS]
        for case_id, *facts in self._rows_in([notices.case_id, *fact_columns],
                                             notices.case_id, known):
            self.cases[case_id].notices.append(NoticeFacts(*facts))
        task_columns = (tasks.case_id, tasks.id, tasks.kind, tasks.due_on, tasks.status)
        for case_id, *task in self._rows_in(task_columns, tasks.case_id, known):
            self.cases[case_id].tasks.append(StoredTask(*task))

    def load_received(self, record_nos: list[int]) -> dict[int, Quarantined | None]:
        """The records of this chunk that were received already (a batch run again, or
        finished after a crash): their decision stands and is not taken again, or a
        record quarantined because its case was not known yet would become a notice now
        that a later record of the batch opened that case. Maps each to its quarantine
        entry when it was quarantined, else None (it is reported as a duplicate)."""
        if not record_nos:
            return {}
        receipts, entries = t.receipts.c, t.quarantine.c
        found: dict[int, Quarantined | None] = {}
        rows = self.connection.execute(
            select(receipts.record_no, receipts.line_no, receipts.outcome, entries.errors)
            .outerjoin(t.quarantine, entries.receipt_id == receipts.id)
            .where(receipts.source_sha256 == self.source.sha256,
                   receipts.record_no.between(min(record_nos), max(record_nos))))
        wanted = set(record_nos)
        for record_no, line_no, outcome, errors in rows:
            if record_no not in wanted:
                continue
            found[record_no] = None
            if outcome == "quarantined":
                pairs = tuple((e["field"], e["reason"]) for e in errors or []) or (
                    ("(record)", "quarantined"),)
                found[record_no] = Quarantined(self.source.name, record_no, line_no,
                                               pairs[0][0], pairs[0][1], pairs)
        return found

    def _select_in(self, column: Any, key: Any, values: list[Any]) -> set[Any]:
        found: set[Any] = set()
        for group in in_groups(values):
            found.update(self.connection.scalars(select(column).where(key.in_(group))))
        return found

    def _rows_in(self, columns: Any, key: Any, values: Any) -> list[list[Any]]:
        return rows_where_in(self.connection, columns, key, values)

    def knows_notice(self, fingerprint: str) -> bool:
        return fingerprint in self.fingerprints

    def case_for(self, notice: Notice) -> ChunkCase | None:
        return self.cases.get(case_id_for(notice.case_key))

    def case_id(self, notice: Notice) -> str:
        return case_id_for(notice.case_key)

    def in_triage(self, case_id: str) -> bool:
        return self.cases[case_id].ocmw is None

    # -- decisions ---------------------------------------------------------------------
    def mark(self, record: RawRecord, outcome: str, fingerprint: str | None = None) -> None:
        self.receipts[record.record_no] = {
            "batch_id": self.batch_id, "source_sha256": self.source.sha256,
            "record_no": record.record_no, "line_no": record.line_no, "raw": record.raw,
            "received_at": self.now, "outcome": outcome, "fingerprint": fingerprint,
        }

    def quarantine(self, record: RawRecord, invalid: NoticeInvalid) -> Quarantined:
        self.mark(record, "quarantined")
        errors = [{"field": e.field, "reason": e.reason} for e in invalid.errors]
        self.quarantine_rows.append((record.record_no, {
            "source": self.source.name, "record_no": record.record_no,
            "line_no": record.line_no, "errors": errors, "created_at": self.now,
            "data": record.data if isinstance(record.data, dict) else None,
        }))
        first = invalid.errors[0]
        return Quarantined(self.source.name, record.record_no, record.line_no, first.field,
                           first.reason, tuple((e.field, e.reason) for e in invalid.errors))

    def open_case(self, draft: CaseDraft) -> None:
        self.cases[draft.id] = ChunkCase(draft.id, draft.routing.ocmw, "open", [], draft=draft)

    def add_notice(self, record: RawRecord, notice: Notice, fingerprint: str,
                   data: dict[str, Any], outcome: str) -> None:
        case = self.cases[case_id_for(notice.case_key)]
        facts = notice.facts()
        case.notices.append(facts)
        case.touched = True
        self.fingerprints.add(fingerprint)
        self.mark(record, outcome, fingerprint)
        self.notice_rows.append((record.record_no, {
            "fingerprint": fingerprint, "case_id": case.id,
            "data": data,
            **{name: getattr(facts, name) for name in FACT_COLUMNS},
        }))

    # -- writes ------------------------------------------------------------------------
    def write(self, rules: RuleBook) -> None:
        """Decide every row first, then write: the database's write lock (SQLite has one
        writer) is held only while statements run, so intake partitions in other
        processes compute while this one writes."""
        touched = [case for case in self.cases.values() if case.touched]
        plan = self._plan([(case, rules.assess(case.notices, case.ocmw)) for case in touched])
        receipt_ids = self._write_receipts()
        # In key order (no two chunks wait for each other's new cases in a circle). A case
        # that was new when this chunk read is there now: another worker opened it
        # meanwhile (PostgreSQL waited for its commit). Then this chunk's decisions are
        # stale: it is rolled back and run again, and sees that case as known.
        plan.new_cases.sort(key=lambda row: row["id"])
        opened = insert_ignore(self.connection, t.cases, plan.new_cases, ["id"])
        if opened < len(plan.new_cases):
            raise ChunkConflict(len(plan.new_cases) - opened)
        self._update(t.cases, t.cases.c.id, "case_id", plan.changed_cases)
        insert_ignore(self.connection, t.notices,
                      [{**row, "receipt_id": receipt_ids[no]} for no, row in self.notice_rows],
                      ["fingerprint"])
        insert_ignore(self.connection, t.tasks, plan.new_tasks, ["case_id", "kind"])
        self._update(t.tasks, t.tasks.c.id, "task_id", plan.moved_tasks)
        self._update(t.tasks, t.tasks.c.id, "task_id", plan.cancelled_tasks)
        for group in in_groups(plan.reflagged_cases):
            self.connection.execute(delete(t.flags).where(
                t.flags.c.case_id.in_(group), t.flags.c.code.in_(LEGAL_FLAG_CODES)))
        insert_ignore(self.connection, t.flags, plan.flags, ["case_id", "code"])
        insert_ignore(self.connection, t.quarantine,
                      [{**row, "receipt_id": receipt_ids[no]} for no, row in self.quarantine_rows],
                      ["receipt_id"])
        insert_ignore(self.connection, t.triage, plan.triage, ["case_id"])
        assign_new_tasks(self.connection, [case.id for case in touched], rules=rules,
                         now=self.now)

    def _plan(self, assessed: list[tuple[ChunkCase, Assessment]]) -> WritePlan:
        plan, now = WritePlan(), self.now
        for case, assessment in assessed:
            values = self._case_values(case, assessment)
            if case.draft:
                plan.new_cases.append({**case.draft.row, **values, "id": case.id,
                                       "first_received_on": assessment.first_received_on,
                                       "created_at": now})
                if case.ocmw is None:
                    plan.triage.append({"case_id": case.id, "created_at": now,
                                        "reason": case.draft.routing.reason})
            else:
                plan.changed_cases.append({**values, "case_id": case.id})
                plan.reflagged_cases.append(case.id)
            changes = reconcile_tasks(case.tasks, assessment)
            plan.new_tasks += [{"case_id": case.id, "kind": p.kind, "due_on": p.due_on,
                                "status": "open", "rule": p.rule, "created_at": now,
                                "updated_at": now} for p in changes.new]
            plan.moved_tasks += [{"task_id": task_id, "due_on": p.due_on, "rule": p.rule,
                                  "updated_at": now} for task_id, p in changes.moved]
            plan.cancelled_tasks += [{"task_id": task_id, "status": "cancelled",
                                      "updated_at": now} for task_id in changes.cancelled]
            plan.flags += [{"case_id": case.id, "code": flag.code, "detail": flag.detail,
                            "raised_at": now} for flag in assessment.flags]
        return plan

    def _write_receipts(self) -> dict[int, int]:
        insert_ignore(self.connection, t.receipts, list(self.receipts.values()),
                      ["source_sha256", "record_no"])
        if not self.receipts:
            return {}
        rows = self.connection.execute(
            select(t.receipts.c.record_no, t.receipts.c.id).where(
                t.receipts.c.source_sha256 == self.source.sha256,
                t.receipts.c.record_no.between(min(self.receipts), max(self.receipts)),
            )
        )
        return {record_no: receipt_id for record_no, receipt_id in rows}

    def _case_values(self, case: ChunkCase, assessment: Assessment) -> dict[str, Any]:
        return {
            "status": case_status(case.status, case.ocmw, assessment), "ocmw": case.ocmw,
            "hearing_at": assessment.hearing_at,
            "earliest_eviction_on": assessment.earliest_eviction_on,
            "eviction_at": assessment.eviction_at, "updated_at": self.now,
        }

    def _update(self, table: Any, key: Any, key_name: str, rows: list[dict[str, Any]]) -> None:
        """UPDATE each row (all with the same columns) where `key` = row[key_name]."""
        if rows:
            self.connection.execute(
                update(table).where(key == bindparam(key_name))
                .values({name: bindparam(name) for name in rows[0] if name != key_name}),
                rows,
            )


@dataclass
class WritePlan:
    """Every row one chunk writes, decided before the first statement runs."""

    new_cases: list[dict[str, Any]] = field(default_factory=list)
    changed_cases: list[dict[str, Any]] = field(default_factory=list)
    reflagged_cases: list[str] = field(default_factory=list)
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    moved_tasks: list[dict[str, Any]] = field(default_factory=list)
    cancelled_tasks: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    triage: list[dict[str, Any]] = field(default_factory=list)
