"""`domus deploy`'s deployments (domus/deploy.py) without a server: which flows, which
schedules, and that a scheduled run reads its clock when it starts, never at deploy time.
Registering them on a real server, twice, is in tests/e2e/test_scale_e2e.py."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from domain.values import BRUSSELS
from domus.deploy import CHECKOUT, specs
from domus.settings import Settings
from workflows.monitoring import previous_month
from workflows.runtime import moment


def load(entrypoint: str):  # type: ignore[no-untyped-def]
    """The flow an entrypoint names, loaded from its file as the worker loads it."""
    file, name = entrypoint.split(":")
    spec = importlib.util.spec_from_file_location(f"entry_{Path(file).stem}", CHECKOUT / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_the_six_deployments_run_flows_of_this_checkout() -> None:
    found = specs(Settings())
    assert [s.full_name for s in found] == [
        "intake/domus-intake", "sweep/domus-sweep", "digest/domus-digest",
        "letters/domus-letters", "monthly-report/domus-monthly-report",
        "retention/domus-retention"]
    for spec in found:
        flow = load(spec.entrypoint)
        assert flow.name == spec.flow


def test_no_deployment_fixes_the_moment_at_deploy_time() -> None:
    for spec in specs(Settings()):
        flow = load(spec.entrypoint)
        parameters = inspect.signature(flow.fn).parameters
        assert parameters["now"].default is None, spec.flow
        assert "now" not in spec.parameters and "now" not in str(spec.schedules)
        required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
        assert required == (["paths"] if spec.flow == "intake" else []), spec.flow


def test_the_schedules_are_brussels_times_and_the_sweep_follows_its_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMUS_SWEEP_MINUTES", "7")
    found = {spec.flow: spec.schedules for spec in specs(Settings())}
    assert found["intake"] == []
    assert found["sweep"][0].interval == timedelta(minutes=7)
    assert {flow: schedules[0].cron for flow, schedules in found.items() if flow not in (
        "intake", "sweep")} == {"digest": "30 7 * * 1-5", "letters": "0 7 * * 1-5",
                                "monthly-report": "0 6 1 * *", "retention": "0 3 * * *"}
    for flow, schedules in found.items():
        for schedule in schedules:
            assert schedule.timezone == "Europe/Brussels", flow
            assert schedule.slug == f"domus-{flow}", flow  # a redeploy updates it in place


def test_a_run_without_a_moment_takes_the_time_in_brussels_when_it_starts() -> None:
    given = datetime(2026, 11, 23, 9, 0)
    assert moment(given) is given
    before = datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)
    taken = moment(None)
    assert taken.tzinfo is None and taken.microsecond == 0
    assert before <= taken <= before + timedelta(seconds=2)


def test_the_monthly_report_of_a_scheduled_run_is_for_the_month_before() -> None:
    assert previous_month(date(2026, 12, 1)) == "2026-11"
    assert previous_month(date(2026, 1, 31)) == "2025-12"
    assert previous_month(date(2026, 3, 1)) == "2026-02"


def test_deploy_without_a_prefect_server_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DOMUS_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "DOMUS_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "domus", "deploy"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "PREFECT_API_URL is not set" in done.stderr
