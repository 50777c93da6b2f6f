"""Check the installed dependencies for known vulnerabilities with pip-audit (issue 8).

    .venv/bin/python scripts/audit.py [--service pypi|osv] [--osv-url URL]

Runs `pip-audit --skip-editable -f json` on the virtual environment, prints how many
packages were audited and how many skipped (and why), each vulnerability found, and exits
1 when there is one. A package pip-audit could not look up is *skipped*, not cleared:
when the vulnerability service cannot be reached (no internet, a package proxy without
PyPI's JSON API) every package is skipped and pip-audit still says "No known
vulnerabilities found"; this script says "NOT AUDITED" instead, and `--strict` makes that
an error too. tests/unit/test_dependency_audit.py runs it in CI.

A second source for what pip-audit skipped: PyPI's project JSON (/pypi/NAME/json), which
some package proxies serve while answering 404 to the per-version JSON pip-audit asks for
(this machine's does). Its "vulnerabilities" are those of the project's latest release, so
it clears or flags an installed version only when that version *is* the latest; an older
one stays skipped, with that reason. `--no-project-json` turns it off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
PYPI_PROJECT_URL = "https://pypi.org/pypi/{name}/json"
NOT_FOUND = "Dependency not found on PyPI"  # pip-audit's skip reason when a lookup failed


@dataclass
class Audit:
    """What one pip-audit run found."""

    audited: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # package → reason
    vulnerable: dict[str, list[str]] = field(default_factory=dict)  # "name version" → ids
    from_project_json: list[str] = field(default_factory=list)  # audited by the fallback

    @property
    def total(self) -> int:
        return len(self.audited) + len(self.skipped)

    def lines(self) -> list[str]:
        """The report, one finding a line."""
        found = [f"pip-audit: audited {len(self.audited)} of {self.total} packages, "
                 f"skipped {len(self.skipped)}"]
        if self.from_project_json:
            found.append(f"  audited {len(self.from_project_json)} from PyPI's project JSON "
                         "(installed version = latest release)")
        reasons = Counter(_reason_kind(reason) for reason in self.skipped.values())
        found += [f"  skipped {count}: {kind}" for kind, count in reasons.most_common()]
        if len(self.skipped) < self.total:  # a few, worth naming (all: the service is down)
            found += [f"    {name}: {reason.rsplit(': ', 1)[-1]}"
                      for name, reason in sorted(self.skipped.items())]
        if self.total and not self.audited:
            found.append("  NOT AUDITED: no package could be looked up in the vulnerability "
                         "service (unreachable?); no vulnerability found means nothing here")
        found += [f"  VULNERABLE {package}: {', '.join(ids)}"
                  for package, ids in sorted(self.vulnerable.items())]
        return found


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0] if ":" in reason else reason


def summarise(report: dict[str, Any]) -> Audit:
    """pip-audit's JSON (`-f json`) → audited, skipped and vulnerable packages."""
    audit = Audit()
    for dependency in report.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '?')}"
        if "skip_reason" in dependency:
            audit.skipped[dependency["name"]] = dependency["skip_reason"]
            continue
        audit.audited.append(name)
        ids = [vuln["id"] for vuln in dependency.get("vulns", [])]
        if ids:
            audit.vulnerable[name] = ids
    return audit


def _project(url: str, name: str, timeout: float) -> dict[str, Any] | str:
    """PyPI's project JSON for `name`, or why it could not be had."""
    try:
        with urllib.request.urlopen(url.format(name=name), timeout=timeout) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return f"project JSON answered {error.code}"
    except (OSError, ValueError) as error:
        return f"project JSON unreachable ({type(error).__name__})"


def audit_from_project_json(audit: Audit, installed: Callable[[str], str | None],
                            url: str = PYPI_PROJECT_URL, timeout: float = 20) -> None:
    """Look up what pip-audit skipped in PyPI's project JSON: a package whose installed
    version is the project's latest release is audited with that release's vulnerabilities
    (withdrawn ones left out); any other stays skipped with the reason."""
    from packaging.version import InvalidVersion, Version

    names = sorted(name for name, reason in audit.skipped.items()
                   if reason.startswith(NOT_FOUND))  # not the editable project itself
    with ThreadPoolExecutor(8) as pool:
        projects = list(pool.map(lambda n: _project(url, n, timeout), names))
    for name, project in zip(names, projects, strict=True):
        version = installed(name)
        if isinstance(project, str) or version is None:
            if isinstance(project, str):
                audit.skipped[name] += f"; {project}"
            continue
        latest = project.get("info", {}).get("version", "")
        try:
            same = Version(latest) == Version(version)
        except InvalidVersion:
            same = latest == version
        if not same:
            audit.skipped[name] = ("older than its latest release, the only one PyPI's "
                                   f"project JSON describes: {version} < {latest}")
            continue
        del audit.skipped[name]
        package = f"{name} {version}"
        audit.audited.append(package)
        audit.from_project_json.append(package)
        ids = [v["id"] for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]
        if ids:
            audit.vulnerable[package] = ids


def installed_version(name: str) -> str | None:
    """The version of `name` in this virtual environment (this script runs in it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def run_pip_audit(*extra: str, timeout: float = 300) -> dict[str, Any]:
    """pip-audit on this virtual environment; its JSON report (exit 1 means vulnerable)."""
    command = [str(VENV_BIN / "pip-audit"), "--skip-editable", "-f", "json",
               "--progress-spinner", "off", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"pip-audit failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    parser.add_argument("--osv-url", help="an OSV-compatible query URL")
    parser.add_argument("--strict", action="store_true",
                        help="also fail when no package could be audited")
    parser.add_argument("--no-project-json", action="store_true",
                        help="do not look up what pip-audit skipped in PyPI's project JSON")
    parser.add_argument("--project-url", default=PYPI_PROJECT_URL,
                        help="the project JSON URL, {name} for the package")
    options = parser.parse_args(argv)
    extra = ["-s", options.service]
    if options.osv_url:
        extra += ["--osv-url", options.osv_url]
    audit = summarise(run_pip_audit(*extra))
    if audit.skipped and not options.no_project_json:
        audit_from_project_json(audit, installed_version, options.project_url)
    print("\n".join(audit.lines()))
    if audit.vulnerable:
        return 1
    return 2 if options.strict and not audit.audited else 0


if __name__ == "__main__":
    sys.exit(main())
