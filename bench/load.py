"""Load test: the web app and the API under a sustained mixed load, with memory over time.

    python -m bench.load [--minutes 10] [--cases 100000] [--processes 2] [--clients 20]
                         [--think 0.2] [--sample-seconds 10] [--database sqlite|postgresql]
                         [--scratch DIR] [--postgres-url URL] [--max-slope 1.0]
                         [--probe DIR [--probe-trace FRAMES]] [--json]

The database is bench/web.py's (`build`: 19 Brussels OCMWs, `--cases` cases by bulk insert,
30% open), and the app runs as bench/web.py runs it (`server`: `domus serve` without its
scheduler, `--processes 2` through domus/serve.py `serve_processes`). People log in through
the real log-in form: `--clients` caseworkers (one per OCMW, then a second one), the team
lead of each of their OCMWs, an administrator of 21001 Anderlecht and a regional monitor;
the caseworkers and the administrator also get an API token (services.users.issue_token,
as `domus users token` makes it).

The load is closed-loop with think time: each of the `--clients` virtual users has one
keep-alive connection and repeats: draw an action from the weighted mix below, do it
(one to three requests, each waiting for the previous answer), then pause for an
exponentially distributed think time of mean `--think` seconds. The offered load thus
adapts to the server (a slow server is asked less), which is how people use it; with
`--think 0` it is a saturating closed loop. An action is done as the person it belongs to:
the caseworker's own session or API token, their OCMW's team lead, the administrator, the
monitor. Writes (contact, API contact, letter, notice) are 12 of the 100 weights, about
11% of the requests:

    action        weight  requests (kind recorded)
    tasks           20    GET /tasks
    case            20    GET /cases/{id}: 70% the caseworker's open cases, 30% the OCMW's
    search          10    GET /cases?q=NAME (sometimes &status=open)
    api_case        10    GET /api/cases/{id} (bearer token)
    api_tasks        5    GET /api/tasks?due_before=+14 days
    team             6    GET /team (the OCMW's team lead)
    import           2    GET /import (the administrator)
    quarantine       2    GET /import/quarantine (the administrator)
    monitoring       1    GET /monitoring?by=ocmw (the monitor; ~0.3 s at 100,000 cases)
    stats_csv        0.5  GET /monitoring/stats.csv?by=ocmw (the monitor)
    contact          8    GET /cases/{id} (case), then the page's own contact form:
                          POST /cases/{id}/contacts with its CSRF token and one of its
                          buttons (contact) → 303 to ?done=contact
    api_contact      2    POST /api/cases/{id}/contacts (api_contact) → 201
    letter           1    GET /cases/{id} (case), POST /cases/{id}/letters (letter) → 303,
                          GET /cases/{id} (case), download the newest letter (letter_file)
    notice           1    POST /api/notices, one new petition for Anderlecht (the
                          administrator's token) → the ingest summary with created 1

An error is any answer other than the one expected above (200 for pages and reads, 303 to
the right place for forms, 201, a .docx for a letter, `created: 1` for a notice), a time
out (60 s) or a connection error; the first few are printed with their body.

Every `--sample-seconds` a sample is printed: requests and errors of the window, its p50 and
p95, throughput, the server's CPU share, the RSS of every server process (VmRSS, and
RssAnon: the heap, without the SQLite file pages the page cache lends it), the database's
size (SQLite file + WAL; PostgreSQL pg_database_size) and /proc/loadavg.

At the end: the error rate; p50/p95/p99 per request kind; RSS of the first minute against
the last minute, and the least-squares slope of the total RssAnon in MB/min over the
samples after the first minute (the first minute fills caches: SQLAlchemy's statement
cache, Jinja's templates, SQLite's page cache). The "no growth" check flags a slope above
`--max-slope` (1.0 MB/min, see MAX_SLOPE_MB_PER_MIN). The writes must have landed: new
contacts = successful contact POSTs (web and API), new `view` audit rows = Case pages and
API case answers, new letters = letters made, new cases = notices created; and the server's
log must hold no traceback. Exit status 1 if any check fails.

`--probe DIR` says where the memory goes: bench/memprobe's sitecustomize runs in every
server process and samples, beside the kernel's RSS, glibc malloc's bytes in use and free,
Python's allocated blocks and objects, and SQLite's own memory count; the report gives
each layer's second and last minute and its slope, summed over the web processes
(`--probe-trace N` adds tracemalloc's top growing lines, at a cost in speed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, select, text

from bench.scratch import scratch_database
from bench.web import (
    LAST_NAMES,
    PASSWORD,
    POSTGRES_ADMIN_URL,
    Answer,
    Client,
    _percentile,
    _tree,
    brussels_now,
    build,
    client_emails,
    counts,
    log_in,
    read_response,
    say,
    server,
    tree_cpu_seconds,
)
from domain.routing import OCMWS as COMMUNES
from store import tables as t
from store.db import create_database_engine, migrate

#: RssAnon growth (all server processes together, after the first minute) above which the
#: run is flagged. Why 1 MB/min: at this load (~100 requests/s, some 50 times what an OCMW's
#: staff ask) it is ~170 bytes per request; a real leak is a per-request object kept (a
#: session, a page, a statement: kilobytes each, 10+ MB/min here), while the caches that
#: legitimately fill (SQLite's page cache of 32 MB per pooled connection, statement and
#: template caches) are bounded and level off. 1 MB/min sustained would still mean under
#: 30 MB a day at real load, below the noise of one process's heap; anything above it
#: is worth a look before it is called flat.
MAX_SLOPE_MB_PER_MIN = 1.0
TIMEOUT = 60.0
ADMIN_OCMW = "21001"
ADMIN = f"admin.{ADMIN_OCMW}@ocmw.brussels"
MONITOR = "monitor@region.brussels"
WRITES = ("contact", "api_contact", "letter", "notice")
MIX: tuple[tuple[str, float], ...] = (
    ("tasks", 20), ("case", 20), ("search", 10), ("api_case", 10), ("api_tasks", 5),
    ("team", 6), ("import", 2), ("quarantine", 2), ("monitoring", 1), ("stats_csv", 0.5),
    ("contact", 8), ("api_contact", 2), ("letter", 1), ("notice", 1))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CONTACT_BUTTON = re.compile(r'name="contact" value="([^"]+)"')
LETTER_LINK = re.compile(r'href="/cases/[^/"]+/letters/(\d+)"')
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# -- people -------------------------------------------------------------------------------
def lead_of(ocmw: str) -> str:
    return f"lead.{ocmw}@ocmw.brussels"


def prepare_people(engine: Engine, clients: int) -> None:
    """Passwords for everyone who logs in (the caseworkers and team leads bench/web.py built
    without one), and the administrator and monitor, who are not in its dataset."""
    from services.users import UserError, add_user, set_password

    now = brussels_now()
    for email, role, ocmw in ((ADMIN, "administrator", ADMIN_OCMW),
                              (MONITOR, "monitor", None)):
        with suppress(UserError):  # a kept database has them already
            add_user(engine, email=email, name=email.split("@")[0].title(), role=role,
                     ocmw=ocmw, password=PASSWORD, now=now)
    emails = client_emails(clients)
    with engine.connect() as connection:
        missing = set(connection.scalars(select(t.users.c.email).where(
            t.users.c.email.in_([*emails, *{lead_of(e.split(".")[1][:5]) for e in emails}]),
            t.users.c.password_hash.is_(None))))
    for email in sorted(missing):
        set_password(engine, email, PASSWORD)


@dataclass
class VirtualUser:
    """One desk: a caseworker, with the team lead, administrator and monitor it shares."""

    number: int
    caseworker: Client
    lead: Client
    admin: Client
    monitor: Client
    api: dict[str, str]  # the caseworker's bearer token
    admin_api: dict[str, str]
    own: list[str]  # the caseworker's open cases
    colleagues: list[str]  # other cases of the OCMW
    rng: random.Random


def people(port: int, engine: Engine, clients: int, seed: int) -> list[VirtualUser]:
    """Log everyone in through the real form; issue the API tokens."""
    from services.users import issue_token

    now = brussels_now()
    admin, monitor = Client(ADMIN, ADMIN_OCMW), Client(MONITOR, "")
    log_in(port, admin)
    log_in(port, monitor)
    admin_api = {"Authorization": "Bearer " + issue_token(engine, ADMIN, kind="api", now=now)}
    leads: dict[str, Client] = {}
    users = []
    with engine.connect() as connection:
        for number, email in enumerate(client_emails(clients)):
            ocmw = email.split(".")[1].split("@")[0]
            caseworker = Client(email, ocmw)
            log_in(port, caseworker)
            if ocmw not in leads:
                leads[ocmw] = Client(lead_of(ocmw), ocmw)
                log_in(port, leads[ocmw])
            own = list(connection.scalars(select(t.cases.c.id).where(
                t.cases.c.caseworker == email, t.cases.c.status == "open")
                .order_by(t.cases.c.id)))
            colleagues = list(connection.scalars(select(t.cases.c.id).where(
                t.cases.c.ocmw == ocmw, t.cases.c.caseworker != email)
                .order_by(t.cases.c.id).limit(5000)))
            if not own:
                raise RuntimeError(f"{email} has no open case: use more --cases")
            token = issue_token(engine, email, kind="api", now=now)
            users.append(VirtualUser(number, caseworker, leads[ocmw], admin, monitor,
                                     {"Authorization": f"Bearer {token}"}, admin_api, own,
                                     colleagues or own, random.Random(seed * 1000 + number)))
    return users


# -- what the clients saw ------------------------------------------------------------------
@dataclass
class Tally:
    """Every answer, and the window since the last sample."""

    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    window: list[tuple[float, bool]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    done: Counter[str] = field(default_factory=Counter)  # effects the database must show

    def record(self, kind: str, seconds: float, ok: bool, problem: str = "") -> None:
        self.latencies[kind].append(seconds)
        self.window.append((seconds, ok))
        if not ok:
            self.errors[kind] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{time.monotonic() - self.started:7.1f} s {kind}: "
                                     f"{problem[:300]}")
                say(f"  ERROR {self.examples[-1]}")


class Connection:
    """One keep-alive HTTP/1.1 connection of a virtual user; reopened after an error."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port, self.tally = port, tally
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, kind: str, method: str, path: str, headers: dict[str, str],
                   body: bytes = b"", expect: Callable[[Answer], str | None] | None = None
                   ) -> Answer | None:
        """One request, timed and recorded under `kind`. `expect` names what is wrong with
        the answer (None: nothing); by default anything but 200 is an error."""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + body
        began = time.perf_counter()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                                         self.port)
            assert self.reader is not None
            self.writer.write(request)
            answer = await asyncio.wait_for(read_response(self.reader), TIMEOUT)
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.tally.record(kind, time.perf_counter() - began, False,
                              f"{method} {path}: {type(exc).__name__} {exc}")
            await self.close()
            return None
        seconds = time.perf_counter() - began
        if not answer.keep:
            await self.close()
        problem = (expect or _ok)(answer)
        self.tally.record(kind, seconds, problem is None,
                          f"{method} {path}: {answer.status} {problem} "
                          f"{answer.body[:200]!r}" if problem else "")
        return answer if problem is None else None


