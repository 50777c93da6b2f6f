"""Retention (GDPR storage limitation): closed cases whose outcome date is more than
DOMUS_RETENTION_YEARS years old lose their personal data; the monitoring figures do not
change.

What goes, per case (one transaction per chunk of cases):

- the case's tenant names and street, number and box (`cases`);
- in every notice (`notices.data`) everything but the procedure's facts: the tenant's
  names, phone, e-mail and birth date, the dwelling's street, number and box, a private
  landlord's particulars (often a person; an institution — social housing, a social rental
  agency, a public body — keeps its name and address, never an e-mail address), and every
  field Domus does not know (free text may hide anything). The received records of those
  notices (`receipts.raw`, verbatim until now) become the same pseudonymised notice;
- contacts' notes, referrals' reasons, triage decisions' notes, and the rendered text of
  the case's e-mails (the outbox rows stay: they keyed the notifications);
- the letters' files (under DOMUS_DATA_DIR); the letter register keeps each row with its
  kind, language, date and sha256, so a printed letter can still be matched to the register.

What stays: the OCMW, postcode and municipality, the court and docket number (they name the
procedure, not the household; the court registry, which holds the file, is the only one
who can link them to a person, and a later notice of the same procedure still finds its
case), the tenant's language, every date, the amounts at stake, the outcome and the
monitoring facts (contact attempted, first effective contact and its delay, home visits),
referrals' programmes and statuses, tasks and flags. The statistics read only those, so
every figure is the same before and after.

The append-only tables. `audit_log` holds who (a staff member), when, which case id, what
action and how: no tenant data, so it keeps every row untouched, and each pseudonymised
case gets one more (action "retention", actor "retention job"). `case_events` holds the
history of contacts, outcomes, reopenings and referrals, whose before/after JSON carries
free text (a contact's note, a reopening's reason). Keeping that text would keep what the
notes table no longer has; deleting the rows would break the history. So the database's
trigger (migration 0010) allows one UPDATE per row, the redaction: it sets `redacted_at`
and may replace before/after, and it can change neither the row's id, case, kind, actor
nor time; any other UPDATE and every DELETE are still refused. Retention keeps only the
known, non-personal keys of before/after (channel, result, time, outcome code, programme,
status…), and only rows that had something else are touched.

Records tied to no case are removed by age (received or created before the same cutoff):
the raw text of quarantined records and imported contact/outcome rows (`receipts`, and the
quarantine entry's parsed copy; the contacts and outcomes themselves are on their cases),
the rendered text of older e-mails (the morning digest names several households at once),
and the files under DOMUS_DATA_DIR/incoming (uploads), DOMUS_DATA_DIR/letters/batch (the batch's
copies and print files) and the watched folder's done/ and failed/.

Each transaction starts with the UPDATE that takes its rows (UPDATE … RETURNING), so on
SQLite it holds the write lock from its first statement and never has to upgrade a read,
and on PostgreSQL two runs at once take different cases (SKIP LOCKED) or wait for each
other's rows and find them done. Every step is re-runnable: a pseudonymised case is marked
(`cases.pseudonymised_at`, with `updated_at` the same moment) and taken again only if it
changed since (a later notice of the same procedure brings a name back), so a second run
changes nothing and audits nothing. A dry run does the same work in a transaction it rolls
back, and deletes no file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, null, or_, select, update

from store import tables as t
from store.sql import in_groups

MARK = "[pseudonymised]"
ACTOR = "retention job"
CHANNEL = "job"
#: cases per transaction
CHUNK = 500
#: receipts or e-mails per transaction when old ones expire
EXPIRE_CHUNK = 2000
#: what an expired receipt's raw text becomes (a fixed text: a second run recognises it)
EXPIRED_RAW = '{"removed_by": "retention"}'

#: the notice fields that stay (everything else, unknown fields included, goes)
NOTICE_KEEPS = frozenset({
    "kind", "court", "docket_number", "received_on", "filed_on", "served_on", "hearing_at",
    "judgment_on", "notified_on", "eviction_at", "moratorium_lifted", "arrears_eur",
    "monthly_rent_eur"})
DWELLING_KEEPS = frozenset({"postcode", "municipality"})
INSTITUTIONS = frozenset({"social_housing", "social_rental_agency", "public"})
INSTITUTION_KEEPS = frozenset({"name", "kind", "street", "number", "postcode", "municipality"})
#: the keys of a history row's before/after that stay (services/contacts.py, outcomes.py,
#: referrals.py write them); a note, a reason or anything new goes
EVENT_KEEPS = frozenset({"id", "channel", "result", "at", "effective", "status", "outcome",
                         "code", "on", "programme"})


@dataclass
class RetentionReport:
    cutoff: date | None
    dry_run: bool
    cases: int = 0
    notices: int = 0
    receipts: int = 0
    contact_notes: int = 0
    referral_reasons: int = 0
    history_rows: int = 0
    outbox_messages: int = 0
    letter_files: int = 0
    expired_receipts: int = 0
    old_files: int = 0
    case_ids: list[str] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat() if self.cutoff else None
        del data["case_ids"]  # the audit log has them; the report is counts
        return data


def cutoff_for(today: date, years: int) -> date | None:
    """Outcome dates before this are due (None: retention is off)."""
    if years == 0:
        return None
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


# -- pure: what a record keeps -------------------------------------------------------------
def pseudonymised_notice(data: dict[str, Any], on: date) -> dict[str, Any]:
    """The notice without its personal data (see the module's docstring)."""
    kept = {key: value for key, value in data.items() if key in NOTICE_KEEPS}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    kept["tenant"] = {"last_name": MARK}
    if tenant.get("language"):
        kept["tenant"]["language"] = tenant["language"]
    if isinstance(data.get("dwelling"), dict):
        kept["dwelling"] = _only(data["dwelling"], DWELLING_KEEPS)
    landlord = data.get("landlord")
    if isinstance(landlord, dict):
        keeps = INSTITUTION_KEEPS if landlord.get("kind") in INSTITUTIONS else {"kind"}
        kept["landlord"] = _only(landlord, keeps)
    kept["pseudonymised_on"] = on.isoformat()
    return kept


def redacted_history(value: Any) -> Any:
    """A history row's before/after with only the keys in EVENT_KEEPS, at every level."""
    if isinstance(value, dict):
        return {key: redacted_history(v) for key, v in value.items() if key in EVENT_KEEPS}
    if isinstance(value, list):
        return [redacted_history(v) for v in value]
    return value


def _only(part: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: value for key, value in part.items() if key in keys}


# -- the run --------------------------------------------------------------------------------
def run_retention(engine: Engine, *, now: datetime, years: int, data_dir: Path,
                  folders: Iterable[Path] = (), dry_run: bool = False,
                  chunk: int = CHUNK) -> RetentionReport:
    """Pseudonymise the due cases chunk by chunk, then expire what is tied to no case.
    `folders` are more folders whose old files go (the watched folder's done/, failed/)."""
    cutoff = cutoff_for(now.date(), years)
    report = RetentionReport(cutoff, dry_run)
    if cutoff is None:
        return report
    before = datetime.combine(cutoff, time.min)
    with engine.connect() as connection, _chunks(connection, dry_run) as checkpoint:
        while ids := claim_due_cases(connection, cutoff, now, chunk):
            report.case_ids += ids
            report.add(scrub_cases(connection, ids, now, data_dir, delete_files=not dry_run))
            checkpoint()
        for expire, name in ((expire_receipts, "expired_receipts"),
                             (expire_messages, "outbox_messages")):
            after = 0
            while ids := expire(connection, before, after, EXPIRE_CHUNK):
                report.add({name: len(ids)})
                after = ids[-1]
                checkpoint()
    report.old_files = remove_old_files(
        [data_dir / "incoming", data_dir / "letters" / "batch", *folders], cutoff,
        delete=not dry_run)
    return report


@contextmanager
def _chunks(connection: Connection, dry_run: bool) -> Iterator[Callable[[], None]]:
    """A transaction per chunk (`checkpoint()` commits one and begins the next); a dry run
    keeps one transaction and rolls it back."""
    current = [connection.begin()]

    def checkpoint() -> None:
        if not dry_run:
            current[0].commit()
            current[0] = connection.begin()

    try:
        yield checkpoint
    except BaseException:
        current[0].rollback()
        raise
    if dry_run:
        current[0].rollback()
    else:
        current[0].commit()


def claim_due_cases(connection: Connection, cutoff: date, now: datetime,
                    limit: int) -> list[str]:
    """Take up to `limit` due cases and blank their personal columns in one UPDATE (the
    case rows are locked by it; on PostgreSQL a concurrent run skips the ones taken)."""
    c = t.cases.c
    # not done yet, or changed since (a later notice of the same procedure, a reopening)
    waiting = or_(c.pseudonymised_at.is_(None), c.updated_at > c.pseudonymised_at)
    due = (select(c.id).where(c.status == "closed", c.outcome_on < cutoff, waiting)
           .order_by(c.id).limit(limit).with_for_update(skip_locked=True))
    taken = connection.scalars(
        update(t.cases).where(c.id.in_(due), waiting)
        .values(tenant_first_name=None, tenant_last_name=MARK, street=None,
                house_number=None, box=None, pseudonymised_at=now, updated_at=now)
        .returning(c.id))
    return sorted(taken)


def scrub_cases(connection: Connection, ids: list[str], now: datetime, data_dir: Path, *,
                delete_files: bool, actor: str = ACTOR, action: str = "retention",
                channel: str = CHANNEL) -> dict[str, int]:
    """Everything personal about these (claimed) cases, and one audit row each (an erasure,
    services/person.py, audits as the operator who asked)."""
    counts = {"cases": len(ids), **_scrub_notices(connection, ids, now.date())}
    counts["contact_notes"] = connection.execute(
        update(t.contacts).where(t.contacts.c.case_id.in_(ids), t.contacts.c.note.is_not(None))
        .values(note=None)).rowcount
    counts["referral_reasons"] = connection.execute(
        update(t.referrals).where(t.referrals.c.case_id.in_(ids), t.referrals.c.reason != MARK)
        .values(reason=MARK)).rowcount
    connection.execute(update(t.triage).where(t.triage.c.case_id.in_(ids),
                                              t.triage.c.resolution.is_not(None))
                       .values(resolution=None))
    counts["outbox_messages"] = _clear_messages(connection, ids)
    counts["history_rows"] = _redact_history(connection, ids, now)
    counts["letter_files"] = _remove_letters(connection, ids, data_dir, delete_files)
    connection.execute(t.audit_log.insert(), [
        {"case_id": case_id, "actor": actor, "action": action, "channel": channel,
         "at": now} for case_id in ids])
    return counts


def _scrub_notices(connection: Connection, ids: list[str], on: date) -> dict[str, int]:
    """The notices' data and the raw text of every receipt of them (a notice received
    twice has two); receipts are found in one scan per chunk (they have no index on the
    fingerprint, which intake would pay for), then updated by id."""
    n, r = t.notices.c, t.receipts.c
    rows = connection.execute(select(n.id, n.fingerprint, n.data).where(n.case_id.in_(ids))).all()
    if not rows:
        return {"notices": 0, "receipts": 0}
    kept = {row.fingerprint: pseudonymised_notice(row.data, on) for row in rows}
    connection.execute(
        update(t.notices).where(n.id == bindparam("notice_id"))
        .values(data=bindparam("new_data", type_=n.data.type)),
        [{"notice_id": row.id, "new_data": kept[row.fingerprint]} for row in rows])
    receipts = [(receipt_id, fingerprint) for group in in_groups(list(kept))
                for receipt_id, fingerprint in connection.execute(
                    select(r.id, r.fingerprint).where(r.fingerprint.in_(group)))]
    if receipts:
        connection.execute(
            update(t.receipts).where(r.id == bindparam("receipt_id"))
            .values(raw=bindparam("new_raw")),
            [{"receipt_id": receipt_id,
              "new_raw": json.dumps(kept[fingerprint], ensure_ascii=False, sort_keys=True)}
             for receipt_id, fingerprint in receipts])
    return {"notices": len(rows), "receipts": len(receipts)}


def _clear_messages(connection: Connection, ids: list[str]) -> int:
    """The rendered text of the cases' e-mails (one scan of the outbox per chunk); the rows
    stay, they keyed the notifications."""
    o = t.outbox.c
    of_cases = or_(o.case_id.in_(ids), o.task_id.in_(
        select(t.tasks.c.id).where(t.tasks.c.case_id.in_(ids))))
    return connection.execute(
        update(t.outbox).where(of_cases, or_(o.subject.is_not(None), o.body.is_not(None)))
        .values(subject=None, body=None)).rowcount


def _redact_history(connection: Connection, ids: list[str], now: datetime) -> int:
    e = t.case_events.c
    changed = []
    for row in connection.execute(select(e.id, e.before, e.after).where(
            e.case_id.in_(ids), e.redacted_at.is_(None))):
        before, after = redacted_history(row.before), redacted_history(row.after)
        if (before, after) != (row.before, row.after):
            changed.append({"event_id": row.id, "new_before": before, "new_after": after})
    if changed:
        connection.execute(
            update(t.case_events).where(e.id == bindparam("event_id"))
            .values(before=bindparam("new_before", type_=e.before.type),
                    after=bindparam("new_after", type_=e.after.type), redacted_at=now),
            changed)
    return len(changed)


def _remove_letters(connection: Connection, ids: list[str], data_dir: Path,
                    delete: bool) -> int:
    """Delete the letters' files that lie under the data directory (a PDF written beside
    an operator's --out file elsewhere is theirs); the register rows stay."""
    root, removed = data_dir.resolve(), 0
    for path in connection.scalars(select(t.letters.c.path).where(t.letters.c.case_id.in_(ids))):
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file():
            if delete:
                target.unlink()
            removed += 1
    return removed


def expire_receipts(connection: Connection, before: datetime, after_id: int,
                    limit: int) -> list[int]:
    """One chunk of quarantined records and imported event rows received before `before`:
    their raw text and the quarantine entry's parsed copy go. The ids done (none: finished)."""
    r = t.receipts.c
    due = (select(r.id).where(r.id > after_id, r.outcome.in_(("quarantined", "event")),
                              r.received_at < before, r.raw != EXPIRED_RAW)
           .order_by(r.id).limit(limit))
    ids = sorted(connection.scalars(update(t.receipts).where(r.id.in_(due))
                                    .values(raw=EXPIRED_RAW).returning(r.id)))
    if ids:
        connection.execute(update(t.quarantine).where(t.quarantine.c.receipt_id.in_(ids))
                           .values(data=null()))
    return ids


def expire_messages(connection: Connection, before: datetime, after_id: int,
                    limit: int) -> list[int]:
    """One chunk of e-mails created before `before` that still have their rendered text
    (names, dockets): the row stays (it keyed a notification), the text goes."""
    o = t.outbox.c
    due = (select(o.id).where(o.id > after_id, o.created_at < before,
                              or_(o.subject.is_not(None), o.body.is_not(None)))
           .order_by(o.id).limit(limit))
    return sorted(connection.scalars(update(t.outbox).where(o.id.in_(due))
                                     .values(subject=None, body=None).returning(o.id)))


def remove_old_files(folders: Iterable[Path], cutoff: date, *, delete: bool = True) -> int:
    """Files (never following a link) last changed before the cutoff, in these folders."""
    limit = datetime.combine(cutoff, time.min).timestamp()
    removed = 0
    for folder in folders:
        for parent, _, names in os.walk(folder, followlinks=False):
            for name in names:
                path = Path(parent) / name
                if path.lstat().st_mtime < limit:
                    if delete:
                        path.unlink()
                    removed += 1
    return removed
