"""The demo's second half: a small team per OCMW, then a simulated month of sweeps and
morning digests in which the caseworkers do part of their work, with every e-mail caught
by a local SMTP server on loopback and kept as an .eml file to open."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import click
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from domain.access import Actor
from domus.bootstrap import Domus
from domus.jobs import run_replay
from domus.output import ocmw_label
from services.contacts import record_contact
from services.tasks import complete_task
from services.users import add_user
from store import tables as t

LEADS = ["Sarah Janssens", "Nathalie Dubois", "Pieter Claes", "Isabelle Lambert"]
CASEWORKERS = ["An Peeters", "Mehdi Benali", "Julie Martin", "Koen Wouters", "Fatima Zahra",
               "Thomas Leroy", "Lotte Maes", "Ahmed Aydin", "Claire Dupont", "Jonas Willems"]


def create_team(domus: Domus, now: datetime) -> list[dict[str, str]]:
    """A team lead and a caseworker in every OCMW that has cases (two caseworkers in the
    busiest one); Dutch and French speakers alternate. New caseworkers take the waiting
    tasks (the OCMW's assignment rule)."""
    with domus.engine.connect() as connection:
        by_ocmw = connection.execute(
            select(t.cases.c.ocmw, func.count()).where(t.cases.c.ocmw.is_not(None))
            .group_by(t.cases.c.ocmw).order_by(func.count().desc(), t.cases.c.ocmw)).all()
        existing = set(connection.scalars(select(t.users.c.email)))
    team, leads, workers = [], iter(LEADS * 10), iter(CASEWORKERS * 10)
    for rank, (ocmw, _) in enumerate(by_ocmw):
        roles = ["team_lead", "caseworker"] + (["caseworker"] if rank == 0 else [])
        for role in roles:
            name = next(leads) if role == "team_lead" else next(workers)
            language = "nl" if len(team) % 2 == 0 else "fr"
            email = f"{name.split()[0].lower()}.{ocmw}@ocmw.demo"
            if email not in existing:  # a second demo run keeps the first one's team
                add_user(domus.engine, email=email, name=name, role=role, ocmw=ocmw,
                         language=language, password=None, now=now, rules=domus.rules)
            team.append({"email": email, "name": name, "role": role, "ocmw": ocmw,
                         "language": language})
    return team


def create_web_logins(domus: Domus, team: list[dict[str, str]], now: datetime,
                      folder: Path) -> list[tuple[str, str]]:
    """Log-ins for the web app: the team, an administrator of the busiest OCMW and a
    regional monitor, all with one password made for this demo run and kept in
    `folder/logins.txt` (readable by its owner only). Returns (role, e-mail) pairs."""
    import secrets

    from services.users import set_password

    people = [(m["role"], m["email"]) for m in team]
    extra = []
    if team:
        extra.append(("administrator", f"admin.{team[0]['ocmw']}@ocmw.demo", team[0]["ocmw"]))
    extra.append(("monitor", "monitor@region.demo", None))
    with domus.engine.connect() as connection:
        existing = set(connection.scalars(select(t.users.c.email)))
    for role, email, ocmw in extra:
        if email not in existing:
            add_user(domus.engine, email=email, name=role.title() + " (demo)", role=role,
                     ocmw=ocmw, language="nl", password=None, now=now, rules=domus.rules)
        people.append((role, email))
    password = "demo-" + secrets.token_urlsafe(9)
    for _, email in people:
        set_password(domus.engine, email, password)
    folder.mkdir(parents=True, exist_ok=True)
    logins = folder / "logins.txt"
    logins.touch(mode=0o600)
    logins.chmod(0o600)
    logins.write_text(f"password for every demo user: {password}\n" + "".join(
        f"{role:<14} {email}\n" for role, email in people))
    return people


class _Mailbox:
    """An aiosmtpd handler that writes each message it receives to a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.count = folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.eml"):
            old.unlink()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        (self.folder / f"{self.count:04d}.eml").write_bytes(envelope.original_content)
        return "250 OK"


@contextmanager
def local_mail_server(folder: Path) -> Iterator[str]:
    """An SMTP server on loopback for the demo; yields its URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_Mailbox(folder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def simulate_month(domus: Domus, *, today: date, seed: int, mail_folder: Path) -> dict[str, Any]:
    """Four weeks from `today`: a sweep every day at 09:00 and the digest at 07:30 on
    working days (one flow run a week); between the weeks the caseworkers close most of
    their overdue tasks and reach some households at risk."""
    rng = random.Random(seed)
    reports: list[dict[str, Any]] = []
    with local_mail_server(mail_folder) as smtp_url, _environment("DOMUS_SMTP_URL", smtp_url):
        for week in range(4):
            days = [today + timedelta(days=7 * week + n) for n in range(7)]
            moments = [datetime.combine(day, time(9, 0)) for day in days]
            mornings = [datetime.combine(day, time(7, 30)) for day in days
                        if domus.rules.calendar.is_working_day(day, internal=True)]
            reports += run_replay(domus.settings, moments=moments, digest_at=mornings)
            _do_some_work(domus, moments[-1], rng)
    return {"reports": reports}


def _do_some_work(domus: Domus, now: datetime, rng: random.Random) -> None:
    """What a week of casework looks like in the demo: 70% of the overdue tasks are done,
    and half of the households at risk are reached (phone or home visit)."""
    with domus.engine.connect() as connection:
        overdue = list(connection.scalars(select(t.tasks.c.id).where(
            t.tasks.c.status == "open", t.tasks.c.due_on < now.date()).order_by(t.tasks.c.id)))
        at_risk = list(connection.scalars(select(t.flags.c.case_id).where(
            t.flags.c.code == "at_risk").order_by(t.flags.c.case_id)))
    for task_id in overdue:
        if rng.random() < 0.7:
            complete_task(domus.engine, task_id, Actor.operator(), now=now)
    for case_id in at_risk:
        if rng.random() < 0.5:
            record_contact(domus.engine, case_id, channel=rng.choice(["phone", "home_visit"]),
                           result="reached", at=now - timedelta(hours=rng.randint(1, 48)),
                           note="demo: household reached", actor=Actor.operator(), now=now)


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Flows read their settings from the environment: the demo's mail server for a while."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def print_month(team: list[dict[str, str]], month: dict[str, Any], mail_folder: Path) -> None:
    reports = month["reports"]
    ocmws = sorted({member["ocmw"] for member in team})
    click.echo(f"\n== The team\n{len(team)} users in {len(ocmws)} OCMWs "
               f"(a team lead and a caseworker each; Dutch and French speakers); new tasks "
               "went to the caseworker of their OCMW")
    for member in team[:3]:
        click.echo(f"  {member['email']:<34} {member['role']:<11} {member['language']}  "
                   f"{ocmw_label(member['ocmw'])}")
    mornings = sum(1 for r in reports if r["now"].endswith("07:30:00"))
    click.echo(f"\n== A simulated month (4 sweep-replay flow runs): {len(reports)} sweeps, "
               f"every day at 09:00 and at 07:30 with the digest on {mornings} working days")
    totals = Counter[str]()
    for report in reports:
        for key in ("due", "overdue", "escalated", "notifications", "digests", "at_risk",
                    "at_risk_cleared"):
            totals[key] += report.get(key, 0)
    click.echo(f"notifications written: {totals['notifications'] + totals['digests']} "
               f"({totals['digests']} morning digests); at-risk flags cleared "
               f"{totals['at_risk_cleared']} times as households were reached or dates passed")
    files = sorted(mail_folder.glob("*.eml"))
    if not files:
        click.echo("no new e-mails: this database had this month simulated already, and a "
                   "notification goes out only once (a new DOMUS_DATA_DIR and database "
                   "start afresh)")
        return
    by_reason = Counter(_reason(path) for path in files)
    click.echo(f"e-mails delivered over SMTP: {len(files)} — "
               + ", ".join(f"{reason} {n}" for reason, n in by_reason.most_common()))
    for path in _samples(files):
        message = BytesParser(policy=policy.default).parse(path.open("rb"))
        body = message.get_content().strip().splitlines()
        click.echo(f"\n  {path.name}  To: {message['To']}\n  Subject: {message['Subject']}")
        click.echo("\n".join(f"  | {line}" for line in body[:14]))
    click.echo(f"\nevery e-mail is in {mail_folder} (open the .eml files in a mail program)")


def _reason(path: Path) -> str:
    subject = BytesParser(policy=policy.default).parse(path.open("rb"), headersonly=True)[
        "Subject"] or ""
    for reason, words in (("digest", ("Uw taken", "Vos tâches")),
                          ("at risk", ("in gevaar", "à risque")),
                          ("escalated", ("Escalatie", "Escalade")),
                          ("overdue", ("Te laat", "En retard")),
                          ("due today", ("Vandaag", "aujourd'hui"))):
        if any(word in subject for word in words):
            return reason
    return "other"


def _samples(files: list[Path]) -> list[Path]:
    """One Dutch and one French e-mail of different kinds, to show."""
    chosen: dict[str, Path] = {}
    for path in files:
        reason = _reason(path)
        if reason in ("escalated", "at risk") and reason not in chosen:
            chosen[reason] = path
    return list(chosen.values())[:2] or files[:1]
