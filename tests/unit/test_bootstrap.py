"""Wiring an OCMW's own playbooks and closures from the settings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from domus.bootstrap import ConfigurationError, build_rulebook
from domus.settings import Settings

OWN_PLAYBOOK = """
[[task]]
kind = "invitation_letter"
trigger = "opening"
due = "received_on + 1 working day"
rule = "Schaerbeek: invitation the next working day"
"""


def test_an_ocmw_playbook_file_replaces_the_default_for_that_ocmw(tmp_path: Path) -> None:
    (tmp_path / "21015.toml").write_text(OWN_PLAYBOOK, encoding="utf-8")

    rules = build_rulebook(Settings(playbook_dir=tmp_path))

    assert [r.kind for r in rules.playbook_for("21015").rules] == ["invitation_letter"]
    assert len(rules.playbook_for("21009").rules) == 10


def test_a_broken_playbook_is_refused_naming_the_file_and_task(tmp_path: Path) -> None:
    broken = OWN_PLAYBOOK.replace("received_on + 1 working day", "received_on plus one")
    (tmp_path / "default.toml").write_text(broken, encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"default\.toml: task 1, field 'due'"):
        build_rulebook(Settings(playbook_dir=tmp_path))


def test_closures_from_the_environment_shift_internal_deadlines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOMUS_CLOSURES", "2026-11-03, 2026-11-04")

    rules = build_rulebook(Settings())

    assert rules.calendar.add_working_days(date(2026, 11, 2), 1) == date(2026, 11, 5)
    assert rules.calendar.add_working_days(date(2026, 11, 2), 1, internal=False) == date(
        2026, 11, 3)
