"""What the deadline sweep decides, as pure functions of dates (DESIGN.md, "Escalation").

* A task due today is announced to its assignee; a task past due is reported to its
  assignee at the next sweep; two working days past due it goes to the team lead.
  Working days are the OCMW's (legal holidays and configured closures do not count).
* A case whose hearing or eviction is within 5 working days with no effective contact is
  **at risk** (CONTRACT.md, flag `at_risk`); the flag clears once there is one.
* Effective contact: a contact with result `reached` on a channel other than `letter`.

The clock is never read here: `today` is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.calendar import BelgianCalendar

CHANNELS = ("letter", "phone", "email", "office", "home_visit", "hearing")
RESULTS = ("reached", "not_reached")
#: tasks an effective contact makes moot (issue 3: first contact, home visit)
MOOT_AFTER_CONTACT = ("first_contact", "home_visit")
ESCALATE_AFTER_WORKING_DAYS = 2
AT_RISK_WORKING_DAYS = 5

#: every reason a notification is sent, and who receives it
REASONS = {"due": "assignee", "overdue": "assignee", "escalated": "team_lead",
           "at_risk": "caseworker", "digest": "user"}


def is_effective_contact(channel: str, result: str) -> bool:
    """DESIGN.md: at least one contact with result `reached` on a channel other than letter."""
    return result == "reached" and channel != "letter"


def task_reasons(due_on: date, today: date, calendar: BelgianCalendar) -> tuple[str, ...]:
    """The notifications an open task due on `due_on` calls for on `today`: `due` on the
    day itself, `overdue` from the next day, and also `escalated` once it is two of the
    OCMW's working days past due (DESIGN.md, escalation)."""
    if due_on > today:
        return ()
    if due_on == today:
        return ("due",)
    if escalation_day(due_on, calendar) <= today:
        return ("overdue", "escalated")
    return ("overdue",)


def escalation_day(due_on: date, calendar: BelgianCalendar) -> date:
    """The day a task due on `due_on` goes to the team lead: two working days past due."""
    return calendar.add_working_days(due_on, ESCALATE_AFTER_WORKING_DAYS, internal=True)


def working_days_late(due_on: date, today: date, calendar: BelgianCalendar) -> int:
    """Working days from the due date to today (0 when due today or later)."""
    return calendar.working_days_between(due_on, today, internal=True)


def at_risk_horizon(today: date, calendar: BelgianCalendar) -> date:
    """The last day of the at-risk window: 5 of the OCMW's working days from today."""
    return calendar.add_working_days(today, AT_RISK_WORKING_DAYS, internal=True)


@dataclass(frozen=True)
class RiskEvent:
    event: str  # "hearing" | "eviction"
    on: date


def at_risk_event(
    *, hearing_on: date | None, eviction_on: date | None, today: date, horizon: date,
    effective_contact: bool,
) -> RiskEvent | None:
    """The hearing or eviction (the earlier one) that puts a case at risk on `today`, if
    it falls within today … `horizon` and the household has not been reached."""
    if effective_contact:
        return None
    events = [RiskEvent(name, on) for name, on in (("hearing", hearing_on),
                                                   ("eviction", eviction_on))
              if on is not None and today <= on <= horizon]
    return min(events, key=lambda e: e.on) if events else None
