"""My tasks: a caseworker's overdue, today's and this week's tasks with why and the legal
date; a task marked done leaves the list; another OCMW's tasks never show."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from domus.bootstrap import Domus
from tests.builders import petition
from tests.integration.test_sweep import ingest
from tests.web_support import add_people, logged_in

MONDAY = datetime(2026, 11, 9, 9, 0)  # a week after the petition of 2 November arrived


def test_my_tasks_lists_what_is_overdue_due_today_and_this_week(domus: Domus,
                                                                 tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    page = logged_in(domus, "caseworker", now=MONDAY).get("/tasks")
    assert page.status_code == 200
    overdue, today = (section(page.text, key) for key in ("overdue", "today"))
    assert "Uitnodigingsbrief aan de huurder" in overdue  # due 4 November
    assert "Eerste contactpoging" in today  # received + 5 working days: 9 November
    assert "El Idrissi" in page.text and "26A1" in page.text
    tuesday = logged_in(domus, "caseworker", now=datetime(2026, 11, 10, 9, 0)).get("/tasks")
    assert "Eerste contactpoging" in section(tuesday.text, "overdue")
    # received + 10 working days, 11 November a holiday: 17 November, within seven days
    assert "Huisbezoek" in section(tuesday.text, "week")
    assert "Zitting" in page.text  # the hearing of 10 December is the legal date shown


def section(page: str, key: str) -> str:
    return page.split(f'id="{key}"')[1].split("</section>")[0]


def test_a_task_marked_done_leaves_the_list(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    alice = logged_in(domus, "caseworker", now=MONDAY)
    page = alice.get("/tasks")
    first = page.text.split('action="/tasks/')[1].split("/done")[0]
    assert alice.post(f"/tasks/{first}/done").status_code == 303
    assert f'action="/tasks/{first}/done"' not in alice.get("/tasks").text


def test_another_ocmws_caseworker_sees_none_of_these_tasks(domus: Domus,
                                                           tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    eve = logged_in(domus, "elsewhere", now=MONDAY)
    page = eve.get("/tasks")
    assert "26A1" not in page.text
    alice = logged_in(domus, "caseworker", now=MONDAY)
    task = alice.get("/tasks").text.split('action="/tasks/')[1].split("/done")[0]
    assert eve.post(f"/tasks/{task}/done").status_code == 404


def test_the_page_speaks_the_users_language(domus: Domus, tmp_path: Path) -> None:
    add_people(domus)
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1")])
    alice = logged_in(domus, "caseworker", now=MONDAY)
    assert alice.post("/language", {"language": "fr", "next": "/tasks"}).status_code == 303
    page = alice.get("/tasks")
    assert "Mes tâches" in page.text and "Première tentative de contact" in page.text
    assert 'lang="fr"' in page.text


def test_many_overdue_tasks_neither_hide_todays_nor_all_show_at_once(domus: Domus,
                                                                     tmp_path: Path) -> None:
    """Sixty petitions received a month ago: 180 overdue tasks (invitation, first contact,
    home visit), yet the one received a week ago still shows its task due today; the oldest
    50 overdue show, and "show more" shows the rest."""
    add_people(domus)
    old = [petition(f"26B{n}", received_on="2026-10-05", filed_on="2026-10-01")
           for n in range(60)]
    ingest(domus, tmp_path / "n.jsonl", [*old, petition("26A1")])
    alice = logged_in(domus, "caseworker", now=MONDAY)
    page = alice.get("/tasks")
    overdue = section(page.text, "overdue")
    assert overdue.count('action="/tasks/') == 50
    assert "Eerste contactpoging" in section(page.text, "today")  # 26A1, due 9 November
    assert 'href="/tasks?shown=200#overdue"' in overdue
    more = alice.get("/tasks?shown=200")
    assert section(more.text, "overdue").count('action="/tasks/') == 181  # and 26A1's letter
    assert alice.get("/tasks?shown=0").status_code == 422
