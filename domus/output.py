"""How the command line shows things to a person (with --json it prints the data instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from threading import Event, Thread
from typing import Any

from domain.routing import OCMWS


def ocmw_label(code: str | None) -> str:
    if code is None:
        return "triage"
    ocmw = OCMWS.get(code)
    return f"{code} {ocmw.name_fr}" if ocmw else code


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def render_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"received {summary['received']}: {summary['created']} opened a case, "
        f"{summary['updated']} updated a known case, {summary['duplicates']} duplicates, "
        f"{len(summary['quarantined'])} quarantined; {summary['triage']} wait in triage",
    ]
    for q in summary["quarantined"][:50]:
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in q["errors"])
        lines.append(f"  quarantined {q['file']} record {q['record']} (line {q['line']}): "
                     f"{reasons}")
    if len(summary["quarantined"]) > 50:
        lines.append(f"  … and {len(summary['quarantined']) - 50} more: see `domus quarantine`")
    return "\n".join(lines)


def _name(tenant: dict[str, Any]) -> str:
    return " ".join(p for p in (tenant.get("first_name"), tenant.get("last_name")) if p)


def render_cases(cases: list[dict[str, Any]]) -> str:
    if not cases:
        return "no cases"
    rows = [[c["id"], ocmw_label(c["ocmw"]), c["status"], c["docket_number"], _name(c["tenant"]),
             (c["hearing_at"] or "")[:16], (c["eviction_at"] or "")[:10],
             ",".join(f["code"] for f in c["flags"])] for c in cases]
    return _table(rows, ["id", "ocmw", "status", "docket", "tenant", "hearing", "eviction",
                         "flags"])


def render_case(case: dict[str, Any]) -> str:
    dwelling = case["dwelling"]
    address = " ".join(str(p) for p in (dwelling["street"], dwelling["number"]) if p)
    lines = [
        f"case {case['id']}  {case['court']}  docket {case['docket_number']}",
        f"  tenant    {_name(case['tenant'])} (language: {case['tenant']['language'] or '?'})",
        f"  dwelling  {address}, {dwelling['postcode']} {dwelling['municipality']}",
        f"  OCMW      {ocmw_label(case['ocmw'])}   status {case['status']}",
        f"  hearing   {case['hearing_at'] or '-'}   earliest eviction "
        f"{case['earliest_eviction_on'] or '-'}   eviction {case['eviction_at'] or '-'}",
        f"  caseworker {case.get('caseworker') or '(team queue)'}",
    ]
    if case.get("triage_reason"):
        lines.append(f"  triage    {case['triage_reason']}")
    lines += [f"  flag      {f['code']}: {f['detail']}" for f in case["flags"]]
    lines.append("  notices")
    lines += [f"    {n['received_on']}  {n['kind']}" for n in case["notices"]]
    lines.append("  tasks")
    lines += [f"    {t['due_on']}  {t['kind']:<22} {t['status']:<9} {t['assignee'] or ''}"
              f"\n                {t['rule']}" for t in case["tasks"]]
    return "\n".join(lines)


def render_tasks(tasks: list[dict[str, Any]]) -> str:
    if not tasks:
        return "no open tasks"
    rows = [[t["due_on"], t["kind"], t["case_id"], ocmw_label(t["ocmw"]), t["docket_number"],
             _name(t["tenant"]), t["assignee"] or "(team queue)"] for t in tasks]
    return _table(rows, ["due", "task", "case", "ocmw", "docket", "tenant", "assignee"])


def render_quarantine(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "quarantine is empty"
    rows = [[str(e["id"]), e["file"], str(e["record"]), str(e["line"]),
             "; ".join(f"{x['field']}: {x['reason']}" for x in e["errors"])[:90]]
            for e in entries]
    return _table(rows, ["id", "file", "record", "line", "reasons"]) + (
        "\n\nshow one: domus quarantine show ID; correct it: "
        "domus quarantine fix ID --set FIELD=VALUE")


def render_quarantine_entry(entry: dict[str, Any]) -> str:
    lines = [f"quarantine {entry['id']}: {entry['file']} record {entry['record']} "
             f"(line {entry['line']}), {'resolved' if entry['resolved_at'] else 'open'}"]
    lines += [f"  {e['field']}: {e['reason']}" for e in entry["errors"]]
    lines += ["  raw text as received:", f"    {entry['raw']}"]
    return "\n".join(lines)


def render_triage(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "triage is empty"
    rows = [[e["case_id"], e["docket_number"], f"{e['postcode']} {e['municipality']}",
             e["reason"]] for e in entries]
    return _table(rows, ["case", "docket", "address", "reason"]) + (
        "\n\nroute one: domus triage resolve CASE_ID --ocmw NIS_CODE")


@contextmanager
def progress_count(count: Callable[[], int] | None) -> Iterator[None]:
    """While the block runs, a live count on a terminal (stderr) of what `count` reports
    twice a second; nothing when `count` is None."""
    if count is None:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("ingesting: {task.completed:,} records received"),
               TimeElapsedColumn())
    stop = Event()
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("ingest", total=None)

        def poll() -> None:
            while not stop.wait(0.5):
                with suppress(Exception):  # a busy database only delays the count
                    progress.update(task, completed=count())

        thread = Thread(target=poll, name="domus-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def render_sweep(report: dict[str, Any]) -> str:
    delivery = report["delivery"]
    return "\n".join([
        f"sweep at {report['now']}: {report['due']} tasks due today, {report['overdue']} "
        f"overdue, {report['escalated']} escalated to the team lead; {report['at_risk']} "
        f"cases at risk ({report['at_risk_cleared']} cleared)",
        f"notifications: {report['notifications']} new"
        + (f" ({report['held']} with nobody to tell: see `domus outbox --status held`)"
           if report.get("held") else ""),
        render_delivery(delivery),
    ])


def render_delivery(delivery: dict[str, Any]) -> str:
    return (f"e-mail: {delivery['sent']} sent, {delivery['failed']} failed (kept for a retry), "
            f"{delivery['moot']} no longer needed; {delivery['waiting']} waiting in the outbox")


def render_outbox(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "the outbox is empty"
    table = [[str(r["id"]), r["status"], r["reason"], r["recipient"] or "(nobody)",
              r["case_id"] or "", r["due_on"], str(r["attempts"]),
              (r["last_error"] or r["subject"] or "")[:60]] for r in rows]
    return _table(table, ["id", "status", "reason", "to", "case", "date", "tries", "detail"])


def render_users(users: list[dict[str, Any]]) -> str:
    if not users:
        return "no users yet: `domus users add EMAIL --name NAME --role ROLE --ocmw CODE`"
    rows = [[u["email"], u["name"], u["role"], ocmw_label(u["ocmw"]) if u["ocmw"] else "-",
             u["language"], "" if u["active"] else "deactivated"] for u in users]
    return _table(rows, ["email", "name", "role", "ocmw", "lang", ""])


def render_templates(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no template used yet: the packaged ones are registered at the first letter"
    table = [[r["kind"], r["language"], f"v{r['version']}", "active" if r["active"] else "",
              r["source"], r["created_at"][:16], r["note"] or ""] for r in rows]
    return _table(table, ["kind", "lang", "version", "", "source", "since", "note"])


def render_events(summary: dict[str, Any]) -> str:
    lines = [f"received {summary['received']}: {summary['contacts']} contacts, "
             f"{summary['outcomes']} outcomes, {summary['duplicates']} already known, "
             f"{len(summary['quarantined'])} quarantined"]
    lines += [f"  quarantined {q['file']} record {q['record']} (line {q['line']}): "
              f"{q['field']}: {q['reason']}" for q in summary["quarantined"][:50]]
    return "\n".join(lines)


def render_programmes(programmes: list[dict[str, Any]]) -> str:
    if not programmes:
        return "no programme of that kind"
    rows = [[p["id"], p["kind"], "/".join(p["languages"]), p["name"]] for p in programmes]
    return _table(rows, ["id", "kind", "languages", "name"])


def render_deployments(registered: list[dict[str, Any]]) -> str:
    first = registered[0]
    lines = [f"{len(registered)} deployments on {first['server']}, work pool "
             f"{first['work_pool']!r}, flows from {first['folder']}:"]
    width = max(len(d["deployment"]) for d in registered)
    lines += [f"  {d['deployment']:<{width}}  {d['schedule']}" for d in registered]
    lines.append(f"Start a worker on each machine: prefect worker start --pool "
                 f"{first['work_pool']} (same checkout, environment and DOMUS_* settings)")
    return "\n".join(lines)


def render_watched(outcome: dict[str, Any]) -> str:
    if outcome["status"] == "failed":
        return f"failed {outcome['file']}: {outcome['error']} (kept as {outcome['moved_to']})"
    return f"done   {outcome['file']}: {render_summary(outcome['summary']).splitlines()[0]}"
