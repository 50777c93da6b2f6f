"""One person's data (GDPR articles 15 and 17): everything Domus holds about a tenant, as
one ZIP file, and its erasure.

Who is the person. Domus knows tenants by the name and birth date their notices carry, and
one household may have several cases (two procedures, two OCMWs). `find_person` matches the
folded last and first name (case, accents, spaces and punctuation ignored) of every case,
narrowed by the birth date when one is given; when the matches could be more than one
person (two birth dates, or cases that record none beside cases that do), it lists them and
decides nothing: the operator names the cases with `--case`, which is always exact.
Records tied to no case (quarantined records, imported contact rows, the morning digest)
are found by the person's name as whole words of their text (at least two words: a last
name alone would find strangers; a quarantined record whose parsed birth date is another
one is left out) or, for a record, by the court and docket
number of one of their cases (an imported contact names the procedure, not the tenant).

The export (`export_person`) is a ZIP: a README in the person's language (nl, fr or both),
`person.json` (how they were found), one JSON document per case (the case, every notice
and the text of every record as received, tasks, flags, triage, contacts, referrals,
history, the letter register, the e-mails about the case, the audit trail), the letter
files themselves, and `other_records.json` (quarantined or imported records naming them;
the digests that named them, by date only: their text names other households too). JSON
only, so no spreadsheet ever evaluates a cell. Every exported case gets an audit row
(action "person_export"): who, when, the case id, nothing else (case id "-" when the person
has no case, only records tied to none).

The erasure (`erase_person`) is the retention job's pseudonymisation (services/retention.py)
done now, for these cases, plus every record tied to no case that names the person (a
quarantined record's text and parsed copy, its errors' wording; an imported row; a digest's
text) and the files under the data directory that name them in their text or their file
name (letters, batch copies, uploads: those are copies, the receipts keep every other
household's records). An imported file named after the person (`batches.source`, a
quarantined record's `source`) gets a neutral name, the same for every row of that file:
`erased-` and the start of the file's SHA-256, its extension and partition kept. The audit
log keeps every row (it holds no tenant data) and gets one "erased" row per case; the
reason goes to the case's history as an "erasure" event, written already redacted so no
later redaction drops it, and it may not name the person. The statistics read only what
stays, so every figure is the same. A case that is not closed is refused: the OCMW still
needs it (an eviction may be pending, art. 17(3)(b)); record its outcome first, or pass
`force` (its open tasks are then cancelled, so no letter or e-mail goes to a pseudonym). A
second erasure finds nothing and changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from domain.access import Actor
from services.retention import MARK, scrub_cases
from services.summary import split_partition
from store import tables as t

#: what the raw text of an erased record tied to no case becomes
ERASED_RAW = '{"removed_by": "erasure"}'
EXPORT_ACTION, ERASE_ACTION = "person_export", "erased"
#: folders of copies under the data directory searched for the person's name
COPY_FOLDERS = ("incoming", "letters/batch")
TEXT_SUFFIXES = (".csv", ".txt", ".json", ".jsonl", ".xml", ".html")


class PersonError(Exception):
    """A selection or request Domus cannot carry out; the message says why."""


class Ambiguous(PersonError):
    """The name may be more than one person: the candidates, for the operator to choose."""

    def __init__(self, message: str, candidates: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class Person:
    """The person a request is about, and their cases (maybe none)."""

    last_name: str
    first_name: str | None
    birth_dates: tuple[str, ...]
    case_ids: tuple[str, ...]
    languages: tuple[str, ...] = ()
    #: other cases with the same name, not selected (a hint for the operator)
    also_named: tuple[str, ...] = ()

    def words(self) -> list[str]:
        """The folded words of the name: a record names the person if it has all of them
        (none when the name is gone already)."""
        if self.last_name == MARK:
            return []
        return words(f"{self.last_name} {self.first_name or ''}")

    def as_json(self) -> dict[str, Any]:
        return {"last_name": self.last_name, "first_name": self.first_name,
                "birth_dates": list(self.birth_dates), "case_ids": list(self.case_ids),
                "also_named": list(self.also_named)}


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def names(text: str, wanted: Sequence[str]) -> bool:
    """Whether every wanted word is a whole word of the text."""
    if not wanted:
        return False
    found = set(words(text))
    return all(word in found for word in wanted)


def parse_name(name: str) -> tuple[str, str | None]:
    """"LAST, First" (the first name may be left out)."""
    last, comma, first = name.partition(",")
    if not comma or not words(last):
        raise PersonError(f"--name {name!r}: write it as \"LAST, First\" (e.g. \"El Idrissi, "
                          "Amina\"); the first name may be left out: \"El Idrissi,\"")
    return last.strip(), (first.strip() or None)


# -- who --------------------------------------------------------------------------------------
def find_person(connection: Connection, *, name: str | None = None,
                birth_date: date | None = None, case_ids: Sequence[str] = ()) -> Person:
    """The person named, or the tenant of these cases; Ambiguous when it may be several."""
    c = t.cases.c
    if case_ids:
        rows = connection.execute(select(c.id, c.tenant_last_name, c.tenant_first_name,
                                         c.tenant_language).where(c.id.in_(case_ids))).all()
        missing = sorted(set(case_ids) - {row.id for row in rows})
        if missing:
            raise PersonError(f"--case {', '.join(missing)}: no such case")
        dates = _birth_dates(connection, [row.id for row in rows])
        first = rows[0]
        if name is not None:
            last_name, first_name = parse_name(name)
        else:
            last_name, first_name = first.tenant_last_name, first.tenant_first_name
        same = {} if last_name == MARK else _same_name(
            connection, words(f"{last_name} {first_name or ''}"))
        return Person(last_name, first_name,
                      tuple(sorted({d for row in rows for d in dates.get(row.id, ())})),
                      tuple(sorted(row.id for row in rows)),
                      tuple(sorted({row.tenant_language for row in rows
                                    if row.tenant_language})),
                      tuple(sorted(set(same) - set(case_ids))))
    if name is None:
        raise PersonError("name the person (--name \"LAST, First\") or their cases (--case)")
    last_name, first_name = parse_name(name)
    matches = _same_name(connection, words(last_name), words(first_name or ""))
    dates = _birth_dates(connection, list(matches))
    wanted = birth_date.isoformat() if birth_date else None
    if wanted:
        matches = {case_id: row for case_id, row in matches.items()
                   if wanted in dates.get(case_id, ()) or not dates.get(case_id)}
    people = {(fold(row.tenant_first_name or ""), dates.get(case_id, ()))
              for case_id, row in matches.items()}
    if len(people) > 1:
        candidates = [{"case_id": case_id, "last_name": row.tenant_last_name,
                       "first_name": row.tenant_first_name,
                       "birth_dates": list(dates.get(case_id, ())), "ocmw": row.ocmw,
                       "municipality": row.municipality, "docket_number": row.docket_number,
                       "status": row.status} for case_id, row in sorted(matches.items())]
        raise Ambiguous(f"{len(matches)} cases of tenants named {name!r} may be more than one "
                        "person: name the person's cases with --case (repeatable)"
                        + ("" if wanted else " or give --birth-date"), candidates)
    return Person(last_name, first_name,
                  tuple(sorted({d for case_id in matches for d in dates.get(case_id, ())}
                               | ({wanted} if wanted else set()))),
                  tuple(sorted(matches)),
                  tuple(sorted({row.tenant_language for row in matches.values()
                                if row.tenant_language})))


def _same_name(connection: Connection, last: list[str],
               first: list[str] | None = None) -> dict[str, Any]:
    """Cases whose tenant's folded last name is `last` and first name `first` ([]: any
    first name; None: `last` is the whole name's words, in any split); one scan of a few
    columns (no index could ignore accents)."""
    c = t.cases.c
    found = {}
    rows = connection.execute(
        select(c.id, c.tenant_last_name, c.tenant_first_name, c.tenant_language, c.ocmw,
               c.municipality, c.docket_number, c.status).execution_options(yield_per=5000))
    for row in rows:
        if first is None:
            same = sorted(words(f"{row.tenant_last_name} {row.tenant_first_name or ''}")) \
                == sorted(last)
        else:
            same = words(row.tenant_last_name) == last and (
                not first or words(row.tenant_first_name or "") == first)
        if same:
            found[row.id] = row
    return found


def _birth_dates(connection: Connection, case_ids: list[str]) -> dict[str, tuple[str, ...]]:
    n = t.notices.c
    dates: dict[str, set[str]] = {}
    for group in _groups(case_ids):
        for case_id, data in connection.execute(
                select(n.case_id, n.data).where(n.case_id.in_(group))):
            tenant = data.get("tenant") if isinstance(data, dict) else None
            if isinstance(tenant, dict) and tenant.get("birth_date"):
                dates.setdefault(case_id, set()).add(str(tenant["birth_date"]))
    return {case_id: tuple(sorted(found)) for case_id, found in dates.items()}


def _groups(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _allowed(actor: Actor) -> None:
    if actor.role not in ("administrator", "operator"):
        raise PersonError("only an administrator answers a data-protection request")


# -- records tied to no case ------------------------------------------------------------------
@dataclass
class Mentions:
    receipts: list[dict[str, Any]] = field(default_factory=list)  # quarantined or imported
    digests: list[dict[str, Any]] = field(default_factory=list)  # e-mails tied to no case


def mentions(connection: Connection, person: Person) -> Mentions:
    """Quarantined records and imported rows that name the person (not one whose parsed
    birth date is another) or one of their procedures, and e-mails tied to no case that name
    them."""
    wanted, found = person.words(), Mentions()
    if len(wanted) < 2:  # one word ("Peeters") would find strangers: the procedures only
        wanted = []
    r, q, o, c = t.receipts.c, t.quarantine.c, t.outbox.c, t.cases.c
    # an imported contact or outcome names the procedure (court and docket), not the tenant
    procedures = [(set(words(court)), set(words(docket))) for court, docket in
                  connection.execute(select(c.court, c.docket_number)
                                     .where(c.id.in_(person.case_ids)))]
    rows = connection.execute(
        select(r.id, r.raw, r.outcome, r.received_at, r.record_no, r.line_no, r.source_sha256,
               q.id.label("quarantine_id"), q.data, q.errors, q.source, q.created_at,
               q.resolved_at)
        .outerjoin(t.quarantine, q.receipt_id == r.id)
        .where(r.outcome.in_(("quarantined", "event")), r.raw != ERASED_RAW)
        .execution_options(yield_per=2000))
    for row in rows:
        seen = set(words(row.raw))
        named = bool(wanted) and all(word in seen for word in wanted) and \
            not _another_birth_date(row.data, person)
        if named or any(court <= seen and docket <= seen for court, docket in procedures):
            found.receipts.append(dict(row._mapping))
    for row in () if not wanted else connection.execute(
            select(o.id, o.key, o.reason, o.created_at, o.sent_at, o.subject, o.body)
            .where(o.case_id.is_(None), o.task_id.is_(None), o.body.is_not(None))):
        if names(f"{row.subject or ''}\n{row.body or ''}", wanted):
            found.digests.append(dict(row._mapping))
    return found


def _another_birth_date(data: Any, person: Person) -> bool:
    tenant = data.get("tenant") if isinstance(data, dict) else None
    born = tenant.get("birth_date") if isinstance(tenant, dict) else None
    return bool(born and person.birth_dates and str(born) not in person.birth_dates)


# -- article 15: the export -------------------------------------------------------------------
def export_person(engine: Engine, person: Person, out: Path, *, actor: Actor, data_dir: Path,
                  now: datetime) -> dict[str, Any]:
    """Write everything Domus holds about the person to the ZIP file `out` (readable by its
    owner only) and audit it; a summary of what went in."""
    _allowed(actor)
    with engine.connect() as connection:
        cases = [case_document(connection, case_id) for case_id in person.case_ids]
        found = mentions(connection, person)
    if not cases and not found.receipts and not found.digests:
        raise PersonError(f"Domus holds nothing about {person.last_name}, "
                          f"{person.first_name or ''}".rstrip(", "))
    files = list(_letter_files(cases, data_dir))
    other = {"records": [_jsonable(row) for row in found.receipts],
             "digests": [{"id": d["id"], "created_at": d["created_at"].isoformat(),
                          "sent_at": d["sent_at"].isoformat() if d["sent_at"] else None,
                          "reason": d["reason"]} for d in found.digests]}
    summary = {"person": person.as_json(), "exported_at": now.isoformat(),
               "exported_by": actor.name, "cases": len(cases),
               "letter_files": len(files), "other_records": len(other["records"]),
               "digests": len(other["digests"])}
    draft = out.with_name(f".{out.name}.partial")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle, \
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme(person, summary))
        archive.writestr("person.json", _dumps(summary))
        for document in cases:
            archive.writestr(f"cases/{document['case']['id']}.json", _dumps(document))
        for name, path in files:
            archive.write(path, name)
        archive.writestr("other_records.json", _dumps(other))
    draft.replace(out)
    _audit(engine, person.case_ids, actor, EXPORT_ACTION, now)
    return {**summary, "file": str(out)}


def case_document(connection: Connection, case_id: str) -> dict[str, Any]:
    """Every row about one case, as stored (JSON-ready)."""
    def rows(table: Any, *where: Any) -> list[dict[str, Any]]:
        primary = list(table.primary_key.columns)
        return [_jsonable(dict(row._mapping)) for row in connection.execute(
            select(table).where(*where).order_by(*primary))]

    notices = rows(t.notices, t.notices.c.case_id == case_id)
    fingerprints = [notice["fingerprint"] for notice in notices]
    task_ids = select(t.tasks.c.id).where(t.tasks.c.case_id == case_id)
    return {
        "case": rows(t.cases, t.cases.c.id == case_id)[0],
        "notices": notices,
        "records_as_received": rows(t.receipts, t.receipts.c.fingerprint.in_(fingerprints)),
        "tasks": rows(t.tasks, t.tasks.c.case_id == case_id),
        "flags": rows(t.flags, t.flags.c.case_id == case_id),
        "triage": rows(t.triage, t.triage.c.case_id == case_id),
        "contacts": rows(t.contacts, t.contacts.c.case_id == case_id),
        "referrals": rows(t.referrals, t.referrals.c.case_id == case_id),
        "letters": rows(t.letters, t.letters.c.case_id == case_id),
        "emails": rows(t.outbox, or_(t.outbox.c.case_id == case_id,
                                     t.outbox.c.task_id.in_(task_ids))),
        "history": rows(t.case_events, t.case_events.c.case_id == case_id),
        "audit_trail": rows(t.audit_log, t.audit_log.c.case_id == case_id),
    }


def _letter_files(cases: list[dict[str, Any]], data_dir: Path) -> Iterator[tuple[str, Path]]:
    root = data_dir.resolve()
    for document in cases:
        for letter in document["letters"]:
            for stored in (letter["path"], letter["pdf_path"]):
                if not stored:
                    continue
                path = (root / stored).resolve()
                if path.is_relative_to(root) and path.is_file():
                    yield f"cases/{document['case']['id']}/letters/{path.name}", path


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, (date, datetime)) else value
            for key, value in row.items()}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"


#: the audit row's case id when a request touched only records tied to no case
NO_CASE = "-"


def _audit(engine: Engine, case_ids: Iterable[str], actor: Actor, action: str,
           now: datetime) -> None:
    """One row per case (NO_CASE when there is none): who, when, what; nothing personal."""
    with engine.begin() as connection:
        connection.execute(t.audit_log.insert(), [
            {"case_id": case_id, "actor": actor.name, "action": action, "channel": "cli",
             "at": now} for case_id in (list(case_ids) or [NO_CASE])])


README = {
    "nl": """Uw gegevens bij het OCMW (Domus)

