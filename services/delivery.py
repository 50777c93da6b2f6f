"""Sending the outbox over SMTP: claimed, rendered in the recipient's language, sent once.

A delivery claims its rows first (status `sending`, a claim id, the time) in a short
transaction of its own (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL); a concurrent
delivery (another sweep, `domus serve` and a Prefect deployment at once) skips them and
takes the next ones. After sending, each row is marked
`sent` at once. A failed row goes back to `pending` with its error and a later
`next_attempt_at` (back-off, 1 minute doubling to an hour), so the next sweep retries it; it
is never dropped. A row claimed by a process that died is taken again once its claim is
older than `LEASE`; in that one window a message may go out twice, which is why its
Message-ID is derived from the outbox key (mail clients fold such twins into one). A row
whose message cannot be written (a bug, data no template expected) is failed on its own,
with the error, like a refused address: it never holds back the rows after it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from domain.rulebook import RuleBook
from domain.sweep import working_days_late
from domain.values import BRUSSELS
from services.mail import DeliveryError, Mailer, SmtpTarget, build_message
from services.messages import AtRiskNotice, CaseRef, Digest, DigestItem, TaskNotice, render
from store import tables as t

LEASE = timedelta(minutes=15)
MAX_ATTEMPTS = 10  # transient failures (server down, 4xx) before a row is marked failed
MAX_PERMANENT = 3  # refusals (5xx) before a row is marked failed
BATCH = 200


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this time (the rows wait for a retry)
    moot: int = 0  # nothing left to tell (the task was done before the e-mail went out)
    waiting: int = 0  # rows still pending after this delivery

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Delivery:
    """What a delivery needs besides the database: where to send, from whom, links."""

    smtp_url: str | None
    sender: str
    base_url: str
    attempts: int = 3
    backoff_seconds: float = 1.0
    sleep: Callable[[float], None] | None = None

    def mailer(self) -> Mailer:
        assert self.smtp_url
        extra = {"sleep": self.sleep} if self.sleep else {}
        return Mailer(SmtpTarget.from_url(self.smtp_url), attempts=self.attempts,
                      backoff_seconds=self.backoff_seconds, **extra)


def deliver_outbox(engine: Engine, rules: RuleBook, delivery: Delivery, *,
                   now: datetime) -> DeliveryReport:
    """Send every pending notification whose time has come, in batches."""
    report = DeliveryReport()
    if delivery.smtp_url:
        while True:
            claim = uuid.uuid4().hex
            rows = _claim(engine, claim, now)
            if not rows:
                break
            if _send(engine, rules, delivery, rows, now, report):
                break  # the server is down: leave the rest for the next sweep
    with engine.connect() as connection:
        report.waiting = connection.scalar(select(func.count()).select_from(t.outbox).where(
            t.outbox.c.status.in_(("pending", "sending")))) or 0
    return report


def _claim(engine: Engine, claim: str, now: datetime) -> list[Any]:
    outbox = t.outbox.c
    claimable = or_(
        and_(outbox.status == "pending", outbox.next_attempt_at <= now),
        and_(outbox.status == "sending", outbox.claimed_at < now - LEASE),
    )
    with engine.begin() as connection:
        # PostgreSQL: rows another delivery is claiming right now are skipped, not waited
        # for (it would then have found them taken and stopped with the rest unsent); the
        # next rows are taken instead. SQLite has one writer and ignores the clause.
        ids = list(connection.scalars(select(outbox.id).where(claimable)
                                      .order_by(outbox.id).limit(BATCH)
                                      .with_for_update(skip_locked=True)))
        if not ids:
            return []
        # The WHERE is checked again: on SQLite a row another delivery claimed between the
        # SELECT and this UPDATE no longer matches and stays theirs.
        connection.execute(update(t.outbox).where(outbox.id.in_(ids), claimable)
                           .values(status="sending", claim=claim, claimed_at=now))
    with engine.connect() as connection:
        return list(connection.execute(select(t.outbox).where(outbox.claim == claim,
                                                              outbox.status == "sending")
                                       .order_by(outbox.id)))


def _send(engine: Engine, rules: RuleBook, delivery: Delivery, rows: list[Any],
          now: datetime, report: DeliveryReport) -> bool:
    """Send the claimed `rows`; True when the server could not be reached (stop for now)."""
    todo, unwritable = [], []
    with engine.connect() as connection:
        for row in rows:
            try:
                written = _compose(connection, rules, delivery, row)
            except SQLAlchemyError:
                raise  # the database, not the message: the claim's lease brings them back
            except Exception as exc:  # noqa: BLE001 - this message only, said in its row
                unwritable.append((row, exc))
                continue
            if written is None:
                _finish(engine, row.id, status="moot", now=now)
                report.moot += 1
            else:
                todo.append((row, written))
    for row, exc in unwritable:
        _failed(engine, row, _unwritable(exc), now)
        report.failed += 1
    if not todo:
        return False
    try:
        with delivery.mailer().connect() as session:
            for index, (row, (subject, body, language, message_id)) in enumerate(todo):
                try:
                    message = build_message(
                        sender=delivery.sender, recipient=row.recipient, subject=subject,
                        body=body, message_id=message_id, language=language,
                        date=now.replace(tzinfo=BRUSSELS))
                except Exception as exc:  # noqa: BLE001 - this message only
                    _failed(engine, row, _unwritable(exc), now)
                    report.failed += 1
                    continue
                try:
                    session.send(message)
                except DeliveryError as error:
                    _failed(engine, row, error, now)
                    report.failed += 1
                    if not error.permanent:  # the connection is gone: retry the rest later
                        for later, _ in todo[index + 1:]:
                            _failed(engine, later, error, now)
                            report.failed += 1
                        return True
                    continue
                _finish(engine, row.id, status="sent", now=now, subject=subject, body=body,
                        message_id=message_id)
                report.sent += 1
    except DeliveryError as error:  # could not connect at all
        for row, _ in todo:
            if _still_claimed(engine, row):
                _failed(engine, row, error, now)
                report.failed += 1
        return True
    return False


def _unwritable(exc: Exception) -> DeliveryError:
    """A message Domus could not write: failed like a refusal (a few tries, then `failed`,
    `domus outbox retry` once fixed), the reason kept in the row."""
    return DeliveryError(f"the message could not be written: {type(exc).__name__}: {exc}",
                         permanent=True)


def _still_claimed(engine: Engine, row: Any) -> bool:
    with engine.connect() as connection:
        return connection.scalar(select(t.outbox.c.status).where(t.outbox.c.id == row.id)) == \
            "sending"


def _finish(engine: Engine, row_id: int, *, status: str, now: datetime,
            **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(t.outbox).where(t.outbox.c.id == row_id).values(
            status=status, sent_at=now if status == "sent" else None, claim=None, **values))


def _failed(engine: Engine, row: Any, error: DeliveryError, now: datetime) -> None:
    attempts = row.attempts + 1
    limit = MAX_PERMANENT if error.permanent else MAX_ATTEMPTS
    pause = timedelta(minutes=min(2 ** (attempts - 1), 60))
    with engine.begin() as connection:
        connection.execute(update(t.outbox).where(t.outbox.c.id == row.id).values(
            status="failed" if attempts >= limit else "pending", attempts=attempts,
            next_attempt_at=now + pause, last_error=str(error)[:2000], claim=None))


def message_id_for(key: str) -> str:
    """The same notification always carries the same Message-ID."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@domus>"


