"""Hostile letter templates sent the two ways an administrator adds one (issue 8): the web
Templates page and `domus templates add`. Each is refused with the reason, nothing is kept
(no version, no file), and the version in use stays the packaged one. SQLite only: the
checks do not touch the database beyond the version table."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from domus.bootstrap import Domus, bootstrap
from domus.cli import cli
from domus.settings import Settings
from store import tables as t
from tests.template_attacks import INJECTIONS, PACKAGES, with_text
from tests.web_support import add_people, logged_in

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REFUSED = "not allowed|undeclared|syntax|calls itself"
ATTACKS = {**{label: (lambda text=text: (with_text(text), REFUSED))
              for label, text in INJECTIONS.items()}, **PACKAGES}


@pytest.fixture
def admin_domus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Domus]:
    url = f"sqlite:///{tmp_path / 'domus.db'}"
    monkeypatch.setenv("DOMUS_DATABASE_URL", url)  # the command line reads the environment
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    app = bootstrap(Settings())
    add_people(app)
    yield app
    app.engine.dispose()


def uploaded(domus: Domus) -> list[tuple[str, str, int]]:
    with domus.engine.connect() as connection:
        return [(r.kind, r.language, r.version) for r in connection.execute(
            select(t.letter_templates).where(t.letter_templates.c.source == "uploaded"))]


def kept_files(domus: Domus) -> list[Path]:
    folder = domus.settings.data_dir / "templates"
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_every_hostile_template_is_refused_on_the_page_and_by_the_command(
        admin_domus: Domus, tmp_path: Path) -> None:
    import re

    carol = logged_in(admin_domus, "administrator")
    problems = []
    for label, build in ATTACKS.items():
        data, reason = build()
        page = carol.post("/templates", {"kind": "tenant_invitation", "lang": "fr"},
                          files={"file": ("letter.docx", data, DOCX)})
        shown = html.unescape(page.text)
        if page.status_code != 422 or not re.search(reason, shown, re.IGNORECASE):
            problems.append(f"web, {label}: {page.status_code} {shown[-300:]!r}")
        path = tmp_path / "letter.docx"
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["templates", "add", "tenant_invitation", "fr",
                                          str(path)])
        if result.exit_code == 0 or not re.search(reason, result.stderr, re.IGNORECASE):
            problems.append(f"command, {label}: exit {result.exit_code} {result.stderr!r}")
        elif "Traceback" in result.stderr or len(result.stderr.splitlines()) > 2:
            problems.append(f"command, {label}: not one clear line: {result.stderr!r}")
    assert not problems, "\n".join(problems)
    assert uploaded(admin_domus) == [] and kept_files(admin_domus) == []
    # the good template still goes in both ways: the refusals were the content's doing
    good = with_text("{{ tenant.full_name }}")
    assert carol.post("/templates", {"kind": "tenant_invitation", "lang": "fr"},
                      files={"file": ("letter.docx", good, DOCX)}).status_code == 303
    (tmp_path / "good.docx").write_bytes(good)
    assert CliRunner().invoke(cli, ["templates", "add", "tenant_invitation", "nl",
                                    str(tmp_path / "good.docx")]).exit_code == 0
    assert len(uploaded(admin_domus)) == 2
