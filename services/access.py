"""Who may read a case, with the database at hand: domain/access.py decides by OCMW; a
case that has no OCMW yet (waiting in triage) belongs to whoever imported the notice that
opened it.

An administrator reads the unrouted cases opened by their OCMW's imports (web or API) and
by the local operator's command-line imports (batches without an owner: in the embedded
default one OCMW runs Domus and its operator imports for it); in a regional deployment
another OCMW's unrouted case is "not found", like any other OCMW's case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, exists, false, or_, select, true
from sqlalchemy.sql import ColumnElement

from domain.access import Actor
from store import tables as t


def owned_batch(actor: Actor) -> ColumnElement[bool]:
    """The batches whose queue entries and unrouted cases `actor` may see (a condition on
    `batches`): the local operator all of them; an administrator those imported by their
    OCMW and those without an owner (the operator's command-line imports). Nobody else."""
    if actor.role == "operator":
        return true()
    if actor.role != "administrator" or not actor.ocmw:
        return false()
    return or_(t.batches.c.ocmw == actor.ocmw, t.batches.c.ocmw.is_(None))


def opened_by(batch_condition: ColumnElement[bool], case_id: Any = None) -> ColumnElement[bool]:
    """The case (`case_id`, else the row of `cases` in the query) was opened by a notice of
    a batch meeting `batch_condition`."""
    return exists(select(t.notices.c.id)
                  .join(t.receipts, t.receipts.c.id == t.notices.c.receipt_id)
                  .join(t.batches, t.batches.c.id == t.receipts.c.batch_id)
                  .where(t.notices.c.case_id == (t.cases.c.id if case_id is None else case_id),
                         t.receipts.c.outcome == "created", batch_condition))


def unrouted_visible_bound() -> ColumnElement[bool]:
    """For statements built once: the unrouted cases an administrator of the OCMWs bound as
    `ocmws` may read."""
    return t.cases.c.ocmw.is_(None) & opened_by(or_(
        t.batches.c.ocmw.in_(bindparam("ocmws", expanding=True)), t.batches.c.ocmw.is_(None)))


def unrouted_visible(actor: Actor) -> ColumnElement[bool]:
    """The unrouted cases `actor` may read (a condition on `cases`)."""
    return t.cases.c.ocmw.is_(None) & opened_by(owned_batch(actor))


def may_read(connection: Connection, actor: Actor, case_id: str, ocmw: str | None) -> bool:
    """May `actor` read the case `case_id` of OCMW `ocmw` (None: waiting in triage)?"""
    if not actor.may_read_case(ocmw):
        return False
    if ocmw is not None or actor.role == "operator":
        return True
    return bool(connection.scalar(select(opened_by(owned_batch(actor), case_id))))
