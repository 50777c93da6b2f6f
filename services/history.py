"""The append-only history of a case's contacts, outcome and referrals: who, when, before,
after (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from store import tables as t
from store.sql import in_groups


def record_event(connection: Connection, case_id: str, kind: str, *, actor: str,
                 at: datetime, before: Any = None, after: Any = None) -> None:
    connection.execute(t.case_events.insert().values(
        case_id=case_id, kind=kind, actor=actor, at=at, before=before, after=after))


#: built once (a statement built per call cost more than running it); `ids`: one IN group
_OF_CASES = (select(t.case_events)
             .where(t.case_events.c.case_id.in_(bindparam("ids", expanding=True)))
             .order_by(t.case_events.c.id))


def history_of(connection: Connection, case_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for group in in_groups(list(case_ids)):
        for row in connection.execute(_OF_CASES, {"ids": group}):
            found.setdefault(row.case_id, []).append({
                "kind": row.kind, "actor": row.actor, "at": row.at.isoformat(),
                "before": row.before, "after": row.after})
    return found
