"""`domus outcome`, `reopen`, `import-events`, `programmes`, `refer`, `referral`, `stats`
and `report` from the command line (CONTRACT.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from domus.cli import cli
from domus.settings import Settings
from tests.builders import petition, write_jsonl

pytestmark = pytest.mark.usefixtures("prefect_server")
COURT = "Vredegerecht Schaarbeek"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cases(settings: Settings, tmp_path: Path) -> list[str]:
    notices = [petition(f"26A{n}", received_on=f"2026-10-{1 + n % 28:02d}",
                        tenant__language=("fr", "nl")[n % 2]) for n in range(24)]
    code, out, _ = run("ingest", str(write_jsonl(tmp_path / "n.jsonl", notices)), "--json")
    assert code == 0
    return json.loads(out)["cases"]


def test_outcome_reopen_and_their_errors(settings: Settings, cases: list[str]) -> None:
    code, out, _ = run("outcome", cases[0], "--code", "rehoused", "--at", "2026-11-20", "--json")
    assert code == 0 and json.loads(out) | {"cancelled_tasks": []} == {
        "case_id": cases[0], "code": "rehoused", "on": "2026-11-20", "solution": True,
        "cancelled_tasks": []}
    assert json.loads(run("case", cases[0], "--json")[1])["outcome"] == {
        "code": "rehoused", "on": "2026-11-20"}
    code, _, err = run("outcome", cases[0], "--code", "evicted")
    assert code == 2 and "reopen it first" in err and err.count("\n") == 1
    assert run("reopen", cases[0], "--reason", "typo")[0] == 0
    code, _, err = run("outcome", cases[1], "--code", "evicted", "--at", "2026-01-01")
    assert code == 2 and "before the case's first notice" in err


def test_import_events_with_quarantine_exits_3(settings: Settings, cases: list[str],
                                               tmp_path: Path) -> None:
    rows = [{"court": COURT, "docket_number": "26A1", "type": "contact",
             "at": "2026-11-05T10:00", "channel": "phone", "result": "reached"},
            {"court": COURT, "docket_number": "26A1", "type": "outcome", "at": "2026-11-19",
             "code": "kept_payment_plan"},
            {"court": COURT, "docket_number": "nope", "type": "contact", "at": "2026-11-05",
             "channel": "phone", "result": "reached"}]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = run("import-events", str(path), "--json")
    summary = json.loads(out)
    assert code == 3 and (summary["contacts"], summary["outcomes"]) == (1, 1)
    assert summary["quarantined"][0] | {"reason": ""} == {
        "file": str(path), "record": 3, "line": 3, "field": "docket_number", "reason": ""}


def test_programmes_refer_and_referral(settings: Settings, cases: list[str]) -> None:
    code, out, _ = run("programmes", "--json")
    directory = json.loads(out)
    assert code == 0 and {"id", "name", "kind", "languages"} <= set(directory[0])
    assert {p["kind"] for p in directory} >= {"housing_first", "housing_capture",
                                              "emergency_shelter", "tenants_union"}
    housing_first = json.loads(run("programmes", "--kind", "housing_first", "--json")[1])
    assert housing_first and {p["kind"] for p in housing_first} == {"housing_first"}
    code, out, _ = run("refer", cases[2], "--to", "stepforward", "--reason", "shelter",
                       "--json")
    made = json.loads(out)
    assert code == 0 and made["status"] == "sent"
    code, out, _ = run("referral", str(made["id"]), "--status", "housed", "--json")
    assert json.loads(out) | {"case_id": ""} == {"id": made["id"], "programme": "stepforward",
                                                 "status": "housed", "case_id": "",
                                                 "suggested_outcome": "rehoused"}
    case = json.loads(run("case", cases[2], "--json")[1])
    assert case["referrals"][0] | {"reason": "", "created_at": "", "updated_at": ""} == {
        "id": made["id"], "programme": "stepforward", "status": "housed", "reason": "",
        "created_at": "", "updated_at": ""}


def test_stats_in_every_format_and_the_report_merge(settings: Settings, cases: list[str],
                                                   tmp_path: Path) -> None:
    for n, case_id in enumerate(cases[:16]):
        if n % 2 == 0:
            run("contact", case_id, "--channel", "home_visit", "--result", "reached",
                "--at", "2026-11-10T10:00")
        run("outcome", case_id, "--code", ("kept_payment_plan", "evicted")[n % 4 == 3],
            "--at", "2026-11-20")
    code, out, _ = run("stats", "--by", "ocmw", "--json", "--min-cell", "1")
    document = json.loads(out)
    assert code == 0
    total = document["total"]
    assert (total["cases"], total["pending"], total["with_contact"],
            total["without_contact"]) == (24, 8, 8, 8)
    assert total["solved_with_contact"] == 8 and total["solved_without_contact"] == 4
    assert total["rate_with_contact"] == 1.0 and total["rate_without_contact"] == 0.5
    suppressed = json.loads(run("stats", "--json")[1])
    assert suppressed["min_cell"] == 5
    text = json.dumps(suppressed)
    assert "El Idrissi" not in text and "26A1" not in text and "Josaphat" not in text
    assert run("stats", "--by", "month")[0] == 0
    for fmt in ("csv", "xlsx"):
        target = tmp_path / f"stats.{fmt}"
        code, _, err = run("stats", "--format", fmt, "--out", str(target), "--charts",
                           str(tmp_path / "charts"))
        assert code == 0 and target.stat().st_size > 0, err
    assert sorted(p.suffix for p in (tmp_path / "charts").iterdir()) .count(".png") >= 3
    code, _, err = run("stats", "--format", "csv")
    assert code == 2 and "--out" in err
    report = tmp_path / "report.json"
    code, out, err = run("report", "--month", "2026-10", "--out", str(report))
    assert code == 0, err
    document = json.loads(report.read_text())
    assert document["format"] == "domus-report/1" and document["ocmw"] == "21015"
    assert "El Idrissi" not in report.read_text()
    merged = tmp_path / "region.json"
    code, _, err = run("report", "merge", str(report), "--out", str(merged), "--min-cell", "1")
    assert code == 0, err
    assert json.loads(merged.read_text())["total"]["cases"] == 24
    code, _, err = run("report", "merge", str(report), str(report), "--out", str(merged))
    assert code == 2 and "report merge" in err
    code, _, err = run("report", "--month", "2026-13", "--out", str(report))
    assert code == 2 and "--month" in err
