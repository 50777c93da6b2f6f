"""Notices as a registry or bailiff sends them, for tests (CONTRACT.md, "Notice (JSON)")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def petition(docket: str = "26A1234", **changes: Any) -> dict[str, Any]:
    notice: dict[str, Any] = {
        "kind": "petition",
        "court": "Vredegerecht Schaarbeek",
        "docket_number": docket,
        "received_on": "2026-11-02",
        "filed_on": "2026-10-27",
        "hearing_at": "2026-12-10T09:30:00",
        "tenant": {"first_name": "Amina", "last_name": "El Idrissi", "language": "fr",
                   "phone": "+32 470 12 34 56", "email": None, "birth_date": "1984-03-02"},
        "dwelling": {"street": "Rue Josaphat", "number": "112", "box": "3",
                     "postcode": "1030", "municipality": "Schaerbeek"},
        "landlord": {"name": "Immo Josaphat SRL", "kind": "private", "street": "Avenue Louise",
                     "number": "10", "postcode": "1050", "municipality": "Bruxelles",
                     "email": None},
        "arrears_eur": "2900.00",
        "monthly_rent_eur": "750.00",
    }
    return _changed(notice, changes)


def judgment(docket: str = "26A1234", **changes: Any) -> dict[str, Any]:
    notice = {
        "kind": "judgment", "court": "Vredegerecht Schaarbeek", "docket_number": docket,
        "received_on": "2026-12-20", "judgment_on": "2026-12-14", "served_on": "2026-12-18",
        "tenant": {"last_name": "El Idrissi"},
    }
    return _changed(notice, changes)


def eviction_notice(docket: str = "26A1234", **changes: Any) -> dict[str, Any]:
    notice = {
        "kind": "eviction_notice", "court": "Vredegerecht Schaarbeek", "docket_number": docket,
        "received_on": "2027-03-01", "notified_on": "2027-03-01",
        "eviction_at": "2027-04-06T08:00:00", "tenant": {"last_name": "El Idrissi"},
    }
    return _changed(notice, changes)


def _changed(notice: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if "__" in key:
            part, leaf = key.split("__", 1)
            notice[part] = {**notice[part], leaf: value}
        else:
            notice[key] = value
    return notice


def write_jsonl(path: Path, notices: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notices),
                    encoding="utf-8")
    return path