def _ok(answer: Answer) -> str | None:
    return None if answer.status == 200 else "expected 200"


def _redirect(done: str) -> Callable[[Answer], str | None]:
    def check(answer: Answer) -> str | None:
        if answer.status != 303:
            return "expected 303"
        if f"done={done}" not in answer.headers.get("location", ""):
            return f"redirected to {answer.headers.get('location')}"
        return None
    return check


def _created(answer: Answer) -> str | None:
    return None if answer.status == 201 else "expected 201"


def _docx(answer: Answer) -> str | None:
    if answer.status != 200 or not answer.headers.get("content-type", "").startswith(DOCX):
        return "expected a .docx"
    return None if answer.body[:2] == b"PK" else "not a zip"


def _one_notice(answer: Answer) -> str | None:
    if answer.status != 200:
        return "expected 200"
    summary = orjson.loads(answer.body)
    return None if summary.get("created") == 1 else f"summary {summary}"


# -- the actions --------------------------------------------------------------------------
Action = Callable[[VirtualUser, Connection, Tally], Awaitable[None]]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def _case_of(user: VirtualUser, own: float = 0.7) -> str:
    pool = user.own if user.rng.random() < own else user.colleagues
    return user.rng.choice(pool)


async def _case_page(user: VirtualUser, c: Connection, tally: Tally, case_id: str
                     ) -> Answer | None:
    answer = await c.send("case", "GET", f"/cases/{case_id}", user.caseworker.headers)
    tally.done["case_views"] += answer is not None
    return answer