Dit bestand bevat alle gegevens die het OCMW in Domus over u bewaart, zoals gevraagd
(artikel 15 van de AVG). Domus volgt huurders op bij wie een uithuiszetting dreigt: het
vredegerecht of de gerechtsdeurwaarder meldt de procedure aan het OCMW, dat u dan hulp
aanbiedt.

Inhoud:
- person.json: hoe u werd gevonden (naam, geboortedatum) en welke dossiers van u zijn.
- cases/<dossier>.json: per dossier alles wat Domus bewaart: het dossier zelf, elke
  melding (ook de tekst zoals ze binnenkwam), de taken en termijnen van het OCMW, de
  contacten met u, de doorverwijzingen, het resultaat, de brieven, de e-mails aan het
  personeel over uw dossier, de geschiedenis en wie uw dossier bekeek of wijzigde.
- cases/<dossier>/letters/: de brieven zelf (Word of PDF).
- other_records.json: meldingen die niet konden worden verwerkt of andere regels die uw
  naam noemen, en de data van dagoverzichten voor het personeel die uw naam noemden.

Dossiers: {cases}. Brieven: {letter_files}. Andere gegevens: {other_records}.
Gemaakt op {exported_at}.
Vragen, verbetering of wissing: neem contact op met uw OCMW of zijn functionaris voor
gegevensbescherming.
""",
    "fr": """Vos données au CPAS (Domus)

