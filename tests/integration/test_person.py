"""One person's data on SQLite and PostgreSQL (GDPR art. 15 and 17): the export holds
everything Domus keeps about the tenant and nobody else's; the erasure leaves no trace of
them in any column of any table or in any file (Word files opened), keeps the audit trail
(which holds no personal data either), does not move a statistic, and is idempotent."""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, select

from domain.access import Actor
from domus.bootstrap import Domus
from domus.cli import cli
from services.person import PersonError, erase_person, find_person
from services.sweep import record_sweep
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration import test_retention
from tests.integration.test_retention import case_ids, everything, figures
from tests.integration.test_sweep import ingest

#: test_retention's households: Amina (26A1, closed, a letter, a quarantined record, an
#: imported contact, a digest), Jan Peeters (26A2 closed, 26A3 open), Hassan (26A4)
region = test_retention.region

#: everything Amina's household told Domus (test_retention's region fixture)
AMINA = ("Amina", "El Idrissi", "Idrissi", "Josaphat", "470 12 34 56", "1984-03-02",
         "amina@mail.be", "pregnant", "NOTE-debts of 26A1", "NOTE-debts Amina",
         "REASON-shelter", "REOPEN-why")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(ch))


def file_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"PK":  # a Word file (or any zip): every part's text, tags removed
        with zipfile.ZipFile(path) as archive:
            return "\n".join(re.sub(r"<[^>]+>", "", archive.read(name).decode("utf-8", "replace"))
                             for name in archive.namelist())
    return data.decode("utf-8", "replace")


def traces(domus: Domus, needles: tuple[str, ...], *, unless: str | None = None) -> list[str]:
    """Where any needle is still found: every column of every table of the database (read
    from the database itself, not from Domus's table list), every file under the data
    directory; a row that names `unless` (someone else) does not count."""
    wanted = [fold(needle) for needle in needles]
    found = []
    schema = MetaData()
    schema.reflect(domus.engine)
    assert {"cases", "audit_log", "case_events", "receipts", "quarantine"} <= set(schema.tables)
    with domus.engine.connect() as connection:
        for table in schema.sorted_tables:
            for row in connection.execute(select(table)):
                if unless and fold(unless) in fold(str(tuple(row))):
                    continue
                for column, value in zip(table.columns, row, strict=True):
                    shown = fold(value if isinstance(value, str) else
                                 json.dumps(value, ensure_ascii=False, default=str))
                    found += [f"{table.name}.{column.name}: {needle}"
                              for needle in wanted if needle in shown]
    root = domus.settings.data_dir
    for path in sorted(root.rglob("*")):
        named = fold(str(path.relative_to(root)))
        found += [f"file name {path}: {needle}" for needle in wanted if needle in named]
        if path.is_file():
            shown = fold(file_text(path))
            found += [f"{path}: {needle}" for needle in wanted if needle in shown]
    return found


