"""The state of one case (one procedure: court + docket), derived from its notices.

`assess_case` is the single place that turns a case's notices into its legal dates, legal
flags, status and playbook tasks; `reconcile_tasks` says how the stored tasks change when a
later notice moves the dates (DESIGN.md: "updates the case and moves its open deadlines").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from domain.calendar import BelgianCalendar
from domain.notices import OPENING_KINDS, NoticeFacts
from domain.playbook import PlannedTask, Playbook, PlaybookFacts
from domain.regions import RegionRules
from domain.rules import Flag, LegalFacts, earliest_eviction_on, legal_flags

LEGAL_FLAG_CODES = ("moratorium", "short_notice", "before_delay", "hearing_too_early")


@dataclass(frozen=True)
class Assessment:
    status: str  # "open" | "objected" (routing decides "triage", outcomes "closed")
    hearing_at: datetime | None
    earliest_eviction_on: date | None
    eviction_at: datetime | None
    first_received_on: date
    flags: tuple[Flag, ...]
    tasks: tuple[PlannedTask, ...]


def assess_case(
    notices: Sequence[NoticeFacts],
    *,
    region: RegionRules,
    calendar: BelgianCalendar,
    playbook: Playbook,
) -> Assessment:
    """Legal dates, flags, status and planned tasks of a case with these notices.

    The latest notice of a kind gives that kind's dates (a postponed hearing, a new eviction
    date); the first notice of a trigger gives the receipt date the playbook counts from.
    An objection (art. 1344ter §4, where the region allows it) plans no tasks.
    """
    ordered = sorted(notices, key=lambda n: n.received_on)
    latest = {n.kind: n for n in ordered}
    first = {n.kind: n for n in reversed(ordered)}
    opening = _latest_of(latest, OPENING_KINDS)
    judgment, eviction = latest.get("judgment"), latest.get("eviction_notice")
    facts = LegalFacts(
        filed_on=opening.filed_on if opening else None,
        hearing_on=opening.hearing_at.date() if opening and opening.hearing_at else None,
        served_on=judgment.served_on if judgment else None,
        moratorium_lifted=bool(judgment and judgment.moratorium_lifted),
        notified_on=eviction.notified_on if eviction else None,
        eviction_on=eviction.eviction_at.date() if eviction and eviction.eviction_at else None,
        social_housing=any(n.social_housing for n in ordered),
    )
    earliest = earliest_eviction_on(facts, region, calendar)
    objected = "objection" in latest and region.tenant_may_object
    plan_facts = PlaybookFacts(
        opening_received_on=_first_received(first, OPENING_KINDS),
        hearing_on=facts.hearing_on,
        judgment_received_on=_first_received(first, ("judgment",)),
        earliest_eviction_on=earliest,
        eviction_notice_received_on=_first_received(first, ("eviction_notice",)),
        eviction_on=facts.eviction_on,
    )
    return Assessment(
        status="objected" if objected else "open",
        hearing_at=opening.hearing_at if opening else None,
        earliest_eviction_on=earliest,
        eviction_at=eviction.eviction_at if eviction else None,
        first_received_on=ordered[0].received_on,
        flags=tuple(legal_flags(facts, region, calendar)),
        tasks=() if objected else tuple(playbook.plan(plan_facts, calendar)),
    )


def case_status(stored: str, ocmw: str | None, assessment: Assessment) -> str:
    """The case's status after new notices: a closed case stays closed (an outcome closed
    it), a case without an OCMW waits in triage (DESIGN.md: never guessed), otherwise the
    notices decide ("open" or "objected")."""
    if stored == "closed":
        return "closed"
    return "triage" if ocmw is None else assessment.status


def _latest_of(latest: Mapping[str, NoticeFacts], kinds: Iterable[str]) -> NoticeFacts | None:
    found = [latest[k] for k in kinds if k in latest]
    return max(found, key=lambda n: n.received_on) if found else None


def _first_received(first: Mapping[str, NoticeFacts], kinds: Iterable[str]) -> date | None:
    dates = [first[k].received_on for k in kinds if k in first]
    return min(dates) if dates else None


@dataclass(frozen=True)
class StoredTask:
    id: int
    kind: str
    due_on: date
    status: str  # "open" | "done" | "cancelled"


@dataclass
class TaskChanges:
    new: list[PlannedTask] = field(default_factory=list)
    moved: list[tuple[int, PlannedTask]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def reconcile_tasks(
    stored: Iterable[StoredTask], assessment: Assessment
) -> TaskChanges:
    """What to write so the stored tasks follow the assessment: new kinds are added, open
    tasks whose due date moved are moved, done and cancelled tasks are history and stay;
    an objection cancels the open tasks."""
    by_kind = {task.kind: task for task in stored}
    changes = TaskChanges()
    for planned in assessment.tasks:
        existing = by_kind.get(planned.kind)
        if existing is None:
            changes.new.append(planned)
        elif existing.status == "open" and existing.due_on != planned.due_on:
            changes.moved.append((existing.id, planned))
    if assessment.status == "objected":
        changes.cancelled = [t.id for t in by_kind.values() if t.status == "open"]
    return changes


@lru_cache(maxsize=65536)
def case_id_for(case_key: tuple[str, str]) -> str:
    """A stable id for the procedure court + docket: the same notice processed by two
    workers, or twice, names the same case."""
    return hashlib.sha256("|".join(case_key).encode()).hexdigest()[:16]
