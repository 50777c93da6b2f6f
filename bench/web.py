"""Web benchmark: 20 logged-in caseworkers on *My tasks* and *Case* among 100,000 cases.

    python -m bench.web [--cases 100000] [--open-share 0.3] [--workers 1,2]
                        [--database sqlite|postgresql|both] [--clients 20]
                        [--duration 30] [--warmup 5] [--case-share 0.5]
                        [--client asyncio|httpx|wrk] [--max-requests 200000]
                        [--scratch DIR] [--postgres-url URL] [--profile DIR] [--json]

A fresh database (a SQLite file in a temporary folder, or a PostgreSQL database of its own
on 127.0.0.1:5432, dropped afterwards) is migrated and filled by bulk inserts (not through
intake): 19 Brussels OCMWs with 10 caseworkers and a team lead each, `--cases` cases, each
with its notice (and raw receipt), 4-8 tasks (6 on average), 0-4 contacts with their
history events, and some flags, letters and referrals. `--open-share` of the cases are
open (0.3, as in bench/stats.py where about 70% have an outcome: 158 open cases and ~950
open tasks a caseworker); the others have an outcome and their tasks are done. `1` makes
every case open, as bench/sweep.py does: 526 open cases and ~3,150 open tasks a
caseworker, so My tasks always shows its full 200 rows (the worst case). Open tasks fall
due over the next 120 days, 1% today or in the last 10 days. The `--clients` caseworkers
(one per OCMW, then a second one) get a password through services.users.add_user. With
`--scratch DIR` the SQLite file is kept there and reused by the next run of the same size.

The app runs as `domus serve` runs it: uvicorn in a process of its own on 127.0.0.1 and a
free port, `create_app(bootstrap())` with the real clock, the start-up heap settled, log
level warning, no access log; without the scheduler (a sweep would disturb the
measurement). `--workers 2` runs two uvicorn worker processes, each building the app
(the listening socket made here: uvicorn's own `--workers` socket leaves Nagle on and adds
~40 ms to every keep-alive request, uvicorn issue 3149). Each client logs in through the
real log-in form (GET /login for the CSRF cookie and token, POST /login) and keeps its own
session cookie; then, in a closed loop (the next request when the previous one is answered,
on one keep-alive connection), it asks a fixed random mix of My tasks (`GET /tasks`) and
Case pages (`GET /cases/{id}`): 70% its own open cases, 30% other cases of its OCMW.
Nothing is recorded during `--warmup` seconds, then `--duration` seconds are measured (at
most `--max-requests` requests). The floor is the same 20 clients asking `GET /healthz`
(no session, no database, no template) for `--floor-duration` seconds.

Printed per page: requests, throughput, p50, p95, p99 and max latency, errors (any answer
but 200); per run the server's RSS (all its processes) before and after the load, and the
CPU the server and the load generator spent per request (PostgreSQL's own processes are
not counted). Ratios: each page's p95 against the 100 ms target (issue 6) and against the
floor's p95. Every Case view must leave its audit row: the `view` rows written during the
run are checked against the Case answers (the warm-up's views are written too).

`--client` picks the load generator: `asyncio` (default: hand-written HTTP/1.1 on asyncio
streams, per-page figures), `httpx` (httpx.AsyncClient, per-page figures) or `wrk`
(Debian's wrk, installed when missing, with a Lua script: one thread and connection a
client, each with its cookie and paths; wrk has no per-path latency, so it reports the mix
as a whole). Client CPU per request on this machine: asyncio 0.15-0.25 ms, wrk 0.27 ms
(0.06 ms on /healthz), httpx 2.1 ms: httpx would take a tenth of a core from the server.
`--profile DIR` samples the server's processes with py-spy (`--gil`: the thread holding
the GIL; pip install py-spy, or PY_SPY=path) during the run and prints the functions on the
stack most often.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select, text

from bench.scratch import scratch_database
from domain.case import case_id_for
from domain.playbook import TASK_KINDS
from domain.routing import OCMWS as COMMUNES
from store import tables as t
from store.db import create_database_engine, migrate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OCMWS = tuple(str(code) for code in range(21001, 21020))  # the 19 Brussels OCMWs
CASEWORKERS = 10  # per OCMW, and one team lead
TASKS_PER_CASE = (4, 8)  # 6 on average, distinct kinds
DUE_SHARE = 0.01  # of the open tasks: due today or in the last 10 days
UNASSIGNED_SHARE = 0.02  # of the tasks: in the team queue
CHUNK = 5_000  # cases per bulk insert
PASSWORD = "correct horse battery staple"
SECRET_KEY = "bench-web-secret-key-" + "0" * 32
TARGET_P95_MS = 100.0
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIRST_NAMES = ("Rosa", "Dirk", "Zeynep", "Mohamed", "Marie", "Jan", "Fatima", "Luc", "Ana",
               "Karim", "Sofie", "Ibrahim", "Nathalie", "Pieter", "Aicha", "Jean-Pierre")
LAST_NAMES = ("Fernández", "Verstraeten", "Aydin", "El Amrani", "Dubois", "Peeters",
              "Benali", "Janssens", "Da Silva", "Lambert", "Maes", "Ouedraogo", "Claes",
              "Vandenberghe", "Kowalski", "Nguyen")
STREETS = ("Rue Haute", "Josaphatstraat", "Chaussée de Gand", "Rue de Brabant",
           "Avenue Louise", "Brand Whitlocklaan", "Rue des Palais", "Bergensesteenweg")
CHANNELS = ("phone", "letter", "email", "office", "home_visit")
PROGRAMMES = ("housing_first", "debt_mediation", "social_rental_agency")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the dataset --------------------------------------------------------------------------
def brussels_now() -> datetime:
    from domain.values import BRUSSELS

    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)


def caseworkers_of(ocmw: str) -> list[str]:
    return [f"cw{n:02d}.{ocmw}@ocmw.brussels" for n in range(CASEWORKERS)]


def client_emails(count: int) -> list[str]:
    """The caseworkers who log in: cw00 of each OCMW, then cw01 of each, and so on."""
    return [caseworkers_of(OCMWS[n % len(OCMWS)])[n // len(OCMWS)] for n in range(count)]


def _moment(day: date, rng: random.Random, hours: tuple[int, ...] = (9, 10, 13, 14)
            ) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=rng.choice(hours), minutes=rng.choice((0, 15, 30, 45)))


def generate(cases: int, today: date, open_share: float = 1.0, seed: int = 7
             ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(table, rows) in chunks, parents first: cases, receipts and notices, tasks, flags,
    contacts with their history events, letters, referrals. A case is open with the
    probability `open_share`; a closed one has an outcome and its tasks are done."""
    rng = random.Random(seed)
    outcomes = ("kept_payment_plan", "kept_agreement", "rehoused", "left_voluntarily",
                "procedure_stopped", "lost_contact")
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=8)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    order = ("cases", "receipts", "notices", "tasks", "flags", "contacts", "case_events",
             "letters", "referrals")
    for number in range(1, cases + 1):
        ocmw = OCMWS[number % len(OCMWS)]
        commune = COMMUNES[ocmw]
        court = f"Justice de paix du canton de {commune.name_fr}"
        docket = f"26A{number:07d}"
        case_id = case_id_for((court, docket))
        caseworker = rng.choice(caseworkers_of(ocmw))
        received = today - timedelta(days=rng.randint(5, 120))
        stamp = _moment(received, rng, (7,))
        if rng.random() < 0.2:  # heard, awaiting judgment
            hearing = _moment(today - timedelta(days=rng.randint(1, 60)), rng)
        else:
            hearing = _moment(today + timedelta(days=rng.randint(0, 120)), rng)
        eviction = (_moment(today + timedelta(days=rng.randint(3, 120)), rng)
                    if rng.random() < 0.1 else None)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        street, house = rng.choice(STREETS), str(number % 300 + 1)
        language = ("nl", "fr")[number % 2]
        postcode = commune.postcodes[0]
        closed = rng.random() >= open_share
        outcome_on = today - timedelta(days=rng.randint(1, 60)) if closed else None
        rows["cases"].append({
            "id": case_id, "court": court, "docket_number": docket, "ocmw": ocmw,
            "status": "closed" if closed else "open",
            "outcome_code": rng.choice(outcomes) if closed else None, "outcome_on": outcome_on,
            "tenant_first_name": first, "tenant_last_name": last,
            "tenant_language": language, "street": street, "house_number": house,
            "box": None, "postcode": postcode, "municipality": commune.name_fr,
            "hearing_at": hearing, "earliest_eviction_on": None, "eviction_at": eviction,
            "first_received_on": received, "caseworker": caseworker,
            "contact_attempted": False, "home_visits": 0,
            "created_at": stamp, "updated_at": stamp})
        data = {
            "kind": "petition", "court": court, "docket_number": docket,
            "received_on": received.isoformat(),
            "filed_on": (received - timedelta(days=6)).isoformat(),
            "hearing_at": hearing.isoformat(),
            "tenant": {"first_name": first, "last_name": last, "language": language,
                       "phone": "+32 493 67 49 02" if number % 3 else None,
                       "email": None, "birth_date": f"19{50 + number % 50}-03-11"},
            "dwelling": {"street": street, "number": house, "box": None,
                         "postcode": postcode, "municipality": commune.name_fr},
            "landlord": {"name": "AIS Quartiers", "kind": "social_rental_agency",
                         "street": "Boulevard Brand Whitlock", "number": "64",
                         "postcode": "1200", "municipality": "Woluwe-Saint-Lambert",
                         "email": "info@aisquartiers.be"},
            "arrears_eur": f"{rng.uniform(500, 8000):.2f}",
            "monthly_rent_eur": f"{rng.uniform(600, 1400):.2f}"}
        raw = orjson.dumps(data).decode()
        rows["receipts"].append({
            "id": number, "batch_id": 1, "source_sha256": "0" * 64, "record_no": number,
            "line_no": number, "raw": raw, "received_at": stamp, "outcome": "new",
            "fingerprint": hashlib.sha256(raw.encode()).hexdigest()[:32]})
        rows["notices"].append({
            "fingerprint": hashlib.sha256(raw.encode()).hexdigest()[:32], "case_id": case_id,
            "receipt_id": number, "kind": "petition", "received_on": received,
            "filed_on": received - timedelta(days=6), "served_on": None,
            "hearing_at": hearing, "judgment_on": None, "notified_on": None,
            "eviction_at": None, "moratorium_lifted": False, "social_housing": False,
            "data": data})
        for kind in rng.sample(TASK_KINDS, rng.randint(*TASKS_PER_CASE)):
            if rng.random() < DUE_SHARE:
                due_on = today - timedelta(days=rng.randint(0, 9))
            else:
                due_on = today + timedelta(days=rng.randint(1, 120))
            rows["tasks"].append({
                "case_id": case_id, "kind": kind, "due_on": due_on,
                "status": "done" if closed else "open",
                "assignee": None if rng.random() < UNASSIGNED_SHARE else caseworker,
                "rule": f"playbook: {kind}", "created_at": stamp, "updated_at": stamp})
        if rng.random() < 0.1:
            rows["flags"].append({"case_id": case_id, "code": "at_risk",
                                  "detail": "hearing within 5 working days",
                                  "raised_at": now})
        for _ in range(rng.choices((0, 1, 2, 3, 4), (30, 30, 20, 12, 8))[0]):
            at = min(_moment(received + timedelta(days=rng.randint(1, 30)), rng), now)
            channel = rng.choice(CHANNELS)
            result = rng.choice(("reached", "not_reached"))
            note = "Tenant asks for a payment plan." if rng.random() < 0.3 else None
            rows["contacts"].append({
                "case_id": case_id, "channel": channel, "result": result, "at": at,
                "note": note, "recorded_by": caseworker, "created_at": at})
            rows["case_events"].append({
                "case_id": case_id, "kind": "contact", "actor": caseworker, "at": at,
                "before": None,
                "after": {"channel": channel, "result": result, "at": at.isoformat(),
                          "note": note}})
        if rng.random() < 0.3:
            rows["letters"].append({
                "case_id": case_id, "kind": "invitation_letter", "language": language,
                "template_versions": {language: 1}, "task_id": None,
                "path": f"letters/{case_id}/invitation_letter.docx", "sha256": "0" * 64,
                "pdf_path": None, "created_by": caseworker, "created_at": stamp})
        if rng.random() < 0.05:
            rows["referrals"].append({
                "case_id": case_id, "programme": rng.choice(PROGRAMMES),
                "reason": "arrears beyond a payment plan", "status": "sent",
                "created_by": caseworker, "created_at": stamp, "updated_at": stamp})
        if number % CHUNK == 0 or number == cases:
            for name in order:
                yield name, rows.pop(name, [])


