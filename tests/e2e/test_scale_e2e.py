"""The regional set-up end to end, without Docker (issue 7): PostgreSQL databases for Domus
and for Prefect's server, a `prefect server` on 127.0.0.1 backed by PostgreSQL, a process
worker, `domus deploy`, then an intake of a few hundred notices, the same file through the
watched folder, and sweeps, all submitted to the deployments and run by the worker; the
scheduled flows (digest, letters, monthly report) run once as their schedule starts them,
with no parameters. Domus's database and outbox are checked, then everything the test
started is stopped and the databases dropped, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from domain.values import BRUSSELS
from domus.demo_data import generate_notices, write_jsonl
from tests.conftest import POSTGRES_ADMIN_URL

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

BIN = Path(sys.executable).parent  # the environment's `prefect` and `domus`
NOTICES = 300
SWEEP_AT = "2026-11-30T08:00:00"
SERVER_START_SECONDS = 120
RUN_SECONDS = 120


class Clock:
    """Where the time goes: printed at the end (pytest shows it with -s or on failure)."""

    def __init__(self) -> None:
        self.start, self.steps = time.monotonic(), []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.steps.append((name, time.monotonic() - began))

    def report(self) -> str:
        lines = [f"  {seconds:6.1f} s  {name}" for name, seconds in self.steps]
        return "\n".join(["time spent:", *lines,
                          f"  {time.monotonic() - self.start:6.1f} s  in all"])


class Stack:
    """The processes the test started, the environments they get, and their logs."""

    def __init__(self, tmp: Path, domus_db: str, prefect_db: str) -> None:
        self.tmp, self.marker = tmp, uuid.uuid4().hex
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        admin = make_url(POSTGRES_ADMIN_URL)
        self.domus_url = admin.set(database=domus_db).render_as_string(hide_password=False)
        self.prefect_url = admin.set(drivername="postgresql+asyncpg", database=prefect_db
                                     ).render_as_string(hide_password=False)
        self.data = tmp / "data"
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.clock = Clock()

    def env(self, home: str, **extra: str) -> dict[str, str]:
        """The environment without the test session's own Prefect and Domus settings."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DOMUS_"))}
        return base | {"PREFECT_HOME": str(self.tmp / home), "E2E_MARKER": self.marker,
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"} | extra

    def domus_env(self, home: str = "client") -> dict[str, str]:
        return self.env(home, PREFECT_API_URL=self.api, DOMUS_DATABASE_URL=self.domus_url,
                        DOMUS_DATA_DIR=str(self.data), PREFECT_WORKER_QUERY_SECONDS="1",
                        PREFECT_LOGGING_LEVEL="WARNING")

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=_default_interrupt)
        self.processes.append((name, process))
        return process

    def log(self, name: str, lines: int = 40) -> str:
        path = self.tmp / f"{name}.log"
        tail = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
        return f"--- {name}.log ---\n" + "\n".join(tail)

    def stop(self) -> None:
        """Terminate each process group, kill what is left after 20 s, then anything still
        carrying this test's marker (a flow run's subprocess outside the groups)."""
        for _, process in reversed(self.processes):
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for pid in marked_processes(self.marker):
            os.kill(pid, signal.SIGKILL)