# -- composing ----------------------------------------------------------------------------
def _compose(connection: Connection, rules: RuleBook, delivery: Delivery,
             row: Any) -> tuple[str, str, str, str] | None:
    """(subject, body, language, Message-ID) of an outbox row, or None when it became moot."""
    user = connection.execute(select(t.users).where(t.users.c.email == row.recipient)).first()
    if user is None or not user.active:
        return None
    language = user.language
    if row.reason == "digest":
        notice: Any = _digest(connection, rules, delivery, user, row.due_on)
    elif row.reason == "at_risk":
        notice = _at_risk(connection, delivery, user, row)
    else:
        notice = _task_notice(connection, rules, delivery, user, row)
    if notice is None:
        return None
    subject, body = render(notice, language)
    return subject, body, language, message_id_for(row.key)


def _case_ref(delivery: Delivery, case: Any) -> CaseRef:
    return CaseRef(case.id, case.court, case.docket_number, case.tenant_first_name,
                   case.tenant_last_name, f"{delivery.base_url.rstrip('/')}/cases/{case.id}")


def _task_notice(connection: Connection, rules: RuleBook, delivery: Delivery, user: Any,
                 row: Any) -> TaskNotice | None:
    task = connection.execute(select(t.tasks).where(t.tasks.c.id == row.task_id)).first()
    if task is None or task.status != "open" or task.due_on != row.due_on:
        return None  # done, cancelled or moved since: the new date gets its own notice
    case = connection.execute(select(t.cases).where(t.cases.c.id == task.case_id)).one()
    holder = None
    if task.assignee:
        holder = connection.scalar(select(t.users.c.name)
                                   .where(t.users.c.email == task.assignee)) or task.assignee
    rule = rules.playbook_for(case.ocmw).rule_text(task.kind, user.language) or task.rule
    return TaskNotice(
        reason=row.reason, recipient_name=user.name, task_kind=task.kind, due_on=task.due_on,
        rule=rule, assignee_name=holder,
        working_days_late=working_days_late(task.due_on, row.created_at.date(), rules.calendar),
        case=_case_ref(delivery, case))