def _users(now: datetime, skip: set[str]) -> list[dict[str, Any]]:
    users = []
    for ocmw in OCMWS:
        people = [(email, "caseworker") for email in caseworkers_of(ocmw)]
        people.append((f"lead.{ocmw}@ocmw.brussels", "team_lead"))
        users += [{"email": email, "name": email.split("@")[0].title(), "role": role,
                   "ocmw": ocmw, "language": ("nl", "fr")[n % 2], "password_hash": None,
                   "active": True, "created_at": now - timedelta(days=400)}
                  for n, (email, role) in enumerate(people) if email not in skip]
    return users


def _write(connection: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """SQLite: one executemany through SQLAlchemy's bind conversions; PostgreSQL: COPY."""
    if not rows:
        return
    table = t.metadata.tables[name]
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    as_json = {c for c in columns if c in ("data", "before", "after", "template_versions")}
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([orjson.dumps(row[c]).decode()
                                if c in as_json and row[c] is not None else row[c]
                                for c in columns])
    finally:
        cursor.close()


def build(engine: Engine, cases: int, clients: int, open_share: float) -> dict[str, Any]:
    from services.users import add_user

    started = time.perf_counter()
    now = brussels_now()
    migrate(engine)
    logins = client_emails(clients)
    for n, email in enumerate(logins):  # argon2: the real password hashes
        ocmw = email.split(".")[1].split("@")[0]
        add_user(engine, email=email, name=email.split("@")[0].title(), role="caseworker",
                 ocmw=ocmw, language=("nl", "fr")[n % 2], password=PASSWORD, now=now)
    with engine.begin() as connection:
        _write(connection, "users", _users(now, set(logins)))
        _write(connection, "batches", [{"id": 1, "source": "bench.jsonl",
                                        "sha256": "0" * 64, "started_at": now,
                                        "finished_at": now, "summary": None}])
        for name, rows in generate(cases, now.date(), open_share):
            _write(connection, name, rows)
        if connection.dialect.name == "postgresql":  # ids were given: move the sequences on
            for name in ("batches", "receipts"):
                connection.execute(text(
                    f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    found = counts(engine)
    found["build_seconds"] = time.perf_counter() - started
    return found


def counts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        found = {name: connection.scalar(select(func.count()).select_from(
                 t.metadata.tables[name])) for name in ("cases", "tasks", "contacts")}
        found["open_cases"] = connection.scalar(select(func.count()).select_from(t.cases)
                                                .where(t.cases.c.status == "open"))
        found["open_tasks"] = connection.scalar(select(func.count()).select_from(t.tasks)
                                                .where(t.tasks.c.status == "open"))
        found["cases_per_ocmw"] = round(found["cases"] / len(OCMWS))
    return found


# -- the clients' work --------------------------------------------------------------------
@dataclass
class Client:
    email: str
    ocmw: str
    headers: dict[str, str] = field(default_factory=dict)
    plan: list[tuple[str, str]] = field(default_factory=list)  # (page, path)


def plans(engine: Engine, clients: list[Client], case_path: str, case_share: float,
          length: int = 500, seed: int = 11) -> None:
    """Each client's sequence of pages: My tasks, and Case pages of its OCMW's cases (70%
    its own open cases, 30% any other case of its OCMW), interleaved at random in the
    proportion `case_share`."""
    rng = random.Random(seed)
    with engine.connect() as connection:
        for client in clients:
            own = list(connection.scalars(select(t.cases.c.id).where(
                t.cases.c.caseworker == client.email, t.cases.c.status == "open")
                .order_by(t.cases.c.id)))
            colleagues = list(connection.scalars(select(t.cases.c.id).where(
                t.cases.c.ocmw == client.ocmw, t.cases.c.caseworker != client.email)
                .order_by(t.cases.c.id).limit(5000)))
            for _ in range(length):
                if rng.random() < case_share:
                    case_id = rng.choice(own if own and (rng.random() < 0.7 or not colleagues)
                                         else colleagues)
                    client.plan.append(("case", case_path.format(id=case_id)))
                else:
                    client.plan.append(("tasks", "/tasks"))


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("set-cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(port: int, client: Client) -> None:
    """The real log-in form: GET /login (CSRF cookie and token), POST /login; the session
    cookie of the 303 answer is the client's from then on."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/login")
        answer = connection.getresponse()
        page = answer.read().decode()
        assert answer.status == 200, f"GET /login: {answer.status}"
        cookies = _cookies(answer)
        token = CSRF_FIELD.search(page)
        assert token, "no CSRF token in the log-in form"
        form = urllib.parse.urlencode({"email": client.email, "password": PASSWORD,
                                       "csrf_token": token.group(1), "next": "/"})
        connection.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 303, f"POST /login for {client.email}: {answer.status}"
        session = _cookies(answer).get("domus_session")
        assert session, "no session cookie after log-in"
        client.headers["Cookie"] = f"domus_session={session}"
    finally:
        connection.close()


def check_pages(port: int, clients: list[Client]) -> None:
    """Each client's first My tasks and Case page answer 200 with a page (not a log-in
    form), before anything is timed."""
    for client in clients:
        for page in ("tasks", "case"):
            path = next(p for kind, p in client.plan if kind == page) \
                if any(kind == page for kind, _ in client.plan) else None
            if path is None:
                continue
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("GET", path, headers=client.headers)
                answer = connection.getresponse()
                body = answer.read()
            finally:
                connection.close()
            assert answer.status == 200, f"{client.email} {path}: {answer.status}"
            assert b'name="password"' not in body, f"{client.email} {path}: log-in form"


# -- the server ---------------------------------------------------------------------------
def server_app() -> Any:
    """The app as `domus serve` builds it (settings from DOMUS_* in the environment); the
    factory uvicorn calls in each worker process."""
    from domus.bootstrap import bootstrap
    from domus.serve import tune_for_serving
    from web.app import create_app

    return tune_for_serving(create_app(bootstrap()))


def serve(port: int, workers: int) -> None:
    """The app as `domus serve` serves it: one uvicorn process, or with `workers` > 1
    `domus serve --processes` (domus/serve.py serve_processes: a listening socket of its own
    per process on the same port, SO_REUSEPORT). The scheduler is left out."""
    if workers > 1:
        from domus.serve import serve_processes
        from domus.settings import Settings

        serve_processes(Settings(), host="127.0.0.1", port=port, processes=workers)
        return
    import uvicorn

    config = uvicorn.Config("bench.web:server_app", factory=True, host="127.0.0.1",
                            port=port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(fields[1])].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(engine: Engine) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (the server's
    pooled connections); empty on SQLite, which runs inside the server."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as connection:
        pids = connection.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).all()
    return {pid: _cpu_of(pid) for pid in pids}


def tree_rss_mb(pid: int) -> float:
    total = 0
    for member in _tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of `pid` and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / ticks, system / ticks


@contextmanager
def server(url: str, workers: int, folder: Path, probe: Path | None = None,
           probe_trace: int = 0) -> Iterator[tuple[int, int]]:
    """uvicorn serving the app on 127.0.0.1 and a free port; yields (port, pid). With
    `probe` (a folder), bench/memprobe's sitecustomize samples each server process's memory
    by layer into it (bench/load.py --probe)."""
    port = free_port()
    env = {**os.environ, "DOMUS_DATABASE_URL": url, "DOMUS_SECRET_KEY": SECRET_KEY,
           "DOMUS_DATA_DIR": str(folder / "data"), "PYTHONPATH": str(ROOT)}
    if probe is not None:
        probe.mkdir(parents=True, exist_ok=True)
        env.update(PYTHONPATH=f"{ROOT / 'bench' / 'memprobe'}{os.pathsep}{ROOT}",
                   DOMUS_MEMPROBE_DIR=str(probe), DOMUS_MEMPROBE_TRACE=str(probe_trace))
    command = [sys.executable, "-m", "bench.web", "--serve", str(port),
               "--workers", str(workers)]
    log = (folder / f"server-{port}.log").open("w")
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, process, workers)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(port: int, process: subprocess.Popen[bytes], workers: int) -> None:
    deadline, answered = time.monotonic() + 120, 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {process.returncode}); see its log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                answered += 1
            connection.close()
            if answered:  # the other workers build their app too (the warm-up covers it)
                time.sleep(1.0 if workers > 1 else 0)
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 120 s")


# -- the load -----------------------------------------------------------------------------
@dataclass
class Load:
    """What the clients saw in the measured window: (page, seconds, status) per request."""

    samples: list[tuple[str, float, int]] = field(default_factory=list)
    case_views: int = 0  # Case answers 200, warm-up included (each must leave an audit row)
    seconds: float = 0.0
    client_cpu: float = 0.0
    wrk: dict[str, Any] | None = None


@dataclass
class Answer:
    """One HTTP/1.1 answer as read by `read_response` (bench/load.py reads the bodies)."""

    status: int
    keep: bool  # the connection stays open
    headers: dict[str, str]  # lower-case names; the last of a repeated header
    body: bytes


async def read_response(reader: asyncio.StreamReader) -> Answer:
    """One HTTP/1.1 answer, its body read in full (Content-Length or chunked)."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("closed")
    status = int(line.split(b" ", 2)[1])
    length, chunked, keep = 0, False, True
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.partition(b":")
        name = name.strip().lower()
        headers[name.decode("latin-1")] = value.strip().decode("latin-1")
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep = False
    body = b""
    if chunked:
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            parts.append((await reader.readexactly(size + 2))[:size])
            if size == 0:
                break
        body = b"".join(parts)
    elif length:
        body = await reader.readexactly(length)
    return Answer(status, keep, headers, body)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """One HTTP/1.1 answer: (status, keep the connection)."""
    answer = await read_response(reader)
    return answer.status, answer.keep


async def _raw_client(port: int, client: Client, start: int, warm_until: float,
                      stop_at: float, budget: list[int], load: Load) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in client.headers.items())
    requests = [(page, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
                for page, path in client.plan]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock, i = time.perf_counter, start
    try:
        while True:
            began = clock()
            if began >= stop_at or budget[0] <= 0:
                return
            page, request = requests[i % len(requests)]
            i += 1
            writer.write(request)
            status, keep = await _read_answer(reader)
            ended = clock()
            load.case_views += page == "case" and status == 200
            if began >= warm_until:
                budget[0] -= 1
                load.samples.append((page, ended - began, status))
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _httpx_client(port: int, client: Client, start: int, warm_until: float,
                        stop_at: float, budget: list[int], load: Load) -> None:
    import httpx

    clock, i = time.perf_counter, start
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                 headers=client.headers, timeout=60) as session:
        while True:
            began = clock()
            if began >= stop_at or budget[0] <= 0:
                return
            page, path = client.plan[i % len(client.plan)]
            i += 1
            answer = await session.get(path)
            ended = clock()
            load.case_views += page == "case" and answer.status_code == 200
            if began >= warm_until:
                budget[0] -= 1
                load.samples.append((page, ended - began, answer.status_code))


def run_load(port: int, clients: list[Client], kind: str, warmup: float, duration: float,
             max_requests: int, folder: Path) -> Load:
    if kind == "wrk":
        return _run_wrk(port, clients, warmup, duration, folder)
    worker = _raw_client if kind == "asyncio" else _httpx_client
    load = Load()

    async def everyone() -> None:
        loop_start = time.perf_counter()
        warm_until, stop_at = loop_start + warmup, loop_start + warmup + duration
        budget = [max_requests]
        await asyncio.gather(*(worker(port, client, n * 37, warm_until, stop_at, budget,
                                      load) for n, client in enumerate(clients)))
        load.seconds = min(time.perf_counter(), stop_at) - warm_until

    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(everyone())
    after = resource.getrusage(resource.RUSAGE_SELF)
    load.client_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return load


WRK_SCRIPT = """
local clients = %(clients)s
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  me = clients[id]
  n = (id * 37) %% #me.paths
end
function request()
  n = n %% #me.paths + 1
  return wrk.format("GET", me.paths[n], me.headers)
end
function done(summary, latency, requests)
  local out = string.format('{"requests": %%d, "micros": %%d, "errors_status": %%d, ' ..
    '"errors_other": %%d, "p50": %%d, "p95": %%d, "p99": %%d, "max": %%d}',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max)
  io.stderr:write("WRK-JSON " .. out .. "\\n")
end
"""


def _lua(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    return json.dumps(value)


def _run_wrk(port: int, clients: list[Client], warmup: float, duration: float,
             folder: Path) -> Load:
    """wrk with one thread and one connection per client (each its own Lua state: its own
    cookie and paths). wrk knows no per-path latency: the mix is reported as a whole."""
    wrk = shutil.which("wrk")
    if wrk is None:
        say("installing wrk (apt-get install -y wrk)…")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       stdout=subprocess.DEVNULL)
        wrk = shutil.which("wrk") or "wrk"
    script = folder / "clients.lua"
    script.write_text(WRK_SCRIPT % {"clients": _lua([
        {"headers": client.headers, "paths": [path for _, path in client.plan]}
        for client in clients])})
    base = [wrk, "-t", str(len(clients)), "-c", str(len(clients)), "-s", str(script),
            "--timeout", "30s", f"http://127.0.0.1:{port}"]
    subprocess.run([*base[:1], "-d", f"{max(1, round(warmup))}s", *base[1:]], check=True,
                   capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*base[:1], "-d", f"{max(1, round(duration))}s", *base[1:]],
                          check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stderr.splitlines() if x.startswith("WRK-JSON "))
    figures = json.loads(line.removeprefix("WRK-JSON "))
    return Load(seconds=figures["micros"] / 1e6, wrk=figures,
                client_cpu=(after.ru_utime - before.ru_utime)
                + (after.ru_stime - before.ru_stime))


# -- figures ------------------------------------------------------------------------------
def _percentile(ordered: list[float], share: float) -> float:
    """Nearest rank."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def figures(load: Load) -> dict[str, dict[str, Any]]:
    if load.wrk is not None:
        w = load.wrk
        return {"mix": {"requests": w["requests"], "per_second": w["requests"] / load.seconds,
                        "p50_ms": w["p50"] / 1e3, "p95_ms": w["p95"] / 1e3,
                        "p99_ms": w["p99"] / 1e3, "max_ms": w["max"] / 1e3,
                        "errors": w["errors_status"] + w["errors_other"]}}
    pages: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for page, seconds, status in load.samples:
        pages[page].append((seconds, status))
    if len(pages) > 1:
        pages["all"] = [(s, status) for _, s, status in load.samples]
    found = {}
    for page, seen in pages.items():
        ordered = sorted(s for s, _ in seen)
        found[page] = {
            "requests": len(seen), "per_second": len(seen) / load.seconds,
            "p50_ms": _percentile(ordered, 0.50) * 1e3,
            "p95_ms": _percentile(ordered, 0.95) * 1e3,
            "p99_ms": _percentile(ordered, 0.99) * 1e3,
            "max_ms": ordered[-1] * 1e3,
            "errors": sum(1 for _, status in seen if status != 200),
            "statuses": dict(Counter(status for _, status in seen if status != 200))}
    return found


def audit_views(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(t.audit_log).where(
            t.audit_log.c.action == "view")) or 0


# -- profiling ----------------------------------------------------------------------------
def py_spy() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


@contextmanager
def profiling(pid: int, seconds: float, folder: Path | None, label: str
              ) -> Iterator[None]:
    if folder is None:
        yield
        return
    tool = py_spy()
    if tool is None:
        say("  --profile: py-spy not found (pip install py-spy, or PY_SPY=path)")
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{label}.txt"
    recorder = subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--subprocesses", "--gil", "--duration",
         str(max(1, int(seconds))), "--rate", "200", "--format", "raw", "--output",
         str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.wait(timeout=seconds + 60)
    if out.exists():
        summarize_profile(out)


def summarize_profile(path: Path, top: int = 30) -> None:
    """Share of samples that have each function on the stack (ours and the libraries'),
    and the leaf functions where the time is spent."""
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaves[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return
    say(f"  profile ({total} samples) {path}")
    say("    on the stack:")
    for frame, n in inclusive.most_common(top):
        say(f"      {100 * n / total:5.1f}%  {frame}")
    say("    leaves:")
    for frame, n in leaves.most_common(15):
        say(f"      {100 * n / total:5.1f}%  {frame}")


# -- one configuration --------------------------------------------------------------------
def measure(url: str, engine: Engine, args: argparse.Namespace, workers: int,
            folder: Path, case_path: str) -> dict[str, Any]:
    clients = [Client(email, email.split(".")[1].split("@")[0])
               for email in client_emails(args.clients)]
    plans(engine, clients, case_path, args.case_share)
    floor = [Client(c.email, c.ocmw, plan=[("healthz", "/healthz")]) for c in clients]
    with server(url, workers, folder) as (port, pid):
        rss_start = tree_rss_mb(pid)
        for client in clients:
            log_in(port, client)
        if case_path.startswith("/api/"):
            from services.users import issue_token

            for client in clients:
                token = issue_token(engine, client.email, kind="api", now=brussels_now())
                client.headers["Authorization"] = f"Bearer {token}"
        check_pages(port, clients)
        views_before = audit_views(engine)
        rss_before = tree_rss_mb(pid)
        cpu_before = tree_cpu_seconds(pid)
        database_before = database_cpu(engine)
        label = f"{engine.dialect.name}-{workers}w"
        with profiling(pid, args.duration, args.profile, label):
            # the profile starts with the load: its warm-up is inside the sampled window
            load = run_load(port, clients, args.client, args.warmup, args.duration,
                            args.max_requests, folder)
        cpu_after = tree_cpu_seconds(pid)
        database_seconds = sum(seconds - database_before.get(backend, 0.0)
                               for backend, seconds in database_cpu(engine).items())
        server_user, server_system = (cpu_after[0] - cpu_before[0],
                                      cpu_after[1] - cpu_before[1])
        rss_after = tree_rss_mb(pid)
        views = audit_views(engine) - views_before
        floor_load = run_load(port, floor, args.client, min(args.warmup, 2),
                              args.floor_duration, args.max_requests, folder)
    pages = figures(load)
    total = sum(p["requests"] for name, p in pages.items() if name not in ("all",))
    result = {"workers": workers, "client": args.client, "case_path": case_path,
              "pages": pages, "floor": figures(floor_load).get("healthz")
              or figures(floor_load).get("mix"),
              "seconds": load.seconds, "rss_start_mb": rss_start, "rss_before_mb": rss_before,
              "rss_after_mb": rss_after,
              "server_cpu_ms_per_request": 1e3 * (server_user + server_system) / max(total, 1),
              "server_system_share": server_system / max(server_user + server_system, 1e-9),
              "database_cpu_ms_per_request": 1e3 * database_seconds / max(total, 1),
              "client_cpu_ms_per_request": 1e3 * load.client_cpu / max(total, 1),
              "floor_client_cpu_ms_per_request": 1e3 * floor_load.client_cpu
              / max(result_requests(floor_load), 1),
              "audit_views": views}
    if load.wrk is None:
        result["case_answers"] = load.case_views
        assert views == load.case_views, \
            f"{load.case_views} Case pages answered but {views} view rows in the audit log"
    return result


def result_requests(load: Load) -> int:
    return load.wrk["requests"] if load.wrk else len(load.samples)


def run(args: argparse.Namespace, kind: str) -> list[dict[str, Any]]:
    registered = "pages_cases" in (ROOT / "web" / "pages.py").read_text()
    case_path = args.case_path or ("/cases/{id}" if registered else "/api/cases/{id}")
    results = []
    with tempfile.TemporaryDirectory(prefix="domus-bench-web-") as temporary:
        folder = Path(temporary)
        keep = args.scratch if kind == "sqlite" and args.scratch else None
        sqlite_file = (keep or folder) / f"web-{args.cases}-{args.open_share:g}.db"
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
        marker = sqlite_file.with_suffix(".built")
        context = (_kept(sqlite_file) if keep
                   else scratch_database(kind, sqlite_file, args.postgres_url))
        with context as url:
            engine = create_database_engine(url)
            try:
                if keep and marker.exists():
                    migrate(engine)
                    built = {**counts(engine), "build_seconds": 0.0, "reused": True}
                    say(f"reusing {sqlite_file} ({built['cases']:,} cases)")
                else:
                    say(f"building {args.cases:,} cases on {kind}…")
                    built = build(engine, args.cases, args.clients, args.open_share)
                    if keep:
                        marker.write_text(json.dumps(built))
                    say(f"  built in {built['build_seconds']:.1f} s")
                for workers in args.workers:
                    load_average = os.getloadavg()
                    say(f"  {kind}, {workers} worker(s): {args.clients} clients, "
                        f"{args.warmup:g} s warm-up, {args.duration:g} s measured "
                        f"({args.client}; Case page {case_path})…")
                    measured = measure(url, engine, args, workers, folder, case_path)
                    results.append({"database": kind, **built, **measured,
                                    "load_average": load_average})
                    report(results[-1])
            finally:
                engine.dispose()
    return results


@contextmanager
def _kept(sqlite_file: Path) -> Iterator[str]:
    yield f"sqlite:///{sqlite_file}"


def report(r: dict[str, Any]) -> bool:
    pages, floor = r["pages"], r["floor"]
    print(f"{r['database']}, {r['workers']} worker(s), {r['cases']:,} cases "
          f"({r['open_cases']:,} open, ~{r['cases_per_ocmw']:,} a OCMW; {r['tasks']:,} tasks, "
          f"{r['open_tasks']:,} open), "
          f"{len(r['pages'])} page kind(s), client {r['client']}, "
          f"load average before {r['load_average'][0]:.2f}")
    print(f"  {'page':<8} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    for name, p in [*pages.items(), ("healthz", floor)]:
        label = {"case": "case", "tasks": "tasks", "all": "all", "mix": "mix",
                 "healthz": "floor"}[name]
        print(f"  {label:<8} {p['requests']:>9,} {p['per_second']:>7.1f} {p['p50_ms']:>8.1f} "
              f"{p['p95_ms']:>8.1f} {p['p99_ms']:>8.1f} {p['max_ms']:>8.1f} "
              f"{p['errors']:>7,}")
    print(f"  server RSS {r['rss_before_mb']:.0f} MB before the load, "
          f"{r['rss_after_mb']:.0f} MB after (at start {r['rss_start_mb']:.0f} MB); "
          f"CPU per request: server {r['server_cpu_ms_per_request']:.2f} ms "
          f"({100 * r['server_system_share']:.0f}% system), "
          f"load generator {r['client_cpu_ms_per_request']:.2f} ms "
          f"(on /healthz {r['floor_client_cpu_ms_per_request']:.2f} ms)")
    if r["database"] == "postgresql":
        print(f"  PostgreSQL's backends for this database: "
              f"{r['database_cpu_ms_per_request']:.2f} ms CPU per request (same 2 cores)")
    if "case_answers" in r:
        print(f"  audit: {r['audit_views']:,} view rows written for "
              f"{r['case_answers']:,} Case pages answered (warm-up included): all there")
    met = True
    for name in ("tasks", "case", "mix"):
        if name not in pages:
            continue
        p95 = pages[name]["p95_ms"]
        ok = p95 < TARGET_P95_MS and pages[name]["errors"] == 0
        met = met and ok
        print(f"  {name:<6} p95 {p95:6.1f} ms: {p95 / TARGET_P95_MS:.2f}x the 100 ms target, "
              f"{p95 / floor['p95_ms']:.1f}x the /healthz floor ({floor['p95_ms']:.1f} ms)  "
              f"{'PASS' if ok else 'FAIL'}")
    r["met"] = met
    sys.stdout.flush()
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="sqlite")
    parser.add_argument("--workers", default="1,2",
                        type=lambda v: [int(x) for x in v.split(",")],
                        help="uvicorn worker processes, one run each (e.g. 1,2)")
    parser.add_argument("--open-share", type=float, default=0.3,
                        help="share of the cases still open (1: all, as bench/sweep.py; "
                             "0.3: as bench/stats.py)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--floor-duration", type=float, default=10.0,
                        help="seconds of /healthz for the floor")
    parser.add_argument("--case-share", type=float, default=0.5,
                        help="share of Case pages in each client's mix")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--client", choices=["asyncio", "httpx", "wrk"], default="asyncio")
    parser.add_argument("--case-path", default=None,
                        help="default /cases/{id}, or /api/cases/{id} until that page exists")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="keep the SQLite database here and reuse it")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL,
                        help="a PostgreSQL server's admin database; a new one is made there")
    parser.add_argument("--profile", type=Path, default=None,
                        help="sample the server with py-spy; raw stacks into this folder")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:  # the server process of a run
        serve(args.serve, args.workers[0])
        return
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    say(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    results = [r for kind in kinds for r in run(args, kind)]
    if args.json:
        print(json.dumps(results, default=str))
    sys.exit(0 if all(r["met"] for r in results) else 1)


if __name__ == "__main__":
    main()
