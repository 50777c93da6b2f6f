"""The dependency check in CI (issue 8): pip-audit on the installed environment fails the
suite on a known vulnerability. The checker is proved on pip-audit's own JSON and on a
real pip-audit run against a local OSV service that reports one, and the fallback for what
pip-audit skips (PyPI's project JSON, when a package proxy answers 404 to the per-version
JSON, as this machine's does) on a local PyPI. The run against the real services says how
many packages it could audit, and warns when none."""

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


class FakeProjects(BaseHTTPRequestHandler):
    """PyPI's /pypi/NAME/json: the latest release and its vulnerabilities."""

    projects: dict[str, dict[str, Any]] = {
        "jinja2": {"info": {"version": "3.1.2"}, "vulnerabilities": [
            {"id": "GHSA-h5c8-rqwp-cp95", "fixed_in": ["3.1.3"], "withdrawn": None},
            {"id": "PYSEC-WITHDRAWN", "fixed_in": ["3.1.3"], "withdrawn": "2024-01-01"}]},
        "lxml": {"info": {"version": "6.0.0"}, "vulnerabilities": []},
        "numpy": {"info": {"version": "2.5.0"}, "vulnerabilities": []},
        "click": {"info": {"version": "8.3.0"}, "vulnerabilities": []}}
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        name = self.path.split("/")[2]
        FakeProjects.asked.append(name)
        project = self.projects.get(name)
        body = json.dumps(project).encode()
        self.send_response(200 if project else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_what_pip_audit_skipped_is_looked_up_in_the_project_json() -> None:
    """The fallback for a proxy without per-version JSON: a package at its latest release
    is audited with that release's advisories (withdrawn ones left out); an older one, one
    the proxy does not know and the editable project itself stay skipped, with the reason."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProjects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeProjects.asked.clear()
    installed = {"jinja2": "3.1.2", "lxml": "6.0", "numpy": "2.4.6", "click": "8.3.0",
                 "aiosmtpd": "1.4.6"}
    found = audit.summarise({"dependencies": [
        *({"name": n, "skip_reason": f"{audit.NOT_FOUND} and could not be audited: {n} "
                                     f"({v})"} for n, v in installed.items()),
        {"name": "domus", "skip_reason": "distribution marked as editable"}]})
    try:
        audit.audit_from_project_json(
            found, installed.get,
            f"http://127.0.0.1:{server.server_address[1]}/pypi/{{name}}/json")
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(FakeProjects.asked) == sorted(installed)  # not domus
    assert found.vulnerable == {"jinja2 3.1.2": ["GHSA-h5c8-rqwp-cp95"]}
    assert sorted(found.from_project_json) == ["click 8.3.0", "jinja2 3.1.2", "lxml 6.0"]
    assert found.skipped["numpy"].endswith("2.4.6 < 2.5.0")
    assert "answered 404" in found.skipped["aiosmtpd"]
    assert found.skipped["domus"] == "distribution marked as editable"
    lines = found.lines()
    assert lines[:2] == ["pip-audit: audited 3 of 6 packages, skipped 3",
                         "  audited 3 from PyPI's project JSON (installed version = latest "
                         "release)"]
    assert "    numpy: 2.4.6 < 2.5.0" in lines
    assert "  VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95" in lines


def test_the_installed_environment_has_no_known_vulnerability() -> None:
    found = audit.summarise(audit.run_pip_audit())
    if any(reason.startswith(audit.NOT_FOUND) for reason in found.skipped.values()):
        audit.audit_from_project_json(found, audit.installed_version)
    print("\n".join(found.lines()))  # shown with -rP / on failure
    assert not found.vulnerable, "\n".join(found.lines())
    if not found.audited:
        warnings.warn("pip-audit could not reach a vulnerability service: "
                      f"0 of {found.total} packages audited ({found.lines()[1].strip()})",
                      stacklevel=1)
