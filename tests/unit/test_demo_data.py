"""The demo-data generator (domus/demo_data.py): a realistic, deterministic notice stream."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from domain.routing import route
from domus.demo_data import (
    BRUSSELS_POSTCODES,
    COMMUNE_NAMES,
    CSV_COLUMNS,
    generate_notices,
    write_belgian_csv,
    write_jsonl,
)

START = date(2026, 10, 1)
DAYS = 60
KINDS = {"petition", "summons", "judgment", "eviction_notice", "objection"}

# CONTRACT.md, "Notice (CSV)", in order.
CONTRACT_COLUMNS = [
    "kind", "court", "docket_number", "received_on", "filed_on", "served_on", "hearing_at",
    "judgment_on", "notified_on", "eviction_at", "moratorium_lifted",
    "tenant_first_name", "tenant_last_name", "tenant_language", "tenant_phone", "tenant_email",
    "tenant_birth_date", "dwelling_street", "dwelling_number", "dwelling_box",
    "dwelling_postcode", "dwelling_municipality", "landlord_name", "landlord_kind",
    "landlord_street", "landlord_number", "landlord_postcode", "landlord_municipality",
    "landlord_email", "arrears_eur", "monthly_rent_eur",
]  # fmt: skip

DATE_FIELDS = ("received_on", "filed_on", "served_on", "judgment_on", "notified_on")
WHEN_FIELDS = ("hearing_at", "eviction_at")
ALL_POSTCODES = {
    "1000", "1020", "1030", "1040", "1050", "1060", "1070", "1080", "1081", "1082", "1083",
    "1090", "1120", "1130", "1140", "1150", "1160", "1170", "1180", "1190", "1200", "1210",
}  # fmt: skip


# --- helpers -----------------------------------------------------------------------------


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_amount(value: Any) -> bool:
    if value is None:
        return True
    try:
        Decimal(value)
    except (InvalidOperation, TypeError):
        return False
    return True


def flaws(record: dict[str, Any]) -> set[str]:
    """Why intake must quarantine this record (empty: it is valid)."""
    found = set()
    if record.get("kind") not in KINDS:
        found.add("unknown_kind")
    if not record.get("docket_number"):
        found.add("missing_docket")
    if not (record.get("tenant") or {}).get("last_name"):
        found.add("missing_last_name")
    if any(field in record and not _is_date(record[field]) for field in DATE_FIELDS):
        found.add("impossible_date")
    if any(field in record and not _is_datetime(record[field]) for field in WHEN_FIELDS):
        found.add("not_a_date")
    if not _is_amount(record.get("arrears_eur")):
        found.add("amount_in_words")
    return found


def _place_known(postcode: str, municipality: str) -> bool:
    allowed = BRUSSELS_POSTCODES.get(postcode, frozenset())
    return all(part in allowed for part in municipality.split("/"))


def needs_triage(record: dict[str, Any]) -> bool:
    dwelling = record.get("dwelling")
    return dwelling is not None and not _place_known(dwelling["postcode"], dwelling["municipality"])


def case_key(record: dict[str, Any]) -> tuple[str, str]:
    return record["court"], record["docket_number"]


def weekdays_between(first: date, last: date) -> int:
    """Monday-Friday days after `first` up to and including `last` (holidays ignored)."""
    return sum((first + timedelta(days=i)).weekday() < 5 for i in range(1, (last - first).days + 1))


def in_moratorium(day: date) -> bool:
    return day.month in (11, 12, 1, 2) or (day.month == 3 and day.day <= 15)


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    return list(generate_notices(5000, seed=2026, start=START, days=DAYS))


@pytest.fixture(scope="module")
def clean(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for record in stream if not flaws(record)]


# --- the stream --------------------------------------------------------------------------


def test_it_is_a_lazy_iterator():
    notices = generate_notices(10**9, seed=1, start=START)  # far too many to hold as a list
    assert isinstance(notices, Iterator)
    first = next(notices)
    assert first["kind"] in KINDS
    assert first["received_on"] == START.isoformat()


def test_the_same_seed_gives_the_same_stream():
    first = list(generate_notices(500, seed=7, start=START))
    again = list(generate_notices(500, seed=7, start=START))
    other = list(generate_notices(500, seed=8, start=START))
    assert first == again
    assert first != other


@pytest.mark.parametrize("count", [0, 1, 7, 40, 1000])
def test_it_yields_exactly_count_records(count):
    assert sum(1 for _ in generate_notices(count, seed=3, start=START)) == count


def test_records_arrive_in_order_on_working_days_inside_the_window(stream):
    received = [date.fromisoformat(record["received_on"]) for record in stream]
    assert received == sorted(received)
    assert received[0] >= START and received[-1] < START + timedelta(days=DAYS)
    assert all(day.weekday() < 5 for day in received)
    assert date(2026, 11, 11) not in received  # Armistice: a legal holiday


def test_a_short_window_is_respected():
    received = {r["received_on"] for r in generate_notices(300, seed=1, start=START, days=3)}
    assert received <= {"2026-10-01", "2026-10-02"}  # 3 October 2026 is a Saturday


@pytest.mark.parametrize(
    "kwargs", [{"count": -1}, {"days": 0}, {"flawed_share": 1.5}, {"flawed_share": -0.1}]
)
def test_bad_arguments_are_refused(kwargs):
    arguments = {"count": 10, "seed": 1, "start": START, **kwargs}
    count = arguments.pop("count")
    with pytest.raises(ValueError):
        generate_notices(count, **arguments)


def test_every_brussels_postcode_and_commune_appears(clean):
    postcodes = {r["dwelling"]["postcode"] for r in clean if "dwelling" in r}
    assert postcodes >= ALL_POSTCODES
    communes = {
        COMMUNE_NAMES.get(r["dwelling"]["municipality"].split("/")[0])
        for r in clean
        if "dwelling" in r
    }
    assert {f"210{n:02d}" for n in range(1, 20)} <= communes


def test_the_big_communes_bring_the_most_notices(clean):
    by_commune = Counter(
        COMMUNE_NAMES.get(r["dwelling"]["municipality"].split("/")[0])
        for r in clean
        if "dwelling" in r
    )
    biggest = {code for code, _ in by_commune.most_common(4)}
    assert biggest == {
        "21004",
        "21015",
        "21001",
        "21012",
    }  # City, Schaerbeek, Anderlecht, Molenbeek


def test_each_kind_has_a_plausible_share(clean):
    shares = {kind: n / len(clean) for kind, n in Counter(r["kind"] for r in clean).items()}
    assert 0.60 <= shares["petition"] <= 0.85
    assert 0.05 <= shares["summons"] <= 0.15
    assert 0.03 <= shares["judgment"] <= 0.20
    assert 0.01 <= shares["eviction_notice"] <= 0.12
    assert 0.002 <= shares["objection"] <= 0.04


def test_tenant_languages_are_mostly_french_then_dutch_then_unknown(clean):
    languages = Counter(r["tenant"]["language"] for r in clean)
    assert set(languages) == {"fr", "nl", None}
    assert 0.57 <= languages["fr"] / len(clean) <= 0.73
    assert 0.13 <= languages["nl"] / len(clean) <= 0.27
    assert 0.09 <= languages[None] / len(clean) <= 0.21


def test_fields_look_belgian(clean):
    phones = [r["tenant"]["phone"] for r in clean if r["tenant"]["phone"]]
    assert 0.4 <= len(phones) / len(clean) <= 0.6
    assert all(re.fullmatch(r"(\+32 |0)4\d\d \d\d \d\d \d\d", phone) for phone in phones)
    emails = [r["tenant"]["email"] for r in clean if r["tenant"]["email"]]
    assert emails and all(re.fullmatch(r"[a-z0-9.-]+@[a-z0-9.-]+\.[a-z]+", e) for e in emails)
    assert all(re.fullmatch(r"\d\dA\d+", r["docket_number"]) for r in clean)
    assert {r["landlord"]["kind"] for r in clean if "landlord" in r} == {
        "private", "social_housing", "social_rental_agency", "public",
    }  # fmt: skip
    courts = {r["court"] for r in clean}
    assert "Justice de paix du canton de Schaerbeek" in courts
    assert "Vredegerecht van het kanton Schaarbeek" in courts
    for record in clean:
        if record.get("arrears_eur") is not None:
            assert re.fullmatch(r"\d+\.\d\d", record["arrears_eur"])
            assert Decimal("500") <= Decimal(record["arrears_eur"]) <= Decimal("12000")
        if record.get("monthly_rent_eur") is not None:
            assert Decimal("450") <= Decimal(record["monthly_rent_eur"]) <= Decimal("1300")


# --- the procedure -------------------------------------------------------------------------


def test_notices_of_one_case_concern_one_tenant(clean):
    tenants: dict[tuple[str, str], set[tuple[str, str, str | None]]] = defaultdict(set)
    for record in clean:
        tenant = record["tenant"]
        tenants[case_key(record)].add(
            (tenant["first_name"], tenant["last_name"], tenant["birth_date"])
        )
    assert all(len(seen) == 1 for seen in tenants.values())
    assert any(  # and cases do have several notices
        n > 2 for n in Counter(case_key(r) for r in clean).values()
    )


def test_petitions_give_the_dates_of_a_brussels_petition(clean):
    first_petitions = {}
    for record in clean:
        if record["kind"] == "petition":
            first_petitions.setdefault(case_key(record), record)
            received = date.fromisoformat(record["received_on"])
            filed = date.fromisoformat(record["filed_on"])
            hearing = datetime.fromisoformat(record["hearing_at"])
            assert hearing.weekday() < 5
            assert "09:00" <= hearing.strftime("%H:%M") <= "11:30"
            assert (hearing.date() - filed).days >= 30
            assert received > filed
    gaps = [
        (datetime.fromisoformat(r["hearing_at"]).date() - date.fromisoformat(r["filed_on"])).days
        for r in first_petitions.values()
    ]
    delays = [
        (date.fromisoformat(r["received_on"]) - date.fromisoformat(r["filed_on"])).days
        for r in first_petitions.values()
    ]
    too_early = sum(gap < 40 for gap in gaps) / len(gaps)
    assert 0.01 <= too_early <= 0.15  # a few, so the hearing_too_early flag shows
    assert Counter(delays).most_common(1)[0][0] in range(3, 7)
    assert sum(40 <= gap <= 64 for gap in gaps) / len(gaps) > 0.8


def test_a_postponed_hearing_is_a_second_petition_with_a_later_hearing(clean):
    petitions: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in clean:
        if record["kind"] == "petition":
            petitions[case_key(record)].append(record)
    postponed = [
        notices for notices in petitions.values() if len({n["hearing_at"] for n in notices}) > 1
    ]
    assert postponed
    for notices in postponed:
        assert len({n["filed_on"] for n in notices}) == 1
        hearings = [n["hearing_at"] for n in notices]
        assert hearings == sorted(hearings)


def test_judgments_follow_the_hearing_and_evictions_follow_the_judgment(clean):
    hearing: dict[tuple[str, str], date] = {}
    served: dict[tuple[str, str], date] = {}
    judgments = lifted = followed = 0
    for record in clean:
        key = case_key(record)
        received = date.fromisoformat(record["received_on"])
        if record["kind"] in ("petition", "summons"):
            hearing[key] = datetime.fromisoformat(record["hearing_at"]).date()
        elif record["kind"] == "judgment":
            judgments += 1
            lifted += record["moratorium_lifted"] is True
            judged = date.fromisoformat(record["judgment_on"])
            served[key] = date.fromisoformat(record["served_on"])
            assert judged < served[key] <= received
            if key in hearing:
                followed += 1
                assert judged > hearing[key]
        elif record["kind"] == "eviction_notice":
            notified = date.fromisoformat(record["notified_on"])
            assert notified <= received
            assert datetime.fromisoformat(record["eviction_at"]).date() > notified
            if key in served:
                assert notified > served[key]
    assert followed > 0  # judgments of cases seen earlier in the stream
    assert 0.03 <= lifted / judgments <= 0.2


def test_some_eviction_dates_break_the_brussels_rules(clean):
    evictions = [r for r in clean if r["kind"] == "eviction_notice"]
    short = in_winter = 0
    for record in evictions:
        notified = date.fromisoformat(record["notified_on"])
        eviction = datetime.fromisoformat(record["eviction_at"]).date()
        short += weekdays_between(notified, eviction) < 15
        in_winter += in_moratorium(eviction)
    assert 0.02 <= short / len(evictions) <= 0.25  # short_notice
    assert in_winter > 0  # moratorium
    assert in_winter / len(evictions) < 0.5


def test_cases_opened_late_start_with_a_judgment_or_an_eviction_notice(clean):
    seen: set[tuple[str, str]] = set()
    first_kinds = Counter()
    for record in clean:
        if case_key(record) not in seen:
            seen.add(case_key(record))
            first_kinds[record["kind"]] += 1
    assert first_kinds["judgment"] > 0 and first_kinds["eviction_notice"] > 0
    assert first_kinds["petition"] / sum(first_kinds.values()) > 0.7


def test_a_few_notices_are_re_sent_one_to_four_days_later(stream):
    by_content: dict[str, date] = {}
    resent = 0
    for record in stream:
        content = json.dumps({**record, "received_on": None}, sort_keys=True)
        received = date.fromisoformat(record["received_on"])
        if content in by_content:
            resent += 1
            assert 1 <= (received - by_content[content]).days <= 4
        else:
            by_content[content] = received
    assert 0.02 <= resent / len(stream) <= 0.05


def test_some_follow_ups_leave_out_the_known_dwelling(clean):
    without = [r for r in clean if "dwelling" not in r]
    assert without
    assert {r["kind"] for r in without} <= {"judgment", "eviction_notice", "objection"}


def test_an_unknown_field_is_carried_on_a_few_records(stream):
    extra = [r["registry_reference"] for r in stream if "registry_reference" in r]
    assert 0 < len(extra) < 0.02 * len(stream)
    assert all(re.fullmatch(r"R/\d{4}/\d{4}", value) for value in extra)


# --- flawed and triage records --------------------------------------------------------------


@pytest.mark.parametrize("share", [0.0, 0.05, 0.2])
def test_the_flawed_share_is_respected(share):
    records = list(generate_notices(4000, seed=5, start=START, flawed_share=share))
    flawed = sum(bool(flaws(r)) for r in records) / len(records)
    assert share * 0.85 <= flawed <= share * 1.15 + 0.002


def test_every_kind_of_flaw_is_represented(stream):
    found = Counter(flaw for record in stream for flaw in flaws(record))
    assert set(found) == {
        "unknown_kind", "missing_docket", "missing_last_name", "impossible_date", "not_a_date",
        "amount_in_words",
    }  # fmt: skip
    assert all(n >= 20 for n in found.values())
    assert all(len(flaws(record)) <= 1 for record in stream)  # one flaw a record


def test_flaws_look_like_real_mistakes(stream):
    bad_dates, unknown_kinds = [], set()
    for record in stream:
        bad_dates += [
            record[field]
            for field in DATE_FIELDS
            if field in record and not _is_date(record[field])
        ]
        if record["kind"] not in KINDS:
            unknown_kinds.add(record["kind"])
    assert bad_dates
    assert all(re.fullmatch(r"\d{4}-(02-(29|30)|(04|06|09|11)-31)", value) for value in bad_dates)
    assert unknown_kinds  # the kind in the sender's own words
    assert unknown_kinds <= {
        "requete", "verzoekschrift", "citation", "dagvaarding", "vonnis", "jugement",
        "expulsion", "uithuiszetting", "opposition", "verzet",
    }  # fmt: skip


def test_unroutable_dwellings_are_valid_records_for_triage(clean, stream):
    triage = [r for r in clean if needs_triage(r)]
    assert 0.005 <= len(triage) / len(stream) <= 0.03
    outside = [r for r in triage if r["dwelling"]["postcode"] not in ALL_POSTCODES]
    unknown = [r for r in triage if r["dwelling"]["municipality"] not in COMMUNE_NAMES]
    conflict = [
        r
        for r in triage
        if r["dwelling"]["postcode"] in ALL_POSTCODES
        and r["dwelling"]["municipality"] in COMMUNE_NAMES
    ]
    assert outside and unknown and conflict


def test_routing_agrees_on_which_dwellings_need_triage(clean):
    for record in clean:
        if "dwelling" in record:
            dwelling = record["dwelling"]
            routing = route(dwelling["postcode"], dwelling["municipality"])
            assert routing.routed != needs_triage(record), (dwelling, routing.reason)


@pytest.mark.parametrize("seed", range(5))
def test_a_small_demo_stream_still_holds_a_mix(seed):
    records = list(generate_notices(40, seed=seed, start=START))
    kinds = Counter(r["kind"] for r in records)
    assert kinds["petition"] >= 20
    assert kinds["judgment"] + kinds["vonnis"] + kinds["jugement"] >= 1
    # (an eviction notice may be the flawed record, its kind in the bailiff's words)
    assert kinds["eviction_notice"] + kinds["expulsion"] + kinds["uithuiszetting"] >= 1
    assert sum(bool(flaws(r)) for r in records) >= 2
    assert any(needs_triage(r) for r in records if not flaws(r))
    assert any("registry_reference" in r for r in records)
    contents = Counter(json.dumps({**r, "received_on": None}, sort_keys=True) for r in records)
    assert max(contents.values()) >= 2  # a re-sent notice


# --- writers ---------------------------------------------------------------------------------


def test_write_jsonl_round_trips(tmp_path):
    path = tmp_path / "notices.jsonl"
    records = list(generate_notices(200, seed=11, start=START))
    assert write_jsonl(iter(records), path) == 200
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records


def read_belgian_csv(path: Path, encoding: str = "cp1252") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def test_the_csv_is_what_excel_saves_in_belgium(tmp_path):
    path = tmp_path / "notices.csv"
    records = list(generate_notices(300, seed=12, start=START))
    assert write_belgian_csv(records, path) == 300
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == 301 and b"\n" not in raw.replace(b"\r\n", b"")
    rows = read_belgian_csv(path)
    assert rows[0] == CONTRACT_COLUMNS == list(CSV_COLUMNS)
    assert len(rows) == 301
    column = {name: i for i, name in enumerate(rows[0])}
    thousands = 0
    for record, row in zip(records, rows[1:], strict=True):
        assert row[column["kind"]] == record["kind"]
        received = datetime.strptime(row[column["received_on"]], "%d/%m/%Y").date()
        assert received.isoformat() == record["received_on"]
        if record.get("kind") == "petition" and _is_datetime(record["hearing_at"]):
            hearing = datetime.strptime(row[column["hearing_at"]], "%d/%m/%Y %H:%M")
            assert hearing == datetime.fromisoformat(record["hearing_at"])
        amount = row[column["arrears_eur"]]
        if record.get("arrears_eur") and _is_amount(record["arrears_eur"]):
            assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d", amount)
            assert Decimal(amount.replace(".", "").replace(",", ".")) == Decimal(
                record["arrears_eur"]
            )
            thousands += "." in amount
        assert row[column["moratorium_lifted"]] in {"", "0", "1"}
        if "dwelling" in record:
            assert row[column["dwelling_postcode"]] == record["dwelling"]["postcode"]
        else:
            assert row[column["dwelling_postcode"]] == ""
    assert thousands > 0


def test_a_hand_written_record_in_belgian_csv(tmp_path):
    record = {
        "kind": "judgment",
        "court": "Vredegerecht van het kanton Schaarbeek",
        "docket_number": "26A1234",
        "received_on": "2026-11-02",
        "judgment_on": "2026-10-20",
        "served_on": "2026-10-27",
        "moratorium_lifted": True,
        "tenant": {"first_name": "Ayse", "last_name": "Öztürk", "language": None},
        "arrears_eur": "2900.50",
        "monthly_rent_eur": 750,
        "registry_reference": "R/2026/1234",
    }
    flawed = {**record, "arrears_eur": "deux mille", "hearing_at": "bientôt",
              "filed_on": "2026-02-30", "moratorium_lifted": False}  # fmt: skip
    path = tmp_path / "hand.csv"
    write_belgian_csv([record, flawed], path, extra_columns=["registry_reference"])
    header, row, bad = read_belgian_csv(path)
    assert header == CONTRACT_COLUMNS + ["registry_reference"]
    cell = dict(zip(header, row, strict=True))
    assert cell["received_on"] == "02/11/2026"
    assert cell["arrears_eur"] == "2.900,50"
    assert cell["monthly_rent_eur"] == "750,00"
    assert cell["moratorium_lifted"] == "1"
    assert cell["tenant_last_name"] == "Öztürk"
    assert cell["tenant_language"] == "" and cell["dwelling_street"] == ""
    assert cell["registry_reference"] == "R/2026/1234"
    bad_cell = dict(zip(header, bad, strict=True))
    assert bad_cell["arrears_eur"] == "deux mille"  # text stays as typed
    assert bad_cell["hearing_at"] == "bientôt"
    assert bad_cell["filed_on"] == "2026-02-30"
    assert bad_cell["moratorium_lifted"] == "0"


def test_utf8_with_bom_and_another_delimiter(tmp_path):
    record = {"kind": "petition", "tenant": {"first_name": "Łukasz", "last_name": "Wiśniewski"}}
    utf8 = tmp_path / "utf8.csv"
    write_belgian_csv([record], utf8, encoding="utf-8-sig", delimiter=",")
    assert utf8.read_bytes().startswith(b"\xef\xbb\xbfkind,court,")
    assert "Wiśniewski" in utf8.read_text(encoding="utf-8-sig")
    legacy = tmp_path / "cp1252.csv"
    write_belgian_csv([record], legacy)  # Excel writes "?" for what Windows-1252 lacks
    assert "?ukasz;Wi?niewski" in legacy.read_text(encoding="cp1252")
