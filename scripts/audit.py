"""Check the installed dependencies for known vulnerabilities with pip-audit (issue 8).

    .venv/bin/python scripts/audit.py [--service pypi|osv] [--osv-url URL]

Runs `pip-audit --skip-editable -f json` on the virtual environment, prints how many
packages were audited and how many skipped (and why), each vulnerability found, and exits
1 when there is one. A package pip-audit could not look up is *skipped*, not cleared:
when the vulnerability service cannot be reached (no internet, a package proxy without
PyPI's JSON API) every package is skipped and pip-audit still says "No known
vulnerabilities found"; this script says "NOT AUDITED" instead, and `--strict` makes that
an error too. tests/unit/test_dependency_audit.py runs it in CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent


@dataclass
class Audit:
    """What one pip-audit run found."""

    audited: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # package → reason
    vulnerable: dict[str, list[str]] = field(default_factory=dict)  # "name version" → ids

    @property
    def total(self) -> int:
        return len(self.audited) + len(self.skipped)

    def lines(self) -> list[str]:
        """The report, one finding a line."""
        found = [f"pip-audit: audited {len(self.audited)} of {self.total} packages, "
                 f"skipped {len(self.skipped)}"]
        reasons = Counter(_reason_kind(reason) for reason in self.skipped.values())
        found += [f"  skipped {count}: {kind}" for kind, count in reasons.most_common()]
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
    options = parser.parse_args(argv)
    extra = ["-s", options.service]
    if options.osv_url:
        extra += ["--osv-url", options.osv_url]
    audit = summarise(run_pip_audit(*extra))
    print("\n".join(audit.lines()))
    if audit.vulnerable:
        return 1
    return 2 if options.strict and not audit.audited else 0


if __name__ == "__main__":
    sys.exit(main())