def _at_risk(connection: Connection, delivery: Delivery, user: Any,
             row: Any) -> AtRiskNotice | None:
    case = connection.execute(select(t.cases).where(t.cases.c.id == row.case_id)).first()
    if case is None or case.status not in ("open",):
        return None
    still = connection.scalar(select(t.flags.c.id).where(
        t.flags.c.case_id == case.id, t.flags.c.code == "at_risk"))
    if still is None:
        return None  # an effective contact cleared it before the e-mail went out
    event = row.key.split("|")[1].rsplit(":", 1)[1]
    event_at = case.hearing_at if event == "hearing" else case.eviction_at
    if event_at is None:
        return None
    return AtRiskNotice(recipient_name=user.name, event=event, event_at=event_at,
                        case=_case_ref(delivery, case))


def _digest(connection: Connection, rules: RuleBook, delivery: Delivery, user: Any,
            day: Any) -> Digest | None:
    rows = connection.execute(
        select(t.tasks.c.kind, t.tasks.c.due_on, t.cases)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.assignee == user.email, t.tasks.c.status == "open",
               t.tasks.c.due_on <= day)
        .order_by(t.tasks.c.due_on, t.tasks.c.id)).all()
    if not rows:
        return None
    items = tuple(DigestItem(r.kind, r.due_on, r.due_on < day, _case_ref(delivery, r))
                  for r in rows)
    return Digest(user.name, day, items)


# -- looking at the outbox ----------------------------------------------------------------
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "held", "moot")


def outbox_rows(connection: Connection, *, status: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """The newest outbox rows (of one status), for the operator."""
    query = select(t.outbox).order_by(t.outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(t.outbox.c.status == status)
    return [{
        "id": r.id, "status": r.status, "reason": r.reason, "recipient": r.recipient,
        "case_id": r.case_id, "task_id": r.task_id, "due_on": r.due_on.isoformat(),
        "created_at": r.created_at.isoformat(), "attempts": r.attempts,
        "sent_at": r.sent_at.isoformat() if r.sent_at else None, "subject": r.subject,
        "last_error": r.last_error, "key": r.key,
    } for r in connection.execute(query)]


def retry_failed(engine: Engine, *, now: datetime) -> int:
    """Put the failed rows back in the queue (after the address or the server is fixed)."""
    with engine.begin() as connection:
        return connection.execute(update(t.outbox).where(t.outbox.c.status == "failed")
                                  .values(status="pending", attempts=0,
                                          next_attempt_at=now)).rowcount
