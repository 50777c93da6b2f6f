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
from services.readers import RawRecord, SourceFile
from services.summary import Quarantined
from store import tables as t
from store.sql import in_groups, insert_ignore

FACT_COLUMNS = ("kind", "received_on", "filed_on", "served_on", "hearing_at", "judgment_on",
                "notified_on", "eviction_at", "moratorium_lifted", "social_housing")


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
        """Load the fingerprints and cases these (notice, fingerprint) pairs may meet."""
        self.fingerprints = self._select_in(
            t.notices.c.fingerprint, t.notices.c.fingerprint, [fp for _, fp in notices]
        )
        self.load_cases({case_id_for(n.case_key) for n, _ in notices})

    def load_cases(self, ids: set[str]) -> None:
        for row in self._rows_in(t.cases, t.cases.c.id, ids):
            self.cases[row.id] = ChunkCase(row.id, row.ocmw, row.status, [])
        known = list(self.cases)
        for row in self._rows_in(t.notices, t.notices.c.case_id, known):
            self.cases[row.case_id].notices.append(
                NoticeFacts(**{name: getattr(row, name) for name in FACT_COLUMNS}))
        for row in self._rows_in(t.tasks, t.tasks.c.case_id, known):
            self.cases[row.case_id].tasks.append(
                StoredTask(row.id, row.kind, row.due_on, row.status))

    def _select_in(self, column: Any, key: Any, values: list[Any]) -> set[Any]:
        found: set[Any] = set()
        for group in in_groups(values):
            found.update(self.connection.scalars(select(column).where(key.in_(group))))
        return found

    def _rows_in(self, table: Any, key: Any, values: Any) -> list[Any]:
        rows: list[Any] = []
        for group in in_groups(values):
            rows.extend(self.connection.execute(select(table).where(key.in_(group))))
        return rows

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
                   outcome: str) -> None:
        case = self.cases[case_id_for(notice.case_key)]
        facts = notice.facts()
        case.notices.append(facts)
        case.touched = True
        self.fingerprints.add(fingerprint)
        self.mark(record, outcome, fingerprint)
        self.notice_rows.append((record.record_no, {
            "fingerprint": fingerprint, "case_id": case.id,
            "data": notice.model_dump(mode="json", exclude_none=True),
            **{name: getattr(facts, name) for name in FACT_COLUMNS},
        }))

    # -- writes ------------------------------------------------------------------------
    def write(self, rules: RuleBook) -> None:
        receipt_ids = self._write_receipts()
        touched = [case for case in self.cases.values() if case.touched]
        assessed = [(case, rules.assess(case.notices, case.ocmw)) for case in touched]
        self._write_cases(assessed)
        insert_ignore(self.connection, t.notices,
                      [{**row, "receipt_id": receipt_ids[no]} for no, row in self.notice_rows],
                      ["fingerprint"])
        self._write_tasks(assessed)
        self._write_flags(assessed)
        insert_ignore(self.connection, t.quarantine,
                      [{**row, "receipt_id": receipt_ids[no]} for no, row in self.quarantine_rows],
                      ["receipt_id"])
        insert_ignore(self.connection, t.triage, [
            {"case_id": case.id, "reason": case.draft.routing.reason, "created_at": self.now}
            for case in touched if case.draft and case.ocmw is None
        ], ["case_id"])

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

    def _write_cases(self, assessed: list[tuple[ChunkCase, Assessment]]) -> None:
        new, changed = [], []
        for case, assessment in assessed:
            values = self._case_values(case, assessment)
            if case.draft:
                new.append({**case.draft.row, **values, "id": case.id,
                            "first_received_on": assessment.first_received_on,
                            "created_at": self.now})
            else:
                changed.append({**values, "case_id": case.id})
        insert_ignore(self.connection, t.cases, new, ["id"])
        if changed:
            self.connection.execute(
                update(t.cases).where(t.cases.c.id == bindparam("case_id"))
                .values({name: bindparam(name) for name in changed[0] if name != "case_id"}),
                changed,
            )

    def _case_values(self, case: ChunkCase, assessment: Assessment) -> dict[str, Any]:
        return {
            "status": case_status(case.status, case.ocmw, assessment), "ocmw": case.ocmw,
            "hearing_at": assessment.hearing_at,
            "earliest_eviction_on": assessment.earliest_eviction_on,
            "eviction_at": assessment.eviction_at, "updated_at": self.now,
        }

    def _write_tasks(self, assessed: list[tuple[ChunkCase, Assessment]]) -> None:
        new, moved, cancelled = [], [], []
        for case, assessment in assessed:
            changes = reconcile_tasks(case.tasks, assessment)
            new += [{"case_id": case.id, "kind": p.kind, "due_on": p.due_on, "status": "open",
                     "rule": p.rule, "created_at": self.now, "updated_at": self.now}
                    for p in changes.new]
            moved += [{"task_id": task_id, "due_on": p.due_on, "rule": p.rule,
                       "updated_at": self.now} for task_id, p in changes.moved]
            cancelled += [{"task_id": task_id, "updated_at": self.now}
                          for task_id in changes.cancelled]
        insert_ignore(self.connection, t.tasks, new, ["case_id", "kind"])
        self._update_tasks(moved, due_on=bindparam("due_on"), rule=bindparam("rule"))
        self._update_tasks(cancelled, status="cancelled")

    def _update_tasks(self, rows: list[dict[str, Any]], **values: Any) -> None:
        if rows:
            self.connection.execute(
                update(t.tasks).where(t.tasks.c.id == bindparam("task_id"))
                .values(updated_at=bindparam("updated_at"), **values),
                rows,
            )

    def _write_flags(self, assessed: list[tuple[ChunkCase, Assessment]]) -> None:
        known = [case.id for case, _ in assessed if not case.draft]
        for group in in_groups(known):
            self.connection.execute(delete(t.flags).where(
                t.flags.c.case_id.in_(group), t.flags.c.code.in_(LEGAL_FLAG_CODES)))
        insert_ignore(self.connection, t.flags, [
            {"case_id": case.id, "code": flag.code, "detail": flag.detail, "raised_at": self.now}
            for case, assessment in assessed for flag in assessment.flags
        ], ["case_id", "code"])
