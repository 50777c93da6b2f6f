"""`domus letter`, `domus letters` (one flow run on the session's Prefect server) and
`domus templates` from the command line (CONTRACT.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from domus.cli import cli
from domus.settings import Settings
from tests.builders import petition, write_jsonl
from tests.integration.test_letters import text_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cases(settings: Settings, tmp_path: Path) -> list[str]:
    notices = write_jsonl(tmp_path / "n.jsonl", [
        petition("26A1"), petition("26A2", tenant__language="nl"),
        petition("26A3", tenant__language=None)])
    code, out, _ = run("ingest", str(notices), "--json")
    assert code == 0
    return json.loads(out)["cases"]


def test_one_letter_is_written_registered_and_listed(settings: Settings, cases: list[str],
                                                     tmp_path: Path) -> None:
    out_file = tmp_path / "letters" / "invitation.docx"
    code, out, err = run("letter", cases[0], "--kind", "tenant_invitation", "--out",
                         str(out_file), "--pdf", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["lang"] == "fr" and Path(made["pdf"]).exists()
    text = text_of(out_file.read_bytes())
    assert "El Idrissi" in text and "26A1" in text
    case = json.loads(run("case", cases[0], "--json")[1])
    assert [(x["kind"], x["lang"], x["sha256"]) for x in case["letters"]] == [
        ("tenant_invitation", "fr", made["sha256"])]
    assert {t["kind"]: t["status"] for t in case["tasks"]}["invitation_letter"] == "done"
    code, _, err = run("letter", cases[0], "--kind", "poem", "--out", str(out_file))
    assert code == 2 and "poem" in err


def test_the_batch_writes_each_letter_and_one_file_to_print(settings: Settings,
                                                           cases: list[str],
                                                           tmp_path: Path) -> None:
    code, out, err = run("letters", "--due-before", "2026-11-30", "--out",
                         str(tmp_path / "batch"), "--pdf", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert sorted(x["lang"] for x in result["letters"]) == ["both", "fr", "nl"]
    assert Path(result["print_file"]).exists() and len(result["pdf"]) == 4
    text = text_of(Path(result["print_file"]).read_bytes())
    assert all(docket in text for docket in ("26A1", "26A2", "26A3"))
    again = json.loads(run("letters", "--due-before", "2026-11-30", "--out",
                           str(tmp_path / "again"), "--json")[1])
    assert again["letters"] == [] and again["print_file"] is None


def test_templates_are_exported_replaced_and_rolled_back(settings: Settings, cases: list[str],
                                                          tmp_path: Path) -> None:
    exported = tmp_path / "visit.docx"
    assert run("templates", "export", "visit_notice", "nl", "--out", str(exported))[0] == 0
    assert run("templates", "add", "visit_notice", "nl", str(exported), "--note", "same")[0] == 0
    listed = json.loads(run("templates", "--json")[1])
    assert [(x["version"], x["active"]) for x in listed
            if x["kind"] == "visit_notice"] == [(1, False), (2, True)]
    not_a_template = tmp_path / "notes.docx"
    not_a_template.write_bytes(b"not a zip")
    code, _, err = run("templates", "add", "visit_notice", "nl", str(not_a_template))
    assert code == 2 and "visit_notice" in err and err.count("\n") == 1
    assert run("templates", "activate", "visit_notice", "nl", "1")[0] == 0
