"""The dependency check in CI (issue 8): pip-audit on the installed environment fails the
suite on a known vulnerability. The checker is proved on pip-audit's own JSON and on a
real pip-audit run against a local OSV service that reports one; the run against the
real service says how many packages it could audit, and warns when none (on a machine
whose package proxy lacks PyPI's JSON API and cannot reach OSV, every package is skipped)."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit.py"
_spec = importlib.util.spec_from_file_location("domus_audit", SCRIPT)
assert _spec and _spec.loader
audit = importlib.util.module_from_spec(_spec)
sys.modules["domus_audit"] = audit  # its dataclasses look their module up
_spec.loader.exec_module(audit)

VULNERABLE = "click"  # installed here (the command line is built on it)


def test_a_reported_vulnerability_fails_the_check() -> None:
    report = {"dependencies": [
        {"name": "jinja2", "version": "3.1.2", "vulns": [
            {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": [],
             "description": "xmlattr filter allows keys with spaces"}]},
        {"name": "lxml", "version": "6.0.0", "vulns": []},
        {"name": "aiosmtpd", "skip_reason": "Dependency not found on PyPI and could not "
                                            "be audited: aiosmtpd (1.4.6)"}], "fixes": []}
    found = audit.summarise(report)
    assert found.vulnerable == {"jinja2 3.1.2": ["GHSA-h5c8-rqwp-cp95"]}
    assert found.audited == ["jinja2 3.1.2", "lxml 6.0.0"] and list(found.skipped) == \
        ["aiosmtpd"]
    lines = found.lines()
    assert lines[0] == "pip-audit: audited 2 of 3 packages, skipped 1"
    assert "  VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95" in lines
    assert not any("NOT AUDITED" in line for line in lines)


def test_everything_skipped_is_said_to_be_not_audited() -> None:
    found = audit.summarise({"dependencies": [
        {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: "
                                   f"{n} (1.0)"} for n in ("a", "b")]})
    assert not found.vulnerable and not found.audited
    assert any(line.startswith("  NOT AUDITED") for line in found.lines())


class FakeOsv(BaseHTTPRequestHandler):
    """OSV's /v1/query: one advisory for VULNERABLE, none for anything else."""

    queried: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        FakeOsv.queried.append(name)
        answer: dict[str, Any] = {}
        if name == VULNERABLE:
            answer = {"vulns": [{"id": "DOMUS-TEST-0001", "summary": "planted by the test",
                                 "affected": [{"package": {"name": name, "ecosystem": "PyPI"},
                                               "ranges": [{"type": "ECOSYSTEM", "events": [
                                                   {"introduced": "0"},
                                                   {"fixed": "999.0"}]}]}]}]}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_osv() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def test_pip_audit_finds_a_vulnerability_a_service_reports(fake_osv: str,
                                                           capsys: pytest.CaptureFixture
                                                           ) -> None:
    """The whole chain, pip-audit included, on this environment: exit status 1 and the
    package named."""
    FakeOsv.queried.clear()
    assert audit.main(["--service", "osv", "--osv-url", fake_osv]) == 1
    out = capsys.readouterr().out
    assert f"VULNERABLE {VULNERABLE} " in out and "DOMUS-TEST-0001" in out
    assert VULNERABLE in FakeOsv.queried and len(FakeOsv.queried) > 50
    assert "skipped 0" in out.splitlines()[0] or "editable" in out  # all looked up


def test_the_installed_environment_has_no_known_vulnerability() -> None:
    found = audit.summarise(audit.run_pip_audit())
    print("\n".join(found.lines()))  # shown with -rP / on failure
    assert not found.vulnerable, "\n".join(found.lines())
    if not found.audited:
        warnings.warn("pip-audit could not reach a vulnerability service: "
                      f"0 of {found.total} packages audited ({found.lines()[1].strip()})",
                      stacklevel=1)