async def a_tasks(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await c.send("tasks", "GET", "/tasks", user.caseworker.headers)


async def a_case(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await _case_page(user, c, tally, _case_of(user))


async def a_search(user: VirtualUser, c: Connection, tally: Tally) -> None:
    query = {"q": user.rng.choice(LAST_NAMES)}
    if user.rng.random() < 0.3:
        query["status"] = "open"
    await c.send("search", "GET", "/cases?" + urllib.parse.urlencode(query),
                 user.caseworker.headers)


async def a_api_case(user: VirtualUser, c: Connection, tally: Tally) -> None:
    answer = await c.send("api_case", "GET", f"/api/cases/{_case_of(user)}", user.api)
    tally.done["case_views"] += answer is not None


async def a_api_tasks(user: VirtualUser, c: Connection, tally: Tally) -> None:
    until = (brussels_now().date() + timedelta(days=14)).isoformat()
    await c.send("api_tasks", "GET", f"/api/tasks?due_before={until}", user.api)


async def a_team(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await c.send("team", "GET", "/team", user.lead.headers)


async def a_import(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await c.send("import", "GET", "/import", user.admin.headers)


async def a_quarantine(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await c.send("quarantine", "GET", "/import/quarantine", user.admin.headers)


async def a_monitoring(user: VirtualUser, c: Connection, tally: Tally) -> None:
    await c.send("monitoring", "GET", "/monitoring?by=ocmw", user.monitor.headers)


async def a_stats_csv(user: VirtualUser, c: Connection, tally: Tally) -> None:
    def csv(answer: Answer) -> str | None:
        return None if answer.status == 200 and answer.body.count(b"\n") > 2 else "no CSV"
    await c.send("stats_csv", "GET", "/monitoring/stats.csv?by=ocmw", user.monitor.headers,
                 expect=csv)


async def a_contact(user: VirtualUser, c: Connection, tally: Tally) -> None:
    """The case page, then its own contact form: its CSRF token, one of its buttons."""
    case_id = user.rng.choice(user.own)
    page = await _case_page(user, c, tally, case_id)
    if page is None:
        return
    html = page.body.decode()
    token, buttons = CSRF.search(html), CONTACT_BUTTON.findall(html)
    if token is None or not buttons:
        tally.record("contact", 0.0, False, f"/cases/{case_id}: no contact form")
        return
    form = urllib.parse.urlencode({
        "csrf_token": token.group(1), "note": f"load test, desk {user.number}",
        "at": "", "contact": user.rng.choice(buttons)}).encode()
    if await c.send("contact", "POST", f"/cases/{case_id}/contacts",
                    {**user.caseworker.headers, **FORM}, form, _redirect("contact")):
        tally.done["contacts"] += 1


async def a_api_contact(user: VirtualUser, c: Connection, tally: Tally) -> None:
    body = orjson.dumps({"channel": user.rng.choice(("phone", "email", "office")),
                         "result": user.rng.choice(("reached", "not_reached")),
                         "note": f"load test over the API, desk {user.number}"})
    if await c.send("api_contact", "POST", f"/api/cases/{user.rng.choice(user.own)}/contacts",
                    {**user.api, **JSON}, body, _created):
        tally.done["contacts"] += 1


async def a_letter(user: VirtualUser, c: Connection, tally: Tally) -> None:
    """Make a tenant invitation through the case page's form, then download it."""
    case_id = user.rng.choice(user.own)
    page = await _case_page(user, c, tally, case_id)
    token = CSRF.search(page.body.decode()) if page else None
    if token is None:
        return
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "kind": "tenant_invitation",
                                   "language": "auto"}).encode()
    made = await c.send("letter", "POST", f"/cases/{case_id}/letters",
                        {**user.caseworker.headers, **FORM}, form, _redirect("letter"))
    if made is None:
        return
    tally.done["letters"] += 1
    page = await _case_page(user, c, tally, case_id)
    ids = [int(x) for x in LETTER_LINK.findall(page.body.decode())] if page else []
    if not ids:
        if page is not None:
            tally.record("letter_file", 0.0, False, f"/cases/{case_id}: no letter link")
        return
    await c.send("letter_file", "GET", f"/cases/{case_id}/letters/{max(ids)}",
                 user.caseworker.headers, expect=_docx)


async def a_notice(user: VirtualUser, c: Connection, tally: Tally) -> None:
    tally.done["notice_number"] += 1
    body = orjson.dumps(new_notice(f"{user.number:02d}{tally.done['notice_number']:05d}",
                                   brussels_now()))
    if await c.send("notice", "POST", "/api/notices", {**user.admin_api, **JSON}, body,
                    _one_notice):
        tally.done["notices"] += 1


ACTIONS: dict[str, Action] = {
    "tasks": a_tasks, "case": a_case, "search": a_search, "api_case": a_api_case,
    "api_tasks": a_api_tasks, "team": a_team, "import": a_import, "quarantine": a_quarantine,
    "monitoring": a_monitoring, "stats_csv": a_stats_csv, "contact": a_contact,
    "api_contact": a_api_contact, "letter": a_letter, "notice": a_notice}


def new_notice(number: str, now: datetime) -> dict[str, Any]:
    """A petition for a dwelling in Anderlecht (the administrator's OCMW), never seen."""
    commune = COMMUNES[ADMIN_OCMW]
    today = now.date()
    return {
        "kind": "petition", "court": "Justice de paix du canton d'Anderlecht",
        "docket_number": f"LOAD{now:%H%M%S}-{number}", "received_on": today.isoformat(),
        "filed_on": (today - timedelta(days=6)).isoformat(),
        "hearing_at": f"{today + timedelta(days=30)}T09:30:00",
        "tenant": {"first_name": "Amina", "last_name": "Load", "language": "fr"},
        "dwelling": {"street": "Rue Wayez", "number": number[-3:], "box": None,
                     "postcode": commune.postcodes[0], "municipality": commune.name_fr},
        "landlord": {"name": "Immo Wayez SRL", "kind": "private"},
        "arrears_eur": "1500.00", "monthly_rent_eur": "700.00"}


async def desk(user: VirtualUser, port: int, tally: Tally, stop_at: float, think: float
               ) -> None:
    """One virtual user: an action from the mix, a think time, until `stop_at`. The first
    desk begins with one action of each kind, so that a short run covers them all."""
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    tour = list(reversed(names)) if user.number == 0 else []
    connection = Connection(port, tally)
    try:
        await asyncio.sleep(user.rng.uniform(0, max(think, 0.05)))  # not all at once
        while time.monotonic() < stop_at:
            action = tour.pop() if tour else user.rng.choices(names, weights)[0]
            await ACTIONS[action](user, connection, tally)
            if think > 0:
                await asyncio.sleep(user.rng.expovariate(1 / think))
    finally:
        await connection.close()


# -- the server's processes and the database ---------------------------------------------
def process_memory(pid: int) -> list[dict[str, Any]]:
    """VmRSS and RssAnon (MB) of `pid` and its descendants, with their command lines."""
    found = []
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        kib = {key: int(fields[key].split()[0]) for key in ("VmRSS", "RssAnon")
               if key in fields}
        found.append({"pid": member, "command": command.decode(errors="replace")[:60],
                      "rss_mb": kib.get("VmRSS", 0) / 1024,
                      "anon_mb": kib.get("RssAnon", 0) / 1024})
    return found


def database_bytes(engine: Engine) -> tuple[int, int]:
    """(the database, its write-ahead log): SQLite's file and -wal file; PostgreSQL's
    pg_database_size (its WAL is the server's, not the database's: 0)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
            return int(size), 0
    path = Path(engine.url.database or "")
    wal = Path(f"{path}-wal")
    return (path.stat().st_size if path.exists() else 0,
            wal.stat().st_size if wal.exists() else 0)


def landed(engine: Engine) -> dict[str, int]:
    """What the writes and views leave in the database."""
    with engine.connect() as connection:
        def count(table: Any, *where: Any) -> int:
            return connection.scalar(select(func.count()).select_from(table).where(*where)) or 0
        return {"contacts": count(t.contacts), "letters": count(t.letters),
                "cases": count(t.cases),
                "views": count(t.audit_log, t.audit_log.c.action == "view"),
                "contact_audits": count(t.audit_log, t.audit_log.c.action == "contact")}


@dataclass
class Sample:
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    per_second: float
    server_cpu: float  # share of one core, all server processes
    rss_mb: float
    anon_mb: float
    processes: list[float]  # VmRSS of each server process
    database_mb: float
    wal_mb: float
    load_average: float


async def sampler(pid: int, engine: Engine, tally: Tally, every: float, stop_at: float,
                  samples: list[Sample], started: float) -> None:
    last, cpu = started, sum(tree_cpu_seconds(pid))
    while True:
        now = time.monotonic()
        if now >= stop_at:
            return
        await asyncio.sleep(min(every - (now - started) % every, stop_at - now))
        samples.append(await _sample(pid, engine, tally, time.monotonic(), last, cpu,
                                     started))
        last, cpu = time.monotonic(), sum(tree_cpu_seconds(pid))


async def _sample(pid: int, engine: Engine, tally: Tally, now: float, last: float,
                  cpu: float, started: float) -> Sample:
    window, tally.window = tally.window, []
    ordered = sorted(seconds for seconds, _ in window)
    memory = process_memory(pid)
    size, wal = await asyncio.to_thread(database_bytes, engine)
    elapsed = max(now - last, 1e-9)
    sample = Sample(
        seconds=now - started, requests=len(window),
        errors=sum(1 for _, ok in window if not ok),
        p50_ms=_percentile(ordered, 0.5) * 1e3, p95_ms=_percentile(ordered, 0.95) * 1e3,
        per_second=len(window) / elapsed,
        server_cpu=(sum(tree_cpu_seconds(pid)) - cpu) / elapsed,
        rss_mb=sum(m["rss_mb"] for m in memory), anon_mb=sum(m["anon_mb"] for m in memory),
        processes=[round(m["rss_mb"], 1) for m in memory], database_mb=size / 2**20,
        wal_mb=wal / 2**20,
        load_average=os.getloadavg()[0])
    say(_sample_line(sample))
    return sample


SAMPLE_HEAD = (f"{'t s':>6} {'req':>6} {'req/s':>6} {'err':>4} {'p50 ms':>7} {'p95 ms':>7} "
               f"{'cpu':>5} {'RSS MB':>7} {'anon MB':>8} {'db MB':>7} {'wal MB':>7} {'load':>5}  "
               "RSS per process")


def _sample_line(s: Sample) -> str:
    return (f"{s.seconds:6.0f} {s.requests:6d} {s.per_second:6.1f} {s.errors:4d} "
            f"{s.p50_ms:7.1f} {s.p95_ms:7.1f} {100 * s.server_cpu:4.0f}% {s.rss_mb:7.1f} "
            f"{s.anon_mb:8.1f} {s.database_mb:7.1f} {s.wal_mb:7.1f} {s.load_average:5.2f}  "
            f"{' '.join(f'{x:.0f}' for x in s.processes)}")


# -- one run ------------------------------------------------------------------------------
@dataclass
class Options:
    minutes: float = 10.0
    processes: int = 2
    clients: int = 20
    think: float = 0.2
    sample_seconds: float = 10.0
    seed: int = 5
    max_slope: float = MAX_SLOPE_MB_PER_MIN
    probe: Path | None = None  # a folder: bench/memprobe in every server process
    probe_trace: int = 0  # tracemalloc frames in the probe (0: off)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def run_load(url: str, engine: Engine, options: Options, folder: Path) -> dict[str, Any]:
    """Serve the app on `url`'s database, put it under the mixed load for
    `options.minutes`, sample it, and check what the writes left."""
    prepare_people(engine, options.clients)
    with server(url, options.processes, folder, options.probe,
                options.probe_trace) as (port, pid):
        users = people(port, engine, options.clients, options.seed)
        before = landed(engine)
        tally, samples = Tally(), []
        seconds = options.minutes * 60

        async def everything() -> None:
            started = time.monotonic()
            tally.started = started
            stop_at = started + seconds
            first = await _sample(pid, engine, tally, started, started,
                                  sum(tree_cpu_seconds(pid)), started)
            samples.append(first)
            await asyncio.gather(
                sampler(pid, engine, tally, options.sample_seconds, stop_at, samples,
                        started),
                *(desk(user, port, tally, stop_at, options.think) for user in users))
            if samples[-1].seconds < time.monotonic() - started - 1:  # the tail
                samples.append(await _sample(pid, engine, tally, time.monotonic(),
                                             stop_at, sum(tree_cpu_seconds(pid)), started))

        say(f"load for {options.minutes:g} min: {len(users)} desks, think {options.think:g} s, "
            f"{options.processes} server process(es), pid {pid}")
        say(SAMPLE_HEAD)
        began = time.monotonic()
        # a thread of its own: the caller's thread may already run an event loop (a test
        # session that drives a browser through Playwright's sync API does)
        with ThreadPoolExecutor(1) as runner:
            runner.submit(asyncio.run, everything()).result()
        wall = time.monotonic() - began
        after = landed(engine)
        log = next(folder.glob(f"server-{port}.log"), None)
        log_text = log.read_text(errors="replace") if log else ""
    if "Traceback" in log_text:  # kept: the folder is temporary
        kept = Path(tempfile.gettempdir()) / f"domus-load-server-{port}.log"
        kept.write_text(log_text)
        say(f"the server log holds a traceback: {kept}")
    return summarize(options, tally, samples, before, after, wall, log_text)


def summarize(options: Options, tally: Tally, samples: list[Sample], before: dict[str, int],
              after: dict[str, int], wall: float, log_text: str) -> dict[str, Any]:
    kinds = {}
    for kind, latencies in sorted(tally.latencies.items()):
        ordered = sorted(latencies)
        kinds[kind] = {"requests": len(ordered), "per_second": len(ordered) / wall,
                       "p50_ms": _percentile(ordered, 0.5) * 1e3,
                       "p95_ms": _percentile(ordered, 0.95) * 1e3,
                       "p99_ms": _percentile(ordered, 0.99) * 1e3,
                       "max_ms": ordered[-1] * 1e3, "errors": tally.errors[kind]}
    everything = sorted(x for latencies in tally.latencies.values() for x in latencies)
    requests, errors = len(everything), sum(tally.errors.values())
    writes = sum(kinds[k]["requests"] for k in WRITES if k in kinds)
    first = [s for s in samples if 0 < s.seconds <= 60] or samples[:2]
    last = [s for s in samples if s.seconds >= samples[-1].seconds - 60]
    settled = [s for s in samples if s.seconds >= 60]
    delta = {key: after[key] - before[key] for key in after}
    expected = {"contacts": tally.done["contacts"], "letters": tally.done["letters"],
                "cases": tally.done["notices"], "views": tally.done["case_views"],
                "contact_audits": tally.done["contacts"]}
    tracebacks = log_text.count("Traceback")
    result = {
        "options": options.__dict__, "seconds": wall, "requests": requests,
        "per_second": requests / wall, "errors": errors,
        "error_rate": errors / max(requests, 1), "write_share": writes / max(requests, 1),
        "p50_ms": _percentile(everything, 0.5) * 1e3,
        "p95_ms": _percentile(everything, 0.95) * 1e3, "kinds": kinds,
        "error_examples": tally.examples,
        "rss_first_minute_mb": sum(s.rss_mb for s in first) / len(first),
        "rss_last_minute_mb": sum(s.rss_mb for s in last) / len(last),
        "anon_first_minute_mb": sum(s.anon_mb for s in first) / len(first),
        "anon_last_minute_mb": sum(s.anon_mb for s in last) / len(last),
        "anon_slope_mb_per_min": slope([(s.seconds / 60, s.anon_mb) for s in settled]),
        "rss_slope_mb_per_min": slope([(s.seconds / 60, s.rss_mb) for s in settled]),
        "load_average": [min(s.load_average for s in samples),
                         sum(s.load_average for s in samples) / len(samples),
                         max(s.load_average for s in samples)],
        "landed": delta, "expected": expected, "server_tracebacks": tracebacks,
        "samples": [s.__dict__ for s in samples]}
    if options.probe is not None:
        result["probe"] = probe_summary(options.probe)
    result["writes_landed"] = delta == expected
    result["growth_flagged"] = result["anon_slope_mb_per_min"] > options.max_slope
    result["passed"] = (errors == 0 and result["writes_landed"] and not tracebacks
                        and not result["growth_flagged"])
    return result


#: bench/memprobe's fields, in the order the report shows them (MB, or counts)
PROBE_FIELDS = ("RssAnon", "malloc_arena_mb", "malloc_used_mb", "malloc_free_mb",
                "malloc_mmap_mb", "outside_malloc_mb", "sqlite_mb", "py_blocks", "gc_objects")


def probe_summary(folder: Path) -> dict[str, dict[str, float]]:
    """Per layer, summed over the web processes (each probe file is one process: those
    multiprocessing calls "domus web N", or with one web process the processes of more than
    60 MB of heap, which leaves out the parent and helpers that serve nothing): the mean of
    the first minute after the first, the mean of the last minute and the least-squares
    slope per minute after the first minute, the same window as the RssAnon check."""
    rows = [[json.loads(line) for line in path.read_text().splitlines() if line]
            for path in sorted(folder.glob("probe-*.jsonl"))]
    rows = [r for r in rows if r]
    web = [r for r in rows if str(r[-1].get("process", "")).startswith("domus web")]
    rows = web or [r for r in rows if max(x.get("RssAnon", 0) for x in r) > 60]
    summary: dict[str, dict[str, float]] = {}
    for name in PROBE_FIELDS:
        start = end = rate = 0.0
        for process in rows:
            settled = [(x["t"] / 60, x[name]) for x in process if x["t"] >= 60 and name in x]
            if len(settled) < 2:
                continue
            last_t = settled[-1][0]
            early = [y for t, y in settled if t < 2] or [settled[0][1]]
            late = [y for t, y in settled if t >= last_t - 1]
            start += sum(early) / len(early)
            end += sum(late) / len(late)
            rate += slope(settled)
        summary[name] = {"second_minute": start, "last_minute": end, "slope_per_min": rate}
    summary["processes"] = {"count": float(len(rows))}
    return summary


def report(r: dict[str, Any], database: str, built: dict[str, Any]) -> None:
    o = r["options"]
    print(f"{database}, {o['processes']} server process(es), {built['cases']:,} cases "
          f"({built['open_cases']:,} open), {o['clients']} desks, think {o['think']:g} s, "
          f"{r['seconds'] / 60:.1f} min; load average {r['load_average'][0]:.2f}-"
          f"{r['load_average'][2]:.2f} (mean {r['load_average'][1]:.2f}) on "
          f"{os.cpu_count()} cores")
    print(f"  {r['requests']:,} requests, {r['per_second']:.1f}/s, "
          f"{100 * r['write_share']:.1f}% writes; errors {r['errors']:,} "
          f"(rate {100 * r['error_rate']:.3f}%); p50 {r['p50_ms']:.1f} ms, "
          f"p95 {r['p95_ms']:.1f} ms")
    print(f"  {'kind':<12} {'requests':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    for kind, k in r["kinds"].items():
        print(f"  {kind:<12} {k['requests']:>9,} {k['per_second']:>7.1f} {k['p50_ms']:>8.1f} "
              f"{k['p95_ms']:>8.1f} {k['p99_ms']:>8.1f} {k['max_ms']:>8.1f} "
              f"{k['errors']:>7,}")
    print(f"  server memory: RSS {r['rss_first_minute_mb']:.0f} MB in the first minute, "
          f"{r['rss_last_minute_mb']:.0f} MB in the last (slope "
          f"{r['rss_slope_mb_per_min']:+.2f} MB/min after the first minute); RssAnon "
          f"{r['anon_first_minute_mb']:.0f} → {r['anon_last_minute_mb']:.0f} MB, slope "
          f"{r['anon_slope_mb_per_min']:+.2f} MB/min (flagged above {o['max_slope']:g}): "
          f"{'GROWTH' if r['growth_flagged'] else 'flat'}")
    print(f"  writes landed: {r['landed']} against {r['expected']}: "
          f"{'all there' if r['writes_landed'] else 'MISMATCH'}; "
          f"tracebacks in the server log: {r['server_tracebacks']}")
    for example in r["error_examples"]:
        print(f"  error: {example}")
    if "probe" in r:
        print(f"  memory by layer ({r['options']['probe']}), the web processes summed: "
              "second minute → last minute, slope per minute")
        for name in PROBE_FIELDS:
            f = r["probe"][name]
            print(f"    {name:<15} {f['second_minute']:>14,.1f} → {f['last_minute']:>14,.1f}"
                  f"  {f['slope_per_min']:>+12,.2f}/min")
    print("  samples:")
    print("  " + SAMPLE_HEAD)
    for s in r["samples"]:
        print("  " + _sample_line(Sample(**s)))
    print(f"  {'PASS' if r['passed'] else 'FAIL'}")
    sys.stdout.flush()


# -- the database -------------------------------------------------------------------------
@contextmanager
def database(kind: str, cases: int, clients: int, open_share: float, folder: Path,
             scratch: Path | None, postgres_url: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A built database for one run: a fresh one, or on SQLite a copy of the one kept in
    `scratch` (built the first time; the run writes, so the kept one stays as built)."""
    sqlite_file = folder / f"load-{cases}.db"
    with scratch_database(kind, sqlite_file, postgres_url) as url:
        engine = create_database_engine(url)
        try:
            kept = scratch / f"web-{cases}-{open_share:g}.db" if scratch else None
            if kind == "sqlite" and kept is not None and kept.with_suffix(".built").exists():
                say(f"copying {kept}…")
                shutil.copyfile(kept, sqlite_file)
                migrate(engine)
                built = counts(engine)
            else:
                say(f"building {cases:,} cases on {kind}…")
                built = build(engine, cases, clients, open_share)
                say(f"  built in {built['build_seconds']:.1f} s")
                if kind == "sqlite" and kept is not None:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(sqlite_file, kept)
                    kept.with_suffix(".built").write_text(json.dumps(built))
            yield url, built
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2,
                        help="web processes, as `domus serve --processes`")
    parser.add_argument("--clients", type=int, default=20, help="virtual users (desks)")
    parser.add_argument("--think", type=float, default=0.2,
                        help="mean think time between actions, seconds (0: none)")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--open-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--max-slope", type=float, default=MAX_SLOPE_MB_PER_MIN,
                        help="RssAnon MB/min after the first minute above which growth is "
                             "flagged")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="keep the built SQLite database here (bench/web.py's file) "
                             "and run on a copy of it")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--probe", type=Path, default=None,
                        help="a folder: sample each server process's memory by layer "
                             "(kernel, malloc, Python, SQLite) into it (bench/memprobe)")
    parser.add_argument("--probe-trace", type=int, default=0, metavar="FRAMES",
                        help="with --probe: tracemalloc with this many frames; the places "
                             "that grew most since minute 2 go to trace-PID.txt (slower)")
    args = parser.parse_args()
    options = Options(minutes=args.minutes, processes=args.processes, clients=args.clients,
                      think=args.think, sample_seconds=args.sample_seconds, seed=args.seed,
                      max_slope=args.max_slope, probe=args.probe,
                      probe_trace=args.probe_trace)
    say(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="domus-bench-load-") as temporary:
        folder = Path(temporary)
        with database(args.database, args.cases, args.clients, args.open_share, folder,
                      args.scratch, args.postgres_url) as (url, built):
            engine = create_database_engine(url)
            try:
                result = run_load(url, engine, options, folder)
            finally:
                engine.dispose()
    result.update(database=args.database, built=built)
    report(result, args.database, built)
    if args.json:
        print(json.dumps(result, default=str))
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
