"""The review queues in a regional deployment: an administrator sees the quarantined records,
the triage cases and the batches their own OCMW imported, and those the local operator
imported from the command line; another OCMW's are "not found", never "forbidden".

Carol (Schaerbeek) imports a file with a bad row and an unroutable row through the web;
Dave is the administrator of Anderlecht.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus
from services import review
from services.users import issue_token
from store import tables as t
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest
from tests.integration.test_web_import import (
    GOOD,
    HEADER,
    NO_HEARING_DATE,
    anderlecht_admin,
    app_for,
    browser,
    case_of,
    form_of,
    open_entries,
    upload,
)
from tests.web_support import ANDERLECHT, SCHAERBEEK, Browser, add_people

#: 1050 is Ixelles' postcode, Evere another commune: no OCMW can be told
UNROUTABLE = ("petition;Vredegerecht Schaarbeek;26A9;02/11/2026;27/10/2026;10/12/2026 09:30;"
              "Lena;Claes;nl;Rue Royale;9;1050;Evere;\r\n")
FILE = (HEADER + GOOD + NO_HEARING_DATE + UNROUTABLE).encode("cp1252")
CAROL = "carol@schaerbeek.be"


def carol_imports(domus: Domus) -> tuple[Browser, str]:
    """Carol uploads FILE; her browser and the batch page's address."""
    carol = browser(domus)
    answer = upload(carol, "schaerbeek-nov.csv", FILE)
    assert answer.status_code == 303
    return carol, answer.headers["location"]


def counts(who: Browser) -> dict[str, int]:
    page = who.get("/import").text
    return {queue: int(n) for queue, n in re.findall(
        r'href="/import/(quarantine|triage)">[^<]+</a> <span class="count">(\d+)<', page)}


def batch_rows(domus: Domus) -> list[tuple[str, str | None, str | None]]:
    with domus.engine.connect() as connection:
        return [(row.source, row.ocmw, row.imported_by) for row in connection.execute(
            select(t.batches).order_by(t.batches.c.id))]


def test_another_ocmws_administrator_neither_sees_nor_reaches_an_import(domus: Domus) -> None:
    add_people(domus)
    _, batch_page = carol_imports(domus)
    [entry] = open_entries(domus)
    waiting = case_of(domus, "26A9")
    assert waiting.ocmw is None
    dave = anderlecht_admin(domus)

    quarantine = dave.get("/import/quarantine").text
    assert f"/import/quarantine/{entry}" not in quarantine and "schaerbeek-nov" not in quarantine
    assert "26A9" not in dave.get("/import/triage").text
    assert counts(dave) == {"quarantine": 0, "triage": 0}
    assert "schaerbeek-nov" not in dave.get("/import").text
    assert dave.get(batch_page).status_code == 404
    with domus.engine.connect() as connection:
        batch_id = connection.scalar(select(t.batches.c.id))
    assert dave.get(f"/import/batches/{batch_id}").status_code == 404
    assert dave.post(f"{batch_page}/run").status_code == 404

    page = dave.get(f"/import/quarantine/{entry}")
    assert page.status_code == 404 and "Peeters" not in page.text  # the raw record's tenant
    fix = dave.post(f"/import/quarantine/{entry}", {"hearing_at": "10/12/2026 09:30"})
    assert fix.status_code == 404
    route = dave.post(f"/import/triage/{waiting.id}", {"ocmw": ANDERLECHT})
    assert route.status_code == 404

    assert open_entries(domus) == [entry] and case_of(domus, "26A2") is None
    assert case_of(domus, "26A9").ocmw is None
    with domus.engine.connect() as connection:
        assert review.triage_queue(connection, dave_actor()) == []
        assert review.quarantined(connection, dave_actor(), include_resolved=True) == []
        # the operator sees every OCMW's; a caseworker no queue at all
        assert [e["id"] for e in review.quarantined(connection, Actor.operator())] == [entry]
        assert len(review.triage_queue(connection, Actor.operator())) == 1
        alice = Actor("alice@schaerbeek.be", "caseworker", SCHAERBEEK)
        assert review.quarantined(connection, alice) == []
        assert review.triage_queue(connection, alice) == []


def dave_actor() -> Actor:
    return Actor("dave@anderlecht.be", "administrator", ANDERLECHT)


def test_the_importing_ocmws_administrator_sees_and_fixes_both(domus: Domus) -> None:
    add_people(domus)
    carol, batch_page = carol_imports(domus)
    [entry] = open_entries(domus)
    waiting = case_of(domus, "26A9")

    assert counts(carol) == {"quarantine": 1, "triage": 1}
    assert "schaerbeek-nov.csv" in carol.get("/import").text
    assert carol.get(batch_page).status_code == 200
    assert f"/import/quarantine/{entry}" in carol.get("/import/quarantine").text
    assert "26A9" in carol.get("/import/triage").text
    page = carol.get(f"/import/quarantine/{entry}")
    assert page.status_code == 200 and "Peeters" in page.text

    form = form_of(page.text, f"/import/quarantine/{entry}")
    fixed = carol.post(f"/import/quarantine/{entry}", form | {"hearing_at": "10/12/2026 09:30"})
    routed = carol.post(f"/import/triage/{waiting.id}", {"ocmw": SCHAERBEEK})

    assert fixed.status_code == 303 and routed.status_code == 303
    assert open_entries(domus) == [] and case_of(domus, "26A2").ocmw == SCHAERBEEK
    assert case_of(domus, "26A9").ocmw == SCHAERBEEK
    assert counts(carol) == {"quarantine": 0, "triage": 0}
    # the correction's batch is Carol's OCMW's as the file's was
    assert batch_rows(domus)[-1][1:] == (SCHAERBEEK, CAROL)


