"""What an intake run reports (CONTRACT.md, `ingest --json`)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: how a batch of one partition of a file is named (services/intake.py `start_batch`)
_PARTITION = re.compile(r" \(partition \d+ of \d+\)$")


def split_partition(source: str) -> tuple[str, str]:
    """A batch's source → (the file, " (partition 2 of 4)" or "")."""
    found = _PARTITION.search(source)
    return (source[:found.start()], found.group()) if found else (source, "")


@dataclass(frozen=True)
class Quarantined:
    file: str
    record: int
    line: int
    field: str
    reason: str
    errors: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = [{"field": f, "reason": r} for f, r in self.errors]
        return data


@dataclass
class IntakeSummary:
    """received = created + updated + duplicates + len(quarantined); `triage` counts the
    created or updated notices whose case has no OCMW yet."""

    created: int = 0
    updated: int = 0
    duplicates: int = 0
    triage: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def received(self) -> int:
        return self.created + self.updated + self.duplicates + len(self.quarantined)

    def note_case(self, case_id: str) -> None:
        if case_id not in self._seen:
            self._seen.add(case_id)
            self.cases.append(case_id)

    def add(self, other: IntakeSummary) -> None:
        self.created += other.created
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.triage += other.triage
        self.quarantined.extend(other.quarantined)
        for case_id in other.cases:
            self.note_case(case_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "triage": self.triage,
            "quarantined": [q.to_json() for q in self.quarantined],
            "cases": list(self.cases),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IntakeSummary:
        summary = cls(data["created"], data["updated"], data["duplicates"], data["triage"])
        summary.quarantined = [
            Quarantined(q["file"], q["record"], q["line"], q["field"], q["reason"],
                        tuple((e["field"], e["reason"]) for e in q["errors"]))
            for q in data["quarantined"]
        ]
        for case_id in data["cases"]:
            summary.note_case(case_id)
        return summary