Ce fichier contient toutes les données que le CPAS conserve à votre sujet dans Domus, comme
vous l'avez demandé (article 15 du RGPD). Domus suit les locataires menacés d'expulsion :
la justice de paix ou l'huissier signale la procédure au CPAS, qui vous propose son aide.

Contenu :
- person.json : comment vous avez été trouvé(e) (nom, date de naissance) et vos dossiers.
- cases/<dossier>.json : pour chaque dossier, tout ce que Domus conserve : le dossier, chaque
  avis (aussi le texte tel qu'il a été reçu), les tâches et délais du CPAS, les contacts avec
  vous, les orientations, le résultat, les lettres, les e-mails au personnel sur votre
  dossier, l'historique et qui a consulté ou modifié votre dossier.
- cases/<dossier>/letters/ : les lettres elles-mêmes (Word ou PDF).
- other_records.json : les avis qui n'ont pas pu être traités ou autres lignes qui citent
  votre nom, et les dates des résumés quotidiens au personnel qui citaient votre nom.

Dossiers : {cases}. Lettres : {letter_files}. Autres données : {other_records}.
Créé le {exported_at}.
Questions, rectification ou effacement : adressez-vous à votre CPAS ou à son délégué à la
protection des données.
""",
}


def readme(person: Person, summary: dict[str, Any]) -> str:
    """The README in the person's language; both when it is unknown or they used both."""
    languages = [lang for lang in person.languages if lang in README] or ["nl", "fr"]
    return "\n\n".join(README[lang].format(**summary) for lang in languages)


# -- article 17: the erasure ------------------------------------------------------------------
def erase_person(engine: Engine, person: Person, *, reason: str, actor: Actor,
                 data_dir: Path, now: datetime, force: bool = False) -> dict[str, Any]:
    """Pseudonymise the person's cases and remove every record and file that names them
    (see the module's docstring); counts of what changed."""
    reason = reason.strip()
    c = t.cases.c
    with engine.begin() as connection:
        check_erasure(connection, person, reason=reason, actor=actor, force=force)
        waiting = or_(c.pseudonymised_at.is_(None), c.updated_at > c.pseudonymised_at)
        ids = sorted(connection.scalars(
            update(t.cases).where(c.id.in_(person.case_ids), waiting)
            .values(tenant_first_name=None, tenant_last_name=MARK, street=None,
                    house_number=None, box=None, pseudonymised_at=now, updated_at=now)
            .returning(c.id)))
        counts: dict[str, int] = {"cases": 0}
        if ids:
            counts = scrub_cases(connection, ids, now, data_dir, delete_files=True,
                                 actor=actor.name, action=ERASE_ACTION, channel="cli")
            counts["letter_files"] += _remove_pdfs(connection, ids, data_dir)
            counts["cancelled_tasks"] = connection.execute(
                update(t.tasks).where(t.tasks.c.case_id.in_(ids), t.tasks.c.status == "open")
                .values(status="cancelled", updated_at=now)).rowcount
            connection.execute(t.case_events.insert(), [
                {"case_id": case_id, "kind": "erasure", "actor": actor.name, "at": now,
                 "before": None, "after": {"reason": reason}, "redacted_at": now}
                for case_id in ids])
        found = mentions(connection, person)
        counts["other_records"] = _erase_receipts(connection, found.receipts)
        counts["digests"] = _erase_digests(connection, found.digests)
        counts["file_names"] = _erase_source_names(connection, person, found.receipts)
    counts["copies"] = remove_copies(data_dir, person)
    if not ids and (counts["other_records"] or counts["digests"] or counts["copies"]
                    or counts["file_names"]):
        _audit(engine, [], actor, ERASE_ACTION, now)  # records of no case: still audited
    return {"person": {"case_ids": list(person.case_ids)}, "erased_cases": ids,
            "erased_at": now.isoformat(), **counts}


def check_erasure(connection: Connection, person: Person, *, reason: str, actor: Actor,
                  force: bool) -> None:
    """Refuse what may not be erased (before anyone is asked to confirm, and again inside
    the erasure's transaction)."""
    _allowed(actor)
    reason = reason.strip()
    if not reason:
        raise PersonError("--reason: say why (e.g. the request's reference); it is kept")
    if len(reason) > 500:
        raise PersonError("--reason: at most 500 characters")
    if names(reason, person.words()) or any(d in reason for d in person.birth_dates):
        raise PersonError("--reason names the person; it is kept after the erasure, so give "
                          "the request's reference instead")
    c = t.cases.c
    live = connection.execute(select(c.id, c.status).where(
        c.id.in_(person.case_ids), c.status != "closed").order_by(c.id)).all()
    if live and not force:
        raise PersonError(
            "; ".join(f"case {row.id} is {row.status}" for row in live)
            + ": the OCMW still needs it (an eviction may be pending). Record its outcome "
            "first, or pass --force to erase it anyway (its open tasks are cancelled)")


def _remove_pdfs(connection: Connection, ids: list[str], data_dir: Path) -> int:
    root, removed = data_dir.resolve(), 0
    for stored in connection.scalars(select(t.letters.c.pdf_path).where(
            t.letters.c.case_id.in_(ids), t.letters.c.pdf_path.is_not(None))):
        path = (root / stored).resolve()
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            removed += 1
    return removed


def _erase_receipts(connection: Connection, found: list[dict[str, Any]]) -> int:
    for row in found:
        connection.execute(update(t.receipts).where(t.receipts.c.id == row["id"])
                           .values(raw=ERASED_RAW))
        if row["quarantine_id"] is not None:
            errors = [{"field": e.get("field"), "reason": "[erased]"}
                      for e in (row["errors"] or []) if isinstance(e, dict)]
            connection.execute(update(t.quarantine)
                               .where(t.quarantine.c.id == row["quarantine_id"])
                               .values(data=None, errors=errors))
    return len(found)


def _erase_digests(connection: Connection, found: list[dict[str, Any]]) -> int:
    ids = [row["id"] for row in found]
    if ids:
        connection.execute(update(t.outbox).where(t.outbox.c.id.in_(ids))
                           .values(subject=None, body=None))
    return len(ids)


def _erase_source_names(connection: Connection, person: Person,
                        erased: list[dict[str, Any]]) -> int:
    """Give a neutral name to the import runs and quarantined records whose file name names
    the person (at least two words, as for records), and in each run's summary to that
    file name and to the reasons given for the `erased` records (a reason may quote a
    value); how many rows were renamed."""
    wanted = person.words()
    if len(wanted) < 2:
        wanted = []
    b, q, r = t.batches.c, t.quarantine.c, t.receipts.c
    renamed = 0
    for row in connection.execute(select(q.id, q.source, r.source_sha256)
                                  .join(t.receipts, r.id == q.receipt_id)).all():
        if names(row.source, wanted):
            connection.execute(update(t.quarantine).where(q.id == row.id).values(
                source=neutral_source(row.source, row.source_sha256)))
            renamed += 1
    records = {(row["source_sha256"], row["record_no"]) for row in erased}
    for row in connection.execute(select(b.id, b.source, b.sha256, b.summary)).all():
        summary = _scrubbed_summary(row.summary, row.sha256, records, wanted)
        source = neutral_source(row.source, row.sha256) if names(row.source, wanted) \
            else row.source
        if source != row.source or summary != row.summary:
            connection.execute(update(t.batches).where(b.id == row.id)
                               .values(source=source, summary=summary))
            renamed += source != row.source
    return renamed


def _scrubbed_summary(summary: Any, sha256: str, records: set[tuple[str, int]],
                      wanted: list[str]) -> Any:
    """A run's summary with the erased records' reasons and a file name naming the person
    replaced (the counts stay)."""
    if not isinstance(summary, dict) or not summary.get("quarantined"):
        return summary
    quarantined = []
    for entry in summary["quarantined"]:
        entry = dict(entry)
        if (sha256, entry.get("record")) in records:
            entry["reason"] = "[erased]"
            entry["errors"] = [{"field": e.get("field"), "reason": "[erased]"}
                               for e in entry.get("errors") or [] if isinstance(e, dict)]
        if names(str(entry.get("file", "")), wanted):
            entry["file"] = neutral_source(str(entry["file"]), sha256)
        quarantined.append(entry)
    return {**summary, "quarantined": quarantined}


def neutral_source(source: str, sha256: str) -> str:
    """`/in/El Idrissi Amina.csv (partition 2 of 4)` → `erased-3f2a…9c.csv (partition 2 of
    4)`: the same for every row of one file, so the import pages still group its runs."""
    base, partition = split_partition(source)
    extension = re.search(r"\.[A-Za-z0-9]{1,8}$", base)
    return f"erased-{sha256[:16]}{extension.group() if extension else ''}{partition}"


def remove_copies(data_dir: Path, person: Person) -> int:
    """Delete the files under the data directory's copy folders that name the person in
    their text or their file name (and the PDF made from a Word file that does)."""
    wanted, removed = person.words(), 0
    if len(wanted) < 2:
        return 0
    for folder in COPY_FOLDERS:
        for parent, _, files in os.walk(data_dir / folder, followlinks=False):
            for file_name in files:
                path = Path(parent) / file_name
                if path.is_symlink() or not (names(file_name, wanted)
                                             or names(file_text(path), wanted)):
                    continue
                path.unlink()
                removed += 1
                pdf = path.with_suffix(".pdf")
                if pdf.is_file() and path.suffix != ".pdf":
                    pdf.unlink()
                    removed += 1
    return removed


def file_text(path: Path) -> str:
    """A file's words for the search: a Word file's XML text, a text file's text."""
    if path.suffix.lower() in (".docx", ".xlsx", ".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                parts = [archive.read(info).decode("utf-8", "replace")
                         for info in archive.infolist() if info.filename.endswith(".xml")]
        except (zipfile.BadZipFile, OSError):
            return ""
        return "\n".join(re.sub(r"<[^>]+>", "", part) for part in parts)
    if path.suffix.lower() in TEXT_SUFFIXES or path.suffix == "":
        return path.read_bytes().decode("utf-8", "replace")
    return ""


__all__ = ["Ambiguous", "Person", "PersonError", "check_erasure", "erase_person",
           "export_person", "find_person"]
