"""Hostile and broken input end to end (issue 8): `domus ingest` in a real process on every
hostile file of bench/fuzz_harness.py, on SQLite and PostgreSQL; the API's notice body;
formula injection in the statistics exports."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from bench.fuzz_harness import hostile_files
from domus.bootstrap import Domus
from domus.settings import Settings
from services.monitoring import compute_stats
from services.readers import MAX_RECORD_CHARS
from services.stats_output import write_csv, write_xlsx
from services.users import issue_token
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest, user
from web.app import create_app

pytestmark = pytest.mark.usefixtures("prefect_server")
UNREADABLE = ("png.json", "zip.csv", "random.jsonl", "utf16-nobom.csv",
              "undefined-cp1252.csv")
DOMUS = [str(Path(sys.executable).parent / "domus")]


def domus_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DOMUS, *args], capture_output=True, text=True, timeout=600,
                          check=False)


def test_hostile_files_are_quarantined_with_reasons_never_a_traceback(
        settings: Settings, domus: Domus, tmp_path: Path) -> None:
    files = {name: data for name, data in hostile_files(large=False).items()
             if name not in UNREADABLE}
    files["long-line.csv"] = (b"kind;court\npetition;" + b"x" * (MAX_RECORD_CHARS * 3)
                              + b"\npetition;c\n")
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    done = domus_cli("ingest", "--json", *map(str, paths))

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 3, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    quarantined = summary["quarantined"]
    assert summary["received"] == len(quarantined) + summary["created"] + summary["updated"] \
        + summary["duplicates"]
    for entry in quarantined:
        assert entry["file"] and entry["record"] >= 1 and entry["field"] and entry["reason"]
        assert len(entry["reason"]) < 400
    reasons = " | ".join(e["reason"] for e in quarantined)
    for expected in ("nested too deeply", "the record is too long", "contains a NUL",
                     "lone surrogate", "is not in the years 2000 to 2100",
                     "Exceeds the limit (4300 digits)"):
        assert expected in reasons, expected
    with domus.engine.connect() as connection:
        raws = connection.scalars(select(t.receipts.c.raw)).all()
        assert len(raws) == summary["received"]  # every record received is kept
        assert all("\x00" not in raw and len(raw) <= MAX_RECORD_CHARS for raw in raws)
        assert connection.scalar(select(func.count()).select_from(t.quarantine)) == \
            len(quarantined)


@pytest.mark.parametrize("name", UNREADABLE)
def test_a_file_that_is_not_text_exits_2_with_one_line_naming_it(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    monkeypatch.setenv("DOMUS_DATABASE_URL", sqlite_url)  # refused before any database work
    path = tmp_path / name
    path.write_bytes(hostile_files(large=False)[name])
    done = domus_cli("ingest", str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], done.stderr


def test_a_100000_deep_api_body_is_refused_cleanly_not_a_server_error(
        domus: Domus, tmp_path: Path) -> None:
    """FastAPI parses a JSON body before the route (the Body parameter documents it), so a
    body nested too deeply is a 400, never a 500; one nested too deeply inside a valid
    document reaches intake and is quarantined."""
    user(domus, "admin@ocmw.be", role="administrator", ocmw="21015")
    token = issue_token(domus.engine, "admin@ocmw.be", kind="api", now=NOW)
    client = TestClient(create_app(domus), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/api/notices", content=deep, headers=headers).status_code == 400
    inside = "[" + "[" * 100 + "]" * 100 + ", " + json.dumps(petition("26D1")) + "]"
    answer = client.post("/api/notices", content=inside, headers=headers)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert summary["created"] == 1
    (entry,) = summary["quarantined"]
    assert entry["reason"] == "nested too deeply (more than 32 levels)"


FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+cmd", "-1+1", "@SUM(1)", "\t=1")


def test_a_formula_in_a_commune_never_reaches_a_spreadsheet_as_a_formula(
        domus: Domus, tmp_path: Path) -> None:
    ingest(domus, tmp_path / "n.jsonl", [
        petition(f"26F{i}", dwelling__postcode=formula, dwelling__municipality=formula,
                 tenant__last_name=formula, court=formula)
        for i, formula in enumerate(FORMULAS)])
    with domus.engine.begin() as connection:  # triage sent each to an OCMW, as a person would
        connection.execute(update(t.cases).values(ocmw="21015"))
    with domus.engine.connect() as connection:
        document = compute_stats(connection, from_date=None, to_date=None, by="commune",
                                 min_cell=1)
    keys = {group["key"] for group in document["groups"]}
    assert {f.strip() for f in FORMULAS} <= keys  # the attack reached the export's input

    csv_path = write_csv(document, tmp_path / "stats.csv")
    cells = [line.split(";")[0].strip('"') for line in
             csv_path.read_text(encoding="utf-8-sig").splitlines()[1:]]
    for formula in (f.strip() for f in FORMULAS):
        assert "'" + formula.replace('"', '""') in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)

    xlsx_path = write_xlsx({"commune": document}, tmp_path / "stats.xlsx")
    import openpyxl

    workbook = openpyxl.load_workbook(xlsx_path)
    values = [cell for sheet in workbook.worksheets for row in sheet.iter_rows()
              for cell in row]
    assert not [c.coordinate for c in values if c.data_type == "f"]
    assert {f.strip() for f in FORMULAS} <= {c.value for c in values}
    with zipfile.ZipFile(xlsx_path) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist()
                  if n.startswith("xl/worksheets/")]
    assert not any("<f>" in sheet or "<f " in sheet for sheet in sheets)

