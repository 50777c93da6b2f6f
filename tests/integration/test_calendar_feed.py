"""The calendar feed against a real database, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import insert, select, update

from domus.bootstrap import Domus
from services.calendar_feed import CalendarRefused, build_calendar
from services.intake import ingest_source
from services.readers import inspect_file
from store import tables as t
from tests.builders import eviction_notice, judgment, petition, write_jsonl
from tests.conftest import NOW

BASE_URL = "https://domus.example.be"
ANNA = "anna@ocmw.example.be"  # caseworker, holds the tasks of 26A1
BRAM = "bram@ocmw.example.be"  # caseworker on case 26A3, holds its tasks
LEA = "lea@ocmw.example.be"  # team lead of the same OCMW
IXELLES = "ines@cpas.example.be"  # caseworker of another OCMW (case 26A2)


def setup(domus: Domus, tmp_path: Path) -> dict[str, Any]:
    """Cases 26A1 and 26A3 in Schaerbeek, 26A2 in Ixelles; users of both OCMWs."""
    notices = [
        petition("26A1"), judgment("26A1"), eviction_notice("26A1"),
        petition("26A2", dwelling__postcode="1050", dwelling__municipality="Elsene"),
        petition("26A3", hearing_at="2026-12-17T14:00:00",
                 tenant__last_name="Peeters", tenant__first_name="Jan"),
    ]
    ingest_source(domus.engine, inspect_file(write_jsonl(tmp_path / "a.jsonl", notices)),
                  rules=domus.rules, now=NOW)
    with domus.engine.begin() as connection:
        cases = {row.docket_number: row for row in connection.execute(select(t.cases))}
        home, other = cases["26A1"].ocmw, cases["26A2"].ocmw
        assert home == cases["26A3"].ocmw and home != other
        people = [(ANNA, "Anna Janssens", "caseworker", home, "nl"),
                  (BRAM, "Bram Claes", "caseworker", home, "nl"),
                  (LEA, "Léa Dupont", "team_lead", home, "fr"),
                  (IXELLES, "Inès Martin", "caseworker", other, "fr"),
                  ("mona@region.example.be", "Mona", "monitor", None, "nl")]
        connection.execute(insert(t.users), [
            {"email": email, "name": name, "role": role, "ocmw": ocmw, "language": language,
             "password_hash": None, "active": True, "created_at": NOW}
            for email, name, role, ocmw, language in people])
        for docket, email in (("26A1", ANNA), ("26A2", IXELLES), ("26A3", BRAM)):
            connection.execute(update(t.tasks).where(t.tasks.c.case_id == cases[docket].id)
                               .values(assignee=email))
        connection.execute(update(t.cases).where(t.cases.c.id == cases["26A3"].id)
                           .values(caseworker=BRAM))
    return {docket: row.id for docket, row in cases.items()}


def feed(domus: Domus, email: str, now: datetime = NOW, **user: Any) -> Calendar:
    with domus.engine.connect() as connection:
        row = connection.execute(select(t.users).where(t.users.c.email == email)).one()
        person = {**row._mapping, **user}
        return Calendar.from_ical(build_calendar(connection, person, now=now,
                                                 base_url=BASE_URL))


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def task_ids(domus: Domus, case_id: str) -> dict[str, int]:
    with domus.engine.connect() as connection:
        return {row.kind: row.id for row in connection.execute(
            select(t.tasks.c.kind, t.tasks.c.id).where(t.tasks.c.case_id == case_id))}


def test_the_feed_is_valid_icalendar_with_its_timezone_and_stable_uids(
    domus: Domus, tmp_path: Path
) -> None:
    setup(domus, tmp_path)
    with domus.engine.connect() as connection:
        row = connection.execute(select(t.users).where(t.users.c.email == ANNA)).one()
        first = build_calendar(connection, row, now=NOW, base_url=BASE_URL)
        second = build_calendar(connection, row, now=NOW, base_url=BASE_URL + "/")

    assert first == second
    calendar = Calendar.from_ical(first)
    assert Calendar.from_ical(calendar.to_ical()).to_ical() == calendar.to_ical()
    assert str(calendar["prodid"]) == "-//Domus//Eviction prevention//NL-FR"
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["method"]) == "PUBLISH"
    assert str(calendar["x-wr-calname"]) == "Domus — Anna Janssens"
    assert str(calendar["x-wr-timezone"]) == "Europe/Brussels"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in first
    assert b"X-PUBLISHED-TTL:PT1H" in first
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]
    assert first.index(b"BEGIN:VTIMEZONE") < first.index(b"BEGIN:VEVENT")
    assert events(calendar)
    for event in calendar.walk("VEVENT"):
        assert event["dtstamp"].to_ical() == b"20261123T080000Z"
        assert event["last-modified"].to_ical() == b"20261123T080000Z"
        assert int(event["sequence"]) >= 0


def test_a_moved_deadline_keeps_its_uid_with_a_new_date_and_a_higher_sequence(
    domus: Domus, tmp_path: Path
) -> None:
    cases = setup(domus, tmp_path)
    task_id = task_ids(domus, cases["26A1"])["home_visit"]
    uid = f"task-{task_id}@domus"
    before = events(feed(domus, ANNA))[uid]

    with domus.engine.begin() as connection:
        connection.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
            due_on=date(2026, 12, 3), updated_at=NOW + timedelta(hours=2)))
    after = events(feed(domus, ANNA, now=NOW + timedelta(hours=3)))[uid]

    assert after["dtstart"].dt == date(2026, 12, 3)
    assert after["dtend"].dt == date(2026, 12, 4)
    assert before["dtstart"].dt != after["dtstart"].dt
    assert int(after["sequence"]) == int(before["sequence"]) + 120


def test_a_caseworker_sees_their_tasks_and_cases_and_no_other_ocmw(
    domus: Domus, tmp_path: Path
) -> None:
    cases = setup(domus, tmp_path)

    anna = events(feed(domus, ANNA))
    bram = events(feed(domus, BRAM))

    own = {f"task-{i}@domus" for i in task_ids(domus, cases["26A1"]).values()}
    assert {uid for uid in anna if uid.startswith("task-")} == own
    assert {uid for uid in anna if not uid.startswith("task-")} == {
        f"hearing-{cases['26A1']}@domus", f"eviction-{cases['26A1']}@domus"}
    assert not any(cases["26A2"] in str(e["url"]) or cases["26A3"] in str(e["url"])
                   for e in anna.values())
    assert f"hearing-{cases['26A3']}@domus" in bram
    assert f"hearing-{cases['26A1']}@domus" not in bram


def test_a_caseworker_no_longer_on_the_case_loses_its_court_dates(
    domus: Domus, tmp_path: Path
) -> None:
    cases = setup(domus, tmp_path)
    with domus.engine.begin() as connection:  # Bram hands 26A3 over; no open task is his
        connection.execute(update(t.tasks).where(t.tasks.c.case_id == cases["26A3"])
                           .values(assignee=ANNA))
        connection.execute(update(t.cases).where(t.cases.c.id == cases["26A3"])
                           .values(caseworker=ANNA))

    assert f"hearing-{cases['26A3']}@domus" not in events(feed(domus, BRAM))
    assert f"hearing-{cases['26A3']}@domus" in events(feed(domus, ANNA))


def test_a_team_lead_sees_all_tasks_of_the_ocmw_in_french(domus: Domus,
                                                          tmp_path: Path) -> None:
    cases = setup(domus, tmp_path)

    lea = events(feed(domus, LEA))

    expected = {f"task-{i}@domus" for docket in ("26A1", "26A3")
                for i in task_ids(domus, cases[docket]).values()}
    assert {uid for uid in lea if uid.startswith("task-")} == expected
    assert not any(cases["26A2"] in uid for uid in lea)
    hearing = lea[f"hearing-{cases['26A3']}@domus"]
    assert str(hearing["summary"]) == "Audience — 26A3 (Peeters)"
    visit = lea[f"task-{task_ids(domus, cases['26A3'])['home_visit']}@domus"]
    assert str(visit["summary"]) == "Visite à domicile — 26A3 (Peeters)"
    assert "Locataire: Jan Peeters" in str(visit["description"])


def test_a_monitor_gets_no_calendar(domus: Domus, tmp_path: Path) -> None:
    setup(domus, tmp_path)

    with pytest.raises(CalendarRefused):
        feed(domus, "mona@region.example.be")


def test_summaries_and_labels_follow_the_users_language(sqlite_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    domus = _sqlite_domus(sqlite_url, tmp_path, monkeypatch)
    try:
        cases = setup(domus, tmp_path)
        task_uid = f"task-{task_ids(domus, cases['26A1'])['home_visit']}@domus"
        hearing_uid = f"hearing-{cases['26A1']}@domus"

        nl = events(feed(domus, ANNA))
        fr = events(feed(domus, ANNA, language="fr"))

        assert str(nl[task_uid]["summary"]) == "Huisbezoek — 26A1 (El Idrissi)"
        assert str(fr[task_uid]["summary"]) == "Visite à domicile — 26A1 (El Idrissi)"
        assert str(nl[hearing_uid]["summary"]) == "Zitting — 26A1 (El Idrissi)"
        assert str(fr[hearing_uid]["summary"]) == "Audience — 26A1 (El Idrissi)"
        description = str(nl[task_uid]["description"])
        assert "Gerecht: Vredegerecht Schaarbeek" in description
        assert "Rolnummer: 26A1" in description
        assert "Huurder: Amina El Idrissi" in description
        assert f"{BASE_URL}/cases/{cases['26A1']}" in description
        assert str(nl[task_uid]["url"]) == f"{BASE_URL}/cases/{cases['26A1']}"
        assert nl[task_uid]["categories"].cats == ["home_visit"]
        assert str(nl[task_uid]["status"]) == "CONFIRMED"
    finally:
        domus.engine.dispose()


def test_closed_tasks_are_cancelled_for_60_days_then_left_out(domus: Domus,
                                                              tmp_path: Path) -> None:
    cases = setup(domus, tmp_path)
    ids = task_ids(domus, cases["26A1"])
    with domus.engine.begin() as connection:
        connection.execute(update(t.tasks).where(t.tasks.c.id == ids["home_visit"])
                           .values(status="cancelled", updated_at=NOW + timedelta(minutes=5)))
        connection.execute(update(t.tasks).where(t.tasks.c.id == ids["landlord_contact"])
                           .values(status="done", updated_at=NOW - timedelta(days=61)))

    anna = events(feed(domus, ANNA))

    assert str(anna[f"task-{ids['home_visit']}@domus"]["status"]) == "CANCELLED"
    assert f"task-{ids['landlord_contact']}@domus" not in anna
    assert str(anna[f"task-{ids['invitation_letter']}@domus"]["status"]) == "CONFIRMED"


def test_hearings_and_evictions_are_in_brussels_time(domus: Domus, tmp_path: Path) -> None:
    cases = setup(domus, tmp_path)

    calendar = feed(domus, ANNA)
    anna = events(calendar)

    hearing = anna[f"hearing-{cases['26A1']}@domus"]
    assert hearing["dtstart"].params["TZID"] == "Europe/Brussels"
    assert hearing["dtstart"].dt.replace(tzinfo=None) == datetime(2026, 12, 10, 9, 30)
    assert hearing["dtstart"].dt.utcoffset() == timedelta(hours=1)
    assert hearing["dtend"].dt - hearing["dtstart"].dt == timedelta(hours=1)
    assert str(hearing["location"]) == "Vredegerecht Schaarbeek"
    eviction = anna[f"eviction-{cases['26A1']}@domus"]
    assert eviction["dtstart"].params["TZID"] == "Europe/Brussels"
    assert eviction["dtstart"].dt.replace(tzinfo=None) == datetime(2027, 4, 6, 8, 0)
    assert eviction["dtstart"].dt.utcoffset() == timedelta(hours=2)  # summer time
    assert eviction["dtend"].dt - eviction["dtstart"].dt == timedelta(hours=2)
    assert str(eviction["location"]) == "Rue Josaphat 112 bus 3, 1030 Schaerbeek"
    assert b"DTSTART;TZID=Europe/Brussels:20261210T093000" in calendar.to_ical()

    # two months after the hearing, it is gone; the eviction is still to come
    later = events(feed(domus, ANNA, now=datetime(2027, 2, 10, 9, 0)))
    assert f"hearing-{cases['26A1']}@domus" not in later
    assert f"eviction-{cases['26A1']}@domus" in later


def _sqlite_domus(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Domus:
    from domus.bootstrap import bootstrap
    from domus.settings import Settings

    monkeypatch.setenv("DOMUS_DATABASE_URL", url)
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    return bootstrap(Settings())
