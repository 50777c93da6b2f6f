"""The audit trail of a case (issue 6): every view and change, who, when, how. The
changes' contents live in the case history (case_events); this log adds who looked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from domain.access import Actor
from services.access import may_read
from services.cases import CaseNotFound
from store import tables as t

CHANNELS = ("api", "cli", "web")
#: built once: every view of a case writes a row (a statement per call cost more than the
#: write itself)
_INSERT = t.audit_log.insert()


def record_access(engine: Engine, case_id: str, actor: Actor, *, action: str, channel: str,
                  now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(_INSERT, {"case_id": case_id, "actor": actor.name,
                                     "action": action, "channel": channel, "at": now})


def audit_trail(connection: Connection, case_id: str, actor: Actor) -> dict[str, Any]:
    """Everything recorded about who saw and changed the case, oldest first; for a
    data-protection request (administrators and the local operator)."""
    if actor.role not in ("administrator", "operator"):
        raise CaseNotFound(f"case {case_id} not found")
    case = connection.execute(select(t.cases.c.ocmw).where(t.cases.c.id == case_id)).first()
    if case is None or not may_read(connection, actor, case_id, case.ocmw):
        raise CaseNotFound(f"case {case_id} not found")
    entries = [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                "channel": r.channel}
               for r in connection.execute(select(t.audit_log).where(
                   t.audit_log.c.case_id == case_id).order_by(t.audit_log.c.id))]
    entries += [{"at": r.at.isoformat(), "actor": r.actor, "action": r.kind,
                 "channel": "history", "before": r.before, "after": r.after}
                for r in connection.execute(select(t.case_events).where(
                    t.case_events.c.case_id == case_id).order_by(t.case_events.c.id))]
    entries.sort(key=lambda entry: entry["at"])
    return {"case_id": case_id, "entries": entries}