def test_a_correction_still_wrong_stays_in_the_queue_of_the_importing_ocmw(
        domus: Domus) -> None:
    add_people(domus)
    carol, _ = carol_imports(domus)
    [entry] = open_entries(domus)
    form = form_of(carol.get(f"/import/quarantine/{entry}").text, f"/import/quarantine/{entry}")

    again = carol.post(f"/import/quarantine/{entry}", form | {"hearing_at": "31/12/2026 25:00"})

    [successor] = open_entries(domus)
    assert again.status_code == 303 and successor != entry
    assert carol.get(f"/import/quarantine/{successor}").status_code == 200
    assert anderlecht_admin(domus).get(f"/import/quarantine/{successor}").status_code == 404


def test_command_line_imports_are_reviewed_by_every_administrator(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [
        petition("26C1", hearing_at="bientôt"),
        petition("26C2", dwelling__postcode="1050", dwelling__municipality="Evere")])
    [entry] = open_entries(domus)
    waiting = case_of(domus, "26C2")
    carol, dave = browser(domus), anderlecht_admin(domus)

    for admin in (carol, dave):
        assert counts(admin) == {"quarantine": 1, "triage": 1}
        assert f"/import/quarantine/{entry}" in admin.get("/import/quarantine").text
        assert "26C2" in admin.get("/import/triage").text
        assert admin.get(f"/import/quarantine/{entry}").status_code == 200
        assert "n.jsonl" in admin.get("/import").text

    assert dave.post(f"/import/triage/{waiting.id}", {"ocmw": ANDERLECHT}).status_code == 303
    assert case_of(domus, "26C2").ocmw == ANDERLECHT
    assert batch_rows(domus) == [(str(tmp_path / "n.jsonl"), None, None)]


def test_the_batches_carry_the_ocmw_and_the_person_who_imported_them(
        domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    carol_imports(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26C1")])

    [web, command_line] = batch_rows(domus)

    assert web[0].endswith("-schaerbeek-nov.csv") and web[1:] == (SCHAERBEEK, CAROL)
    assert command_line[1:] == (None, None)


def test_an_administrators_api_import_records_them_as_its_owner(domus: Domus) -> None:
    add_people(domus)
    token = issue_token(domus.engine, CAROL, kind="api", now=NOW)
    client = app_for(domus)

    answer = client.post("/api/notices", headers={"Authorization": f"Bearer {token}"},
                         json=[petition("26D1"), petition("26D2", hearing_at="bientôt")])

    assert answer.status_code == 200 and len(answer.json()["quarantined"]) == 1
    [(source, ocmw, imported_by)] = batch_rows(domus)
    assert "/incoming/api-" in source and (ocmw, imported_by) == (SCHAERBEEK, CAROL)
    [entry] = open_entries(domus)
    assert anderlecht_admin(domus).get(f"/import/quarantine/{entry}").status_code == 404
    assert browser(domus).get(f"/import/quarantine/{entry}").status_code == 200


def test_another_ocmws_administrator_cannot_read_an_unrouted_case_anywhere(
        domus: Domus) -> None:
    """The unrouted case opened by Carol's import is Schaerbeek's to route: Dave finds it
    neither in the case list, nor on its page, nor through its audit trail or the API."""
    add_people(domus)
    carol, _ = carol_imports(domus)
    waiting = case_of(domus, "26A9")
    dave = anderlecht_admin(domus)
    assert f"/cases/{waiting.id}" not in dave.get("/cases?q=26A9").text
    assert f"/cases/{waiting.id}" not in dave.get("/cases?status=triage").text
    assert dave.get(f"/cases/{waiting.id}").status_code == 404
    assert dave.get(f"/cases/{waiting.id}/audit.json").status_code == 404
    assert dave.post(f"/cases/{waiting.id}/contacts",
                     {"contact": "phone/reached"}).status_code == 404
    token = issue_token(domus.engine, "dave@anderlecht.be", kind="api", now=NOW)
    api = dave.client.get(f"/api/cases/{waiting.id}",
                          headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 404
    assert "Claes" not in api.text
    # Carol, whose OCMW imported it, reads it
    assert f"/cases/{waiting.id}" in carol.get("/cases?q=26A9").text
    assert carol.get(f"/cases/{waiting.id}").status_code == 200
    with domus.engine.connect() as connection:
        assert connection.scalar(select(t.contacts.c.id)) is None
