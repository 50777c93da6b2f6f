"""Schemathesis against the API's OpenAPI description (CONTRACT.md, issue 6): whatever an
administrator with a valid token sends to any operation — data that fits the description or
data that does not — Domus answers without a server error. In process (ASGI, no server), on
SQLite and PostgreSQL, bounded to 25 examples per operation and mode.

Schemathesis 4's pytest plugin (`@schema.parametrize()` with `from_fixture`) does not run
under pytest 9 (it reads `node._nodeid`), so each operation's Hypothesis strategy is driven
with `@given` here instead."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from domain.statistics import OUTCOMES
from domus.bootstrap import Domus
from services.users import add_user, issue_token
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest
from web.app import create_app

ADMIN = "carol@schaerbeek.be"
EXAMPLES = 25


@pytest.fixture
def api(domus: Domus, tmp_path: Path) -> tuple[Any, str, str]:
    """The loaded API description, an administrator's token and a real case of theirs."""
    add_user(domus.engine, email=ADMIN, name="Carol", role="administrator", ocmw="21015",
             language="nl", password=None, now=NOW, rules=domus.rules)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    with domus.engine.connect() as connection:
        case_id = connection.scalar(select(t.cases.c.id))
    token = issue_token(domus.engine, ADMIN, kind="api", now=NOW)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(domus, clock=lambda: NOW))
    return schema, token, case_id


def test_no_api_operation_answers_with_a_server_error(api: tuple[Any, str, str]) -> None:
    schema, token, case_id = api
    auth = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /api/tasks", "GET /api/cases/{case_id}", "POST /api/cases/{case_id}/contacts",
        "POST /api/cases/{case_id}/outcome", "POST /api/notices", "GET /api/stats"}
    for operation in operations:
        strategies = [operation.as_strategy(mode) for mode in GenerationMode]
        if "{case_id}" in operation.path:  # half the time the real case, to get past its 404
            strategies += [operation.as_strategy(mode, path_parameters={"case_id": case_id})
                           for mode in GenerationMode]
        if operation.label == "POST /api/cases/{case_id}/outcome":  # a known code now and then
            since_notice = st.dates(date(2026, 11, 2), NOW.date())
            strategies.append(st.tuples(st.sampled_from(OUTCOMES), since_notice).flatmap(
                lambda pair, op=operation: op.as_strategy(
                    path_parameters={"case_id": case_id},
                    body={"code": pair[0], "on": pair[1].isoformat()})))

        @given(case=st.one_of(strategies))
        @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case: Any) -> None:
            case.call_and_validate(headers=auth, checks=[not_a_server_error])

        try:
            no_server_error()
        except BaseException as exc:
            exc.add_note(f"operation: {operation.label}")
            raise