def _default_interrupt() -> None:
    """Ctrl-C's default in the child, even when this test runs in a background job (which
    ignores SIGINT): Prefect's worker turns SIGTERM into SIGINT to stop."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


def marked_processes(marker: str) -> list[int]:
    """Our own processes whose environment carries `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"E2E_MARKER={marker}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone, or not ours
            continue
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def databases(*names: str) -> Iterator[None]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:10]
    with databases(f"domus_e2e_{suffix}", f"prefect_e2e_{suffix}"):
        stack = Stack(tmp_path, f"domus_e2e_{suffix}", f"prefect_e2e_{suffix}")
        try:
            with stack.clock.step("prefect server start (migrations on PostgreSQL)"):
                start_server(stack)
            yield stack
        finally:
            with stack.clock.step("stopping the worker and the server"):
                stack.stop()
            print(stack.clock.report())
    assert not marked_processes(stack.marker), "a process of the test outlived it"


def start_server(stack: Stack) -> None:
    server = stack.start("server", [str(BIN / "prefect"), "server", "start", "--host",
                                    "127.0.0.1", "--port", str(stack.port)], stack.env(
        "server", PREFECT_API_DATABASE_CONNECTION_URL=stack.prefect_url,
        PREFECT_SERVER_DATABASE_MIGRATE_ON_START="true", PREFECT_UI_ENABLED="false",
        # no scheduled runs during the test: it submits every run itself
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false"))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited with {server.returncode}\n{stack.log('server')}")
        try:
            if httpx.get(f"{stack.api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after {SERVER_START_SECONDS} s\n"
                f"{stack.log('server')}")


def domus(stack: Stack, *args: str) -> tuple[int, Any, str]:
    """`domus ARGS --json` in a subprocess: exit status, the JSON on stdout, stderr."""
    done = subprocess.run([str(BIN / "domus"), *args, "--json"], env=stack.domus_env(),
                          capture_output=True, text=True, timeout=RUN_SECONDS + 60,
                          cwd=stack.tmp)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, \
        done.stderr


def api(stack: Stack, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{stack.api}{path}", json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def scalar(url: str, query: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


def test_a_region_runs_intake_and_sweeps_on_a_prefect_server_with_a_worker(
        stack: Stack) -> None:
    clock = stack.clock
    with clock.step("domus deploy, twice"):
        code, first, err = domus(stack, "deploy")
        assert code == 0, err
        code, again, err = domus(stack, "deploy")
        assert code == 0, err
    assert [d["deployment"] for d in first] == [
        "intake/domus-intake", "sweep/domus-sweep", "digest/domus-digest",
        "letters/domus-letters", "monthly-report/domus-monthly-report",
        "retention/domus-retention"]
    assert [d["id"] for d in again] == [d["id"] for d in first]  # updated, not duplicated
    deployments = api(stack, "/deployments/filter")
    assert sorted((d["name"], len(d["schedules"])) for d in deployments) == [
        ("domus-digest", 1), ("domus-intake", 0), ("domus-letters", 1),
        ("domus-monthly-report", 1), ("domus-retention", 1), ("domus-sweep", 1)]

    with clock.step("worker start"):
        stack.start("worker", [str(BIN / "prefect"), "worker", "start", "--pool", "domus",
                                "--type", "process"], stack.domus_env("worker"))
    notices = stack.data / "incoming" / "notices.jsonl"
    notices.parent.mkdir(parents=True)
    write_jsonl(generate_notices(NOTICES, seed=7, start=date(2026, 11, 2), days=20), notices)

    with clock.step(f"domus ingest of {NOTICES} notices on the worker"):
        code, summary, err = domus(stack, "ingest", str(notices), "--now",
                                   "2026-11-23T09:00:00")
    assert code in (0, 3), f"{err}\n{stack.log('worker')}"
    assert summary["received"] == NOTICES
    assert summary["created"] + summary["updated"] + summary["duplicates"] + len(
        summary["quarantined"]) == NOTICES
    assert code == (3 if summary["quarantined"] else 0)
    check_database(stack.domus_url, summary)

    with clock.step("the same file through the watched folder, on the worker"):
        watched = stack.data / "watch"
        watched.mkdir()
        (watched / "again.jsonl").write_bytes(notices.read_bytes())
        os.utime(watched / "again.jsonl", (time.time() - 60, time.time() - 60))
        code, outcomes, err = domus(stack, "watch", str(watched), "--once")
    assert code in (0, 3), err
    assert [(o["file"], o["status"]) for o in outcomes] == [("again.jsonl", "done")]
    assert (watched / "done" / "again.jsonl").exists()
    again_summary = outcomes[0]["summary"]
    assert (again_summary["received"], again_summary["created"], again_summary["updated"]) == (
        NOTICES, 0, 0)
    check_database(stack.domus_url, summary)  # nothing doubled

    with clock.step("domus sweep, twice for the same moment, on the worker"):
        code, report, err = domus(stack, "sweep", "--now", SWEEP_AT)
        assert code == 0, err
        code, repeat, err = domus(stack, "sweep", "--now", SWEEP_AT)
        assert code == 0, err
    assert report["now"] == SWEEP_AT and report["notifications"] > 0
    assert repeat["notifications"] == 0
    url = stack.domus_url
    assert scalar(url, "SELECT count(*) FROM outbox") == report["notifications"]
    assert scalar(url, "SELECT count(DISTINCT key) FROM outbox") == report["notifications"]

    with clock.step("digest, letters and monthly report as their schedules start them"):
        runs = {name: start_run(stack, f"{name}/domus-{name}")
                for name in ("digest", "letters", "monthly-report")}
        states = {name: wait_for_run(stack, run) for name, run in runs.items()}
    assert states == dict.fromkeys(runs, "COMPLETED"), stack.log("worker", 80)
    today = datetime.now(BRUSSELS).date()
    assert list((stack.data / "letters" / "batch" / f"{today}").glob("print-*.docx"))
    last_month = f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"
    reports = list((stack.data / "reports" / last_month).glob("*.json"))
    assert len(reports) == scalar(url, "SELECT count(DISTINCT ocmw) FROM cases "
                                       "WHERE ocmw IS NOT NULL")

    intake_runs = api(stack, "/flow_runs/filter", {"deployments": {"id": {
        "any_": [first[0]["id"]]}}})
    assert sorted(run["state_type"] for run in intake_runs) == ["COMPLETED", "COMPLETED"]


def check_database(url: str, summary: dict[str, Any]) -> None:
    """One case per procedure, one task per (case, kind), one notice per fingerprint, one
    receipt per record received."""
    assert scalar(url, "SELECT count(*) FROM receipts") == NOTICES
    assert scalar(url, "SELECT count(*) FROM cases") == summary["created"]
    assert scalar(url, "SELECT count(DISTINCT court || '/' || docket_number) FROM cases") \
        == summary["created"]
    assert scalar(url, "SELECT count(*) FROM notices") == summary["created"] + summary[
        "updated"]
    assert scalar(url, "SELECT count(DISTINCT fingerprint) FROM notices") == summary[
        "created"] + summary["updated"]
    tasks = scalar(url, "SELECT count(*) FROM tasks")
    assert tasks > summary["created"]
    assert scalar(url, "SELECT count(*) FROM (SELECT DISTINCT case_id, kind FROM tasks) t") \
        == tasks
    assert scalar(url, "SELECT count(*) FROM quarantine") == len(summary["quarantined"])


def start_run(stack: Stack, name: str) -> str:
    """A run of deployment `name` with no parameters, as its schedule makes one."""
    flow, deployment = name.split("/")
    found = httpx.get(f"{stack.api}/deployments/name/{flow}/{deployment}", timeout=30)
    found.raise_for_status()
    return str(api(stack, f"/deployments/{found.json()['id']}/create_flow_run")["id"])


def wait_for_run(stack: Stack, run_id: str) -> str:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run = httpx.get(f"{stack.api}/flow_runs/{run_id}", timeout=30).json()
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return str(run["state_type"])
        time.sleep(0.5)
    return "TIMED OUT"
