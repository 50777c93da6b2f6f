"""The command line of CONTRACT.md, end to end: real flow runs on the session's Prefect
server, a fresh database per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from domus.cli import cli
from domus.settings import Settings
from tests.builders import judgment, petition, write_jsonl

pytestmark = pytest.mark.usefixtures("prefect_server")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "batch.jsonl", [
        petition("26A1"),
        petition("26A1", received_on="2026-11-04"),
        petition("26A2", dwelling__postcode="1050", dwelling__municipality="Evere"),
        petition("26A3", received_on="2026-02-30"),
        judgment("26A1"),
    ])


def test_ingest_prints_the_contract_summary_and_exits_3_on_quarantine(
    settings: Settings, batch: Path
) -> None:
    code, out, _ = run("ingest", str(batch), "--json")

    summary = json.loads(out)
    assert code == 3
    assert {k: summary[k] for k in ("received", "created", "updated", "duplicates",
                                     "triage")} == {"received": 5, "created": 2, "updated": 1,
                                                    "duplicates": 1, "triage": 1}
    assert summary["quarantined"][0] | {"reason": ""} == {
        "file": str(batch.resolve()), "record": 4, "line": 4, "field": "received_on",
        "reason": "", "errors": summary["quarantined"][0]["errors"]}
    assert len(summary["cases"]) == 2


def test_case_json_has_the_contract_shape(settings: Settings, batch: Path) -> None:
    _, out, _ = run("ingest", str(batch), "--json")
    case_id = json.loads(out)["cases"][0]

    code, out, _ = run("case", case_id, "--json")

    case = json.loads(out)
    assert code == 0
    assert {"id", "ocmw", "court", "docket_number", "tenant", "dwelling", "status",
            "hearing_at", "earliest_eviction_on", "eviction_at", "flags", "tasks", "contacts",
            "letters", "referrals", "outcome", "notices"} <= set(case)
    assert case["ocmw"] == "21015"
    assert set(case["tenant"]) >= {"first_name", "last_name", "language"}
    assert set(case["dwelling"]) >= {"street", "number", "postcode", "municipality"}
    assert {"id", "kind", "due_on", "status", "assignee"} <= set(case["tasks"][0])
    assert [n["kind"] for n in case["notices"]] == ["petition", "judgment"]


def test_cases_and_tasks_list_what_intake_made(settings: Settings, batch: Path) -> None:
    run("ingest", str(batch))

    _, out, _ = run("cases", "--json", "--status", "triage")
    assert [c["docket_number"] for c in json.loads(out)] == ["26A2"]
    _, out, _ = run("tasks", "--json", "--due-before", "2026-11-05")
    assert {t["kind"] for t in json.loads(out)} == {"invitation_letter"}
    code, out, _ = run("tasks")
    assert code == 0 and "first_contact" in out


def test_a_quarantined_record_is_listed_corrected_and_reingested(
    settings: Settings, batch: Path
) -> None:
    run("ingest", str(batch))
    _, out, _ = run("quarantine", "--json")
    [entry] = json.loads(out)

    code, out, _ = run("quarantine", "fix", str(entry["id"]), "--set",
                       "received_on=2026-11-03", "--json")

    assert code == 0 and json.loads(out)["created"] == 1
    _, out, _ = run("quarantine", "--json")
    assert json.loads(out) == []


def test_a_missing_file_is_one_clear_line_and_exit_2(settings: Settings, tmp_path: Path) -> None:
    code, out, err = run("ingest", str(tmp_path / "nope.jsonl"))

    assert code == 2 and out == ""
    assert err.strip() == f"domus: {tmp_path / 'nope.jsonl'}: no such file"


def test_an_unknown_case_is_one_line_and_exit_1(settings: Settings) -> None:
    code, _, err = run("case", "doesnotexist")

    assert code == 1
    assert err.strip() == "domus: case doesnotexist not found"


def test_schema_notice_prints_the_json_schema() -> None:
    code, out, _ = run("schema", "notice")

    schema = json.loads(out)
    assert code == 0
    assert {"kind", "court", "docket_number", "tenant", "dwelling"} <= set(schema["properties"])


def test_the_installed_domus_command_ingests_a_file(settings: Settings, batch: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "domus", "ingest", str(batch), "--json"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=300, check=False,
    )

    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["received"] == 5


def test_the_demo_generates_ingests_and_says_where_to_look(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    code, out, _ = run("demo", "--notices", "40")

    assert code == 0, out
    assert "received 40:" in out
    assert "quarantined" in out and "triage" in out
    assert "domus case " in out
    assert "== The web app" in out and "monitor@region.demo" in out
    logins = (settings.data_dir / "demo" / "logins.txt")
    assert logins.stat().st_mode & 0o777 == 0o600 and "password" in logins.read_text()
    _check_demo_login(settings, logins.read_text())
    assert (settings.data_dir / "demo" / "notices-2026.csv").exists()
    assert "== A simulated month" in out and "e-mails delivered over SMTP" in out
    assert "== Letters (one flow run)" in out and "tenant_invitation" in out
    assert list((settings.data_dir / "demo" / "letters").glob("print-*.pdf"))
    assert "== Contact versus outcome" in out and "Total" in out
    assert (settings.data_dir / "demo" / "stats" / "contact-vs-outcome.xlsx").exists()
    assert (settings.data_dir / "demo" / "stats" / "funnel.png").exists()
    mails = list((settings.data_dir / "demo" / "mail").glob("*.eml"))
    assert mails and f"e-mails delivered over SMTP: {len(mails)} " in out
    first_ids = {_message_id(path) for path in mails}
    code, out, _ = run("demo", "--notices", "40")  # again: nothing is sent twice
    again = list((settings.data_dir / "demo" / "mail").glob("*.eml"))
    assert code == 0 and not first_ids & {_message_id(path) for path in again}


def _check_demo_login(settings: Settings, logins: str) -> None:
    """The password in logins.txt opens the web app for the monitor it lists."""
    from domus.bootstrap import bootstrap
    from services.users import verify_password

    password = logins.splitlines()[0].rsplit(" ", 1)[1]
    with bootstrap(settings).engine.connect() as connection:
        user = verify_password(connection, "monitor@region.demo", password)
    assert user is not None and user.role == "monitor"


def _message_id(path: Path) -> str:
    from email import message_from_bytes

    return message_from_bytes(path.read_bytes())["Message-ID"]


def test_a_large_file_is_ingested_by_two_worker_processes(
    settings: Settings, tmp_path: Path
) -> None:
    from datetime import date, datetime

    from domus.bootstrap import bootstrap, run_flow
    from domus.demo_data import generate_notices
    from domus.demo_data import write_jsonl as write_demo
    from workflows.intake import intake_flow

    path = tmp_path / "large.jsonl"
    write_demo(generate_notices(300, seed=5, start=date(2026, 9, 1), days=90), path)

    result = run_flow(intake_flow, paths=[str(path)], now=datetime(2026, 11, 23, 9),
                      workers=2, parallel_from_bytes=0)

    assert result["received"] == 300
    with bootstrap(settings).engine.connect() as connection:
        from sqlalchemy import select

        from store.tables import batches

        sources = sorted(connection.scalars(select(batches.c.source)))
    assert sources == [f"{path} (partition 1 of 2)", f"{path} (partition 2 of 2)"]
