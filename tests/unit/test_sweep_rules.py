"""The sweep's rules as pure functions: due, overdue, escalation after two working days
(holidays and closures counted), the at-risk window, effective contact, assignment."""

from __future__ import annotations

from datetime import date

import pytest

from domain.assignment import choose_assignee
from domain.calendar import BelgianCalendar
from domain.playbook import PlaybookError, default_playbook, parse_playbook
from domain.sweep import (
    at_risk_event,
    at_risk_horizon,
    escalation_day,
    is_effective_contact,
    task_reasons,
    working_days_late,
)

CAL = BelgianCalendar()


def test_due_today_is_announced_and_the_future_is_not():
    assert task_reasons(date(2026, 11, 23), date(2026, 11, 23), CAL) == ("due",)
    assert task_reasons(date(2026, 11, 24), date(2026, 11, 23), CAL) == ()


def test_overdue_then_escalated_two_working_days_past_due():
    due = date(2026, 11, 19)  # Thursday
    assert task_reasons(due, date(2026, 11, 20), CAL) == ("overdue",)  # Friday: 1 wd
    assert task_reasons(due, date(2026, 11, 22), CAL) == ("overdue",)  # Sunday: still 1 wd
    assert task_reasons(due, date(2026, 11, 23), CAL) == ("overdue", "escalated")  # Monday
    assert escalation_day(due, CAL) == date(2026, 11, 23)


def test_escalation_counts_legal_holidays():
    # Tuesday 10 November 2026; Wednesday 11 November (Armistice) is a legal holiday.
    due = date(2026, 11, 10)
    assert escalation_day(due, CAL) == date(2026, 11, 13)
    assert task_reasons(due, date(2026, 11, 12), CAL) == ("overdue",)
    assert task_reasons(due, date(2026, 11, 13), CAL) == ("overdue", "escalated")


def test_escalation_counts_ocmw_closures():
    closed = BelgianCalendar([date(2026, 12, 24)])
    due = date(2026, 12, 23)  # Wednesday; 24 closed, 25 Christmas
    assert escalation_day(due, CAL) == date(2026, 12, 28)
    assert escalation_day(due, closed) == date(2026, 12, 29)


def test_working_days_late():
    assert working_days_late(date(2026, 11, 19), date(2026, 11, 23), CAL) == 2
    assert working_days_late(date(2026, 11, 23), date(2026, 11, 23), CAL) == 0


def test_at_risk_window_is_five_working_days():
    today = date(2026, 11, 23)  # Monday
    horizon = at_risk_horizon(today, CAL)
    assert horizon == date(2026, 11, 30)
    assert at_risk_event(hearing_on=date(2026, 11, 30), eviction_on=None, today=today,
                         horizon=horizon, effective_contact=False).event == "hearing"
    assert at_risk_event(hearing_on=date(2026, 12, 1), eviction_on=None, today=today,
                         horizon=horizon, effective_contact=False) is None
    assert at_risk_event(hearing_on=date(2026, 11, 20), eviction_on=None, today=today,
                         horizon=horizon, effective_contact=False) is None  # past


def test_at_risk_takes_the_earlier_event_and_clears_with_contact():
    today, horizon = date(2026, 11, 23), date(2026, 11, 30)
    event = at_risk_event(hearing_on=date(2026, 11, 27), eviction_on=date(2026, 11, 24),
                          today=today, horizon=horizon, effective_contact=False)
    assert (event.event, event.on) == ("eviction", date(2026, 11, 24))
    assert at_risk_event(hearing_on=date(2026, 11, 27), eviction_on=None, today=today,
                         horizon=horizon, effective_contact=True) is None


def test_at_risk_window_moves_past_a_holiday():
    # From Monday 9 November 2026, five working days skip Armistice (Wednesday 11).
    assert at_risk_horizon(date(2026, 11, 9), CAL) == date(2026, 11, 17)


@pytest.mark.parametrize(("channel", "result", "effective"), [
    ("phone", "reached", True), ("home_visit", "reached", True), ("letter", "reached", False),
    ("phone", "not_reached", False), ("office", "reached", True),
])
def test_effective_contact(channel, result, effective):
    assert is_effective_contact(channel, result) is effective


def test_assignment_keeps_the_case_caseworker_else_the_least_loaded():
    load = {"b@x.be": 3, "a@x.be": 3, "c@x.be": 5}
    assert choose_assignee("case_caseworker", case_caseworker="c@x.be", open_tasks=load) == \
        "c@x.be"
    assert choose_assignee("case_caseworker", case_caseworker=None, open_tasks=load) == "a@x.be"
    assert choose_assignee("case_caseworker", case_caseworker="gone@x.be",
                           open_tasks=load) == "a@x.be"
    assert choose_assignee("fewest_open", case_caseworker="c@x.be", open_tasks=load) == "a@x.be"
    assert choose_assignee("team_queue", case_caseworker="c@x.be", open_tasks=load) is None
    assert choose_assignee("case_caseworker", case_caseworker=None, open_tasks={}) is None
    with pytest.raises(ValueError, match="unknown assignment rule"):
        choose_assignee("random", case_caseworker=None, open_tasks=load)


def test_playbook_assignment_table_and_translated_rules():
    book = default_playbook()
    assert book.assignment_rule == "case_caseworker"
    assert "huisbezoek" in book.rule_text("home_visit", "nl").lower()
    assert "visite à domicile" in book.rule_text("home_visit", "fr")
    custom = parse_playbook('[assignment]\nrule = "team_queue"\n[[task]]\nkind = "home_visit"\n'
                            'trigger = "opening"\ndue = "received_on + 3 working days"\n'
                            'rule = "visit"\nrule_fr = "visite"\n')
    assert custom.assignment_rule == "team_queue"
    assert custom.rule_text("home_visit", "fr") == "visite"
    assert custom.rule_text("home_visit", "nl") == "visit"  # no Dutch text: the rule itself
    assert custom.rule_text("first_contact", "nl") is None


@pytest.mark.parametrize(("text", "message"), [
    ('[assignment]\nrule = "lottery"\n', "'lottery' is not one of"),
    ('[assignment]\nwho = "x"\n', "field 'who': unknown field"),
    ('assignment = 3\n', "must be a table"),
])
def test_playbook_assignment_errors(text, message):
    task = '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = "received_on + 3 days"\n'
    with pytest.raises(PlaybookError, match=message):
        parse_playbook(text + task)
