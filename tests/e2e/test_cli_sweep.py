"""Users, tasks, contacts, the sweep, the calendar and `domus serve` from the command line
(CONTRACT.md), with real flow runs on the session's Prefect server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import icalendar
import pytest
from click.testing import CliRunner

from domus.cli import cli
from domus.settings import Settings
from tests.builders import petition, write_jsonl
from tests.smtp_server import SmtpServer, free_port

pytestmark = pytest.mark.usefixtures("prefect_server")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def add_team(tmp_path: Path) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text("correct horse battery staple\n", encoding="utf-8")
    assert run("users", "add", "an@ocmw.be", "--name", "An Peeters", "--role", "caseworker",
               "--ocmw", "21015", "--lang", "nl", "--password-file", str(secret))[0] == 0
    code, _, err = run("users", "add", "lea@ocmw.be", "--name", "Léa Dubois", "--role",
                       "team_lead", "--ocmw", "21015", "--lang", "fr")
    assert code == 0 and "has no password yet" in err


@pytest.fixture
def cases(settings: Settings, tmp_path: Path) -> list[str]:
    add_team(tmp_path)
    notices = write_jsonl(tmp_path / "n.jsonl", [
        petition("26A1"), petition("26A2", hearing_at="2026-11-27T09:30:00")])
    code, out, _ = run("ingest", str(notices), "--json")
    assert code == 0
    return json.loads(out)["cases"]


def test_users_add_list_and_token(settings: Settings, tmp_path: Path) -> None:
    add_team(tmp_path)
    code, out, _ = run("users", "--json")
    assert code == 0
    assert [(u["email"], u["role"], u["ocmw"], u["language"]) for u in json.loads(out)] == [
        ("an@ocmw.be", "caseworker", "21015", "nl"), ("lea@ocmw.be", "team_lead", "21015", "fr")]
    code, token, _ = run("users", "token", "an@ocmw.be")
    assert code == 0 and len(token.strip()) >= 40 and "\n" not in token.strip()
    code, _, err = run("users", "add", "m@region.brussels", "--name", "M", "--role", "monitor",
                       "--ocmw", "21015")
    assert code == 2 and err.strip().count("\n") == 0 and "--ocmw" in err
    assert run("users", "add", "m@region.brussels", "--name", "Mo", "--role", "monitor",
               stdin="")[0] == 0
    code, _, err = run("users", "token", "nobody@ocmw.be")
    assert code == 2 and "no user 'nobody@ocmw.be'" in err


def test_a_password_can_come_from_stdin_but_never_from_the_command_line(
        settings: Settings) -> None:
    from domus.bootstrap import bootstrap
    from services.users import verify_password

    code, _, err = run("users", "add", "an@ocmw.be", "--name", "An", "--role", "caseworker",
                       "--ocmw", "21015", stdin="a long enough secret\n")
    assert code == 0 and "no password" not in err
    with bootstrap(settings).engine.connect() as connection:
        assert verify_password(connection, "an@ocmw.be", "a long enough secret")
        assert verify_password(connection, "an@ocmw.be", "wrong password!!") is None
    assert run("users", "add", "bo@ocmw.be", "--name", "Bo", "--role", "caseworker",
               "--ocmw", "21015", "--password", "x")[0] == 2  # no such option


def test_sweep_twice_for_the_same_now_sends_nothing_twice(settings: Settings,
                                                          cases: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer() as server:
        monkeypatch.setenv("DOMUS_SMTP_URL", server.url)
        code, out, _ = run("sweep", "--now", "2026-11-23T09:00", "--json")
        assert code == 0
        first = json.loads(out)
        code, out, _ = run("sweep", "--now", "2026-11-23T09:00", "--json")
        second = json.loads(out)
        messages = list(server.messages)
    assert first["at_risk"] == 1 and first["escalated"] > 0
    assert first["notifications"] == first["delivery"]["sent"] == len(messages) > 0
    assert second["notifications"] == second["delivery"]["sent"] == 0
    code, out, _ = run("cases", "--flag", "--json")
    assert [c["docket_number"] for c in json.loads(out)
            if any(f["code"] == "at_risk" for f in c["flags"])] == ["26A2"]
    code, out, _ = run("outbox", "--json")
    assert {row["status"] for row in json.loads(out)} == {"sent"}


def test_contact_closes_moot_tasks_and_clears_at_risk(settings: Settings,
                                                      cases: list[str]) -> None:
    run("sweep", "--now", "2026-11-23T09:00")
    case_id = next(c for c in cases if "at_risk" in [
        f["code"] for f in json.loads(run("case", c, "--json")[1])["flags"]])
    code, out, _ = run("contact", case_id, "--channel", "home_visit", "--result", "reached",
                       "--at", "2026-11-20T10:15", "--note", "payment plan agreed", "--json")
    assert code == 0
    recorded = json.loads(out)
    assert recorded["effective"] and recorded["at_risk_cleared"]
    case = json.loads(run("case", case_id, "--json")[1])
    assert case["contacts"][0] | {"id": 0} == {
        "id": 0, "channel": "home_visit", "result": "reached", "at": "2026-11-20T10:15:00",
        "note": "payment plan agreed", "recorded_by": "local operator", "effective": True}
    assert "at_risk" not in [f["code"] for f in case["flags"]]
    status = {task["kind"]: task["status"] for task in case["tasks"]}
    assert status["first_contact"] == status["home_visit"] == "done"
    code, _, err = run("contact", case_id, "--channel", "pigeon", "--result", "reached")
    assert code == 2 and "pigeon" in err


def test_tasks_are_listed_done_reassigned_and_cancelled(settings: Settings,
                                                        cases: list[str]) -> None:
    code, out, _ = run("tasks", "--assignee", "an@ocmw.be", "--json")
    mine = json.loads(out)
    assert code == 0 and mine and {t["assignee"] for t in mine} == {"an@ocmw.be"}
    first, second, third = (task["id"] for task in mine[:3])
    assert json.loads(run("task", "done", str(first), "--json")[1])["status"] == "done"
    code, out, _ = run("task", "assign", str(second), "lea@ocmw.be", "--json")
    assert code == 0 and json.loads(out)["assignee"] == "lea@ocmw.be"
    assert json.loads(run("task", "assign", str(second), "--queue", "--json")[1])[
        "assignee"] is None
    assert json.loads(run("task", "cancel", str(third), "--json")[1])["status"] == "cancelled"
    code, _, err = run("task", "done", "999999")
    assert code == 1 and "task 999999 not found" in err


def test_calendar_file_has_the_users_deadlines_with_stable_uids(
        settings: Settings, cases: list[str], tmp_path: Path) -> None:
    out_file = tmp_path / "an.ics"
    code, out, _ = run("calendar", "an@ocmw.be", "--out", str(out_file))
    assert code == 0 and "events" in out
    first = icalendar.Calendar.from_ical(out_file.read_bytes())
    uids = sorted(str(e["UID"]) for e in first.walk("VEVENT"))
    assert any(uid.startswith("hearing-") for uid in uids)
    assert any(uid.startswith("task-") for uid in uids)
    run("calendar", "an@ocmw.be", "--out", str(out_file))
    again = icalendar.Calendar.from_ical(out_file.read_bytes())
    assert sorted(str(e["UID"]) for e in again.walk("VEVENT")) == uids
    code, _, err = run("calendar", "nobody@ocmw.be", "--out", str(out_file))
    assert code == 2


def test_digest_command(settings: Settings, cases: list[str]) -> None:
    code, out, _ = run("digest", "--now", "2026-11-23T07:30", "--json")
    assert code == 0 and json.loads(out)["digests"] == 1
    code, out, _ = run("digest", "--now", "2026-11-28T07:30", "--json")  # a Saturday
    assert json.loads(out)["digests"] == 0


def _domus(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "domus", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.postgres
def test_two_sweep_commands_at_once_on_postgresql(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import _postgres_database

    database = _postgres_database()
    url = next(database)
    try:
        monkeypatch.setenv("DOMUS_DATABASE_URL", url)
        monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
        add_team(tmp_path)
        notices = [petition(f"26A{n}", hearing_at="2026-11-27T09:30:00") for n in range(30)]
        assert run("ingest", str(write_jsonl(tmp_path / "n.jsonl", notices)))[0] == 0
        with SmtpServer() as server:
            env = {**os.environ, "DOMUS_SMTP_URL": server.url}
            sweeps = [_domus("sweep", "--now", "2026-11-23T09:00", "--json", env=env)
                      for _ in range(2)]
            results = [process.communicate(timeout=300) for process in sweeps]
            messages = list(server.messages)
        reports = [json.loads(out) for out, _ in results]
        assert [p.returncode for p in sweeps] == [0, 0], [err for _, err in results]
        written = sum(r["notifications"] for r in reports)
        sent = sum(r["delivery"]["sent"] for r in reports)
        assert written == sent == len(messages) > 60
        assert len({m["Message-ID"] for m in messages}) == len(messages)
    finally:
        next(database, None)


def test_serve_runs_the_sweep_and_serves_the_calendar_feed(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMUS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    add_team(tmp_path)
    notices = write_jsonl(tmp_path / "n.jsonl", [petition("26A1")])
    assert run("ingest", str(notices))[0] == 0
    feed = run("users", "calendar-url", "an@ocmw.be")[1].strip()
    port = free_port()
    env = {**os.environ, "DOMUS_BASE_URL": f"http://127.0.0.1:{port}"}
    server = _domus("serve", "--port", str(port), env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "domus serve did not answer"
            time.sleep(0.5)
        path = feed.split(str(8000), 1)[-1] if ":8000" in feed else feed.split(str(port))[-1]
        answer = httpx.get(f"{base}{path}", timeout=30)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/calendar")
        assert b"BEGIN:VCALENDAR" in answer.content
        assert httpx.get(f"{base}/calendar/not-a-token.ics", timeout=30).status_code == 404
        while not json.loads(run("outbox", "--json")[1]):  # the first sweep runs at start
            assert time.monotonic() < deadline, "the scheduler ran no sweep"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_serve_with_two_processes_answers_from_both_and_stops_them(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`domus serve --processes 2`: two web processes share the port, the scheduler runs
    once (in the parent), and stopping the server stops them both."""
    monkeypatch.setenv("DOMUS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    port = free_port()
    server = _domus("serve", "--port", str(port), "--processes", "2", env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while len(_web_children(server.pid)) < 2 or not _answers(f"{base}/healthz"):
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "domus serve --processes 2 did not answer"
            time.sleep(0.5)
        children = _web_children(server.pid)
        assert len(children) == 2
        for _ in range(20):  # new connections each time: the kernel spreads them
            page = httpx.get(f"{base}/login", timeout=30)
            assert page.status_code == 200 and "csrf_token" in page.text
    finally:
        server.terminate()
        server.communicate(timeout=60)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _web_children(parent: int) -> list[int]:
    """The processes `domus serve` started to serve the web app."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"multiprocessing" in command \
                and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found