def test_the_export_holds_everything_about_the_person_and_is_audited(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "amina.zip"
    result = run("person", "export", "--name", "EL IDRISSI, amina", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["person"]["case_ids"] == [region["26A1"]]
    assert summary["person"]["birth_dates"] == ["1984-03-02"]
    assert out.stat().st_mode & 0o077 == 0  # the owner's only
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        case = json.loads(archive.read(f"cases/{region['26A1']}.json"))
        other = json.loads(archive.read("other_records.json"))
        readme = archive.read("README.txt").decode()
        [letter_name] = [n for n in names if n.startswith(f"cases/{region['26A1']}/letters/")]
        letter = archive.read(letter_name)
    assert "Vos données au CPAS" in readme and "Uw gegevens" not in readme  # she speaks French
    assert case["case"]["tenant_last_name"] == "El Idrissi"
    assert len(case["notices"]) == 2 and len(case["records_as_received"]) == 3
    assert any("pregnant" in record["raw"] for record in case["records_as_received"])
    assert [c["note"] for c in case["contacts"]] == ["NOTE-debts of 26A1",
                                                     "NOTE-debts Amina agreed"]
    assert case["referrals"][0]["reason"] == "REASON-shelter for Amina"
    assert case["case"]["outcome_code"] == "kept_payment_plan"
    assert [e["kind"] for e in case["history"]][-2:] == ["reopen", "outcome"]
    assert [m["body"] for m in case["emails"]] == ["Amina El Idrissi, Rue Josaphat 112"]
    assert case["tasks"] and case["letters"]
    stored = domus.settings.data_dir / case["letters"][0]["path"]
    assert letter == stored.read_bytes()
    # records tied to no case: her quarantined petition (26A5) and the imported contact row
    assert sorted(r["outcome"] for r in other["records"]) == ["event", "quarantined"]
    # the digest named her among others: its date, never its text
    assert len(other["digests"]) == 1 and "body" not in other["digests"][0]
    export = json.dumps([case, other])
    assert "Peeters" not in export and "Hassan" not in export  # nobody else's data
    with domus.engine.connect() as connection:
        audited = connection.execute(select(t.audit_log).where(
            t.audit_log.c.action == "person_export")).all()
    assert [(a.case_id, a.actor, a.channel) for a in audited] == [
        (region["26A1"], "local operator", "cli")]


def test_a_name_that_may_be_two_people_is_listed_not_guessed(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    # Jan Peeters, born 1970-01-01, has two cases (26A2, 26A3): one person
    result = run("person", "export", "--name", "Peeters, Jan", "--out", str(tmp_path / "j.zip"),
                 "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["person"]["case_ids"] == sorted(
        [region["26A2"], region["26A3"]])
    ingest(domus, tmp_path / "namesake.jsonl", [petition(
        "27C1", tenant__first_name="JAN", tenant__last_name="Peeters",
        tenant__birth_date="1991-07-07", dwelling__street="Rue Neuve")])
    namesake = case_ids(domus)["27C1"]
    result = run("person", "export", "--name", "peeters, jan", "--out", str(tmp_path / "x.zip"))
    assert result.exit_code == 2
    assert "may be more than one person" in result.stderr
    assert namesake in result.stderr and "1991-07-07" in result.stderr
    assert not (tmp_path / "x.zip").exists()
    result = run("person", "export", "--name", "Peeters, Jan", "--birth-date", "1991-07-07",
                 "--out", str(tmp_path / "x.zip"), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["person"]["case_ids"] == [namesake]
    result = run("person", "export", "--case", region["26A3"], "--out",
                 str(tmp_path / "y.zip"), "--json")
    person = json.loads(result.stdout)["person"]
    assert person["case_ids"] == [region["26A3"]]
    assert person["also_named"] == sorted([region["26A2"], namesake])
    assert run("person", "export", "--name", "Nobody,", "--out", str(tmp_path / "z.zip")
               ).exit_code == 1
    assert run("person", "export", "--name", "no comma").exit_code == 2
    assert run("person", "export", "--case", "XXXX").exit_code == 2


def test_the_erasure_leaves_no_trace_keeps_the_audit_trail_and_the_figures(
        domus: Domus, region: dict[str, str], tmp_path: Path) -> None:
    data = domus.settings.data_dir
    for name, text in (("incoming/upload.csv", "Vredegerecht;26A1;El Idrissi;Amina;1984-03-02"),
                       ("incoming/other.csv", "Vredegerecht;26A2;Peeters;Jan"),
                       ("letters/batch/2026-11-23/26A1.txt", "Amina El Idrissi"),
                       ("incoming/fax Amina El Idrissi.csv", "Vredegerecht;26A1")):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(text, encoding="utf-8")
    # a file the registry named after her: its import run and its quarantined record
    ingest(domus, tmp_path / "El Idrissi Amina (griffie).jsonl",
           [petition("26A1", hearing_at="someday"),
            test_retention.other_household("26A9", hearing_at="later")])
    assert len(traces(domus, AMINA)) > 20
    before = figures(domus)
    with domus.engine.connect() as connection:
        audit_before = connection.execute(select(t.audit_log).order_by(t.audit_log.c.id)).all()
    result = run("person", "erase", "--name", "El Idrissi, Amina", "--birth-date", "1984-03-02",
                 "--reason", "DPO request 2026-117", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["erased_cases"] == [region["26A1"]]
    assert (report["other_records"], report["digests"], report["copies"]) == (3, 1, 3)
    assert report["file_names"] == 3  # the run and both records quarantined from that file
    assert report["letter_files"] == 1
    # Hassan's petition (26A4) has the builder's phone, birth date and landlord too
    assert traces(domus, AMINA, unless="Hassan") == []
    assert traces(domus, ("Amina", "Idrissi", "amina@mail.be", "pregnant")) == []
    assert figures(domus) == before
    assert (data / "incoming" / "other.csv").exists()  # the others' data stays
    with domus.engine.connect() as connection:  # Peeters's record from her file stays, renamed
        kept = connection.execute(select(t.quarantine.c.source, t.quarantine.c.data)
                                  .where(t.quarantine.c.data.is_not(None))).all()
        runs = dict(connection.execute(select(t.batches.c.source, t.batches.c.summary)).all())
    renamed = [source for source, record in kept if "Peeters" in json.dumps(record)]
    assert len(renamed) == 1 and re.fullmatch(r"erased-[0-9a-f]{16}\.jsonl", renamed[0])
    # the run and its records still share one name; her record's reason is gone from the
    # run's summary (a reason may quote a value), Peeters's stays
    assert [(q["file"], q["record"], q["reason"] == "[erased]")
            for q in runs[renamed[0]]["quarantined"]] == [(renamed[0], 1, True),
                                                          (renamed[0], 2, False)]
    left = everything(domus)
    assert "Peeters" in left and "Hassan" in left and "Rue Royale" in left
    with domus.engine.connect() as connection:
        audit_after = connection.execute(select(t.audit_log).order_by(t.audit_log.c.id)).all()
        erasure = connection.execute(select(t.case_events).where(
            t.case_events.c.kind == "erasure")).one()
    assert audit_after[:len(audit_before)] == audit_before  # every row kept, unchanged
    assert [(a.case_id, a.action, a.actor, a.channel) for a in audit_after[len(audit_before):]
            ] == [(region["26A1"], "erased", "local operator", "cli")]
    assert (erasure.case_id, erasure.after) == (region["26A1"], {"reason": "DPO request 2026-117"})
    # idempotent: the name finds nothing now, the case id finds an erased case
    snapshot = everything(domus)
    for selection in (("--name", "El Idrissi, Amina"), ("--case", region["26A1"])):
        result = run("person", "erase", *selection, "--reason", "again", "--yes", "--json")
        assert result.exit_code == 0, result.stderr
        again = json.loads(result.stdout)
        assert again["erased_cases"] == [] and again["other_records"] == 0
    assert everything(domus) == snapshot


def test_an_open_case_is_refused_unless_forced_and_the_reason_may_not_name_the_person(
        domus: Domus, region: dict[str, str]) -> None:
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, NOW)
    snapshot = everything(domus)
    result = run("person", "erase", "--name", "Peeters, Jan", "--reason", "DPO-9", "--yes")
    assert result.exit_code == 2
    assert f"case {region['26A3']} is open" in result.stderr and "--force" in result.stderr
    result = run("person", "erase", "--case", region["26A2"], "--reason", "asked by Jan Peeters",
                 "--yes")
    assert result.exit_code == 2 and "names the person" in result.stderr
    result = run("person", "erase", "--case", region["26A2"], "--reason", "DPO-9",
                 input="n\n")
    assert result.exit_code == 1  # not confirmed
    assert everything(domus) == snapshot
    with domus.engine.connect() as connection:
        person = find_person(connection, case_ids=[region["26A2"]])
    with pytest.raises(PersonError, match="administrator"):
        erase_person(domus.engine, person, reason="DPO-9", data_dir=domus.settings.data_dir,
                     now=NOW, actor=Actor(name="cw@ocmw.be", role="caseworker", ocmw="21015"))
    result = run("person", "erase", "--name", "Peeters, Jan", "--reason", "DPO-9", "--yes",
                 "--force", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["cancelled_tasks"] > 0
    assert traces(domus, ("Peeters", "Rue Royale", "555 00 00", "1970-01-01")) == []
    with domus.engine.connect() as connection:
        open_tasks = connection.scalars(select(t.tasks.c.id).where(
            t.tasks.c.case_id == region["26A3"], t.tasks.c.status == "open")).all()
    assert open_tasks == []


def test_an_unknown_birth_date_next_to_a_known_one_is_ambiguous(
        domus: Domus, tmp_path: Path) -> None:
    ingest(domus, tmp_path / "two.jsonl", [
        petition("28D1"), petition("28D2", tenant__birth_date=None)])
    with domus.engine.connect() as connection:
        with pytest.raises(PersonError, match="more than one person"):
            find_person(connection, name="El Idrissi, Amina", birth_date=date(1984, 3, 2))
        both = find_person(connection, case_ids=list(case_ids(domus).values()))
    assert len(both.case_ids) == 2 and both.birth_dates == ("1984-03-02",)



def test_a_person_known_only_from_a_quarantined_record_is_exported_and_erased(
        domus: Domus, tmp_path: Path) -> None:
    ingest(domus, tmp_path / "bad.jsonl", [petition(
        "29E1", hearing_at="someday", tenant__first_name="Zoë", tenant__last_name="Van Dam",
        tenant__phone="+32 499 99 99 99")])
    result = run("person", "export", "--name", "VAN DAM, Zoe", "--out", str(tmp_path / "z.zip"),
                 "--json")
    assert result.exit_code == 0, result.stderr
    assert (json.loads(result.stdout)["cases"], json.loads(result.stdout)["other_records"]) == (
        0, 1)
    result = run("person", "erase", "--name", "van dam, zoë", "--reason", "DPO-12", "--yes",
                 "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["other_records"] == 1
    assert traces(domus, ("Van Dam", "Zoë", "499 99 99 99")) == []
    with domus.engine.connect() as connection:
        audited = connection.execute(select(t.audit_log.c.case_id, t.audit_log.c.action)
                                     .order_by(t.audit_log.c.id)).all()
    assert audited == [("-", "person_export"), ("-", "erased")]
