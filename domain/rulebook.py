"""Everything intake decides by rule, gathered for one region and its OCMWs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from domain.calendar import BelgianCalendar
from domain.case import Assessment, assess_case
from domain.notices import Notice, NoticeFacts
from domain.playbook import Playbook
from domain.regions import RegionRules
from domain.routing import Routing, route


@dataclass(frozen=True)
class RuleBook:
    region: RegionRules
    calendar: BelgianCalendar
    default_playbook: Playbook
    playbooks: Mapping[str, Playbook] = field(default_factory=dict)  # per OCMW (NIS code)

    def playbook_for(self, ocmw: str | None) -> Playbook:
        return self.playbooks.get(ocmw or "", self.default_playbook)

    def route(self, notice: Notice) -> Routing:
        """The OCMW of the commune where the tenant lives (DESIGN.md, routing); routing
        tables exist for the Brussels region only, elsewhere every case goes to triage."""
        if self.region.code != "brussels":
            return Routing(None, f"no routing table for the {self.region.code} region")
        dwelling = notice.dwelling
        return route(dwelling.postcode if dwelling else None,
                     dwelling.municipality if dwelling else None)

    def assess(self, notices: Sequence[NoticeFacts], ocmw: str | None) -> Assessment:
        return assess_case(notices, region=self.region, calendar=self.calendar,
                           playbook=self.playbook_for(ocmw))
