"""The OCMW playbook: parsing the TOML file and planning tasks with due dates."""

from datetime import date

import pytest

from domain.calendar import BelgianCalendar
from domain.playbook import (
    TASK_KINDS,
    DueTerm,
    PlannedTask,
    PlaybookError,
    PlaybookFacts,
    default_playbook,
    default_playbook_text,
    parse_playbook,
)

CALENDAR = BelgianCalendar()
PLAYBOOK = parse_playbook(default_playbook_text())
# petition received Mon 2 Nov 2026, hearing Thu 10 Dec 2026
PETITION = PlaybookFacts(opening_received_on=date(2026, 11, 2), hearing_on=date(2026, 12, 10))
# judgment received Tue 22 Dec 2026, earliest eviction Tue 16 Mar 2027 (moratorium)
JUDGMENT = PlaybookFacts(
    judgment_received_on=date(2026, 12, 22), earliest_eviction_on=date(2027, 3, 16)
)
# bailiff's notice received Fri 26 Mar 2027, eviction Thu 22 Apr 2027
EVICTION_NOTICE = PlaybookFacts(
    eviction_notice_received_on=date(2027, 3, 26), eviction_on=date(2027, 4, 22)
)


def due_dates(facts, calendar=CALENDAR, playbook=PLAYBOOK):
    return {task.kind: task.due_on for task in playbook.plan(facts, calendar)}


def one_task_playbook(due, trigger="opening"):
    return parse_playbook(f'[[task]]\nkind = "home_visit"\ntrigger = "{trigger}"\ndue = {due}\n')


def test_the_default_playbook_has_the_ten_tasks_of_the_design_in_order():
    assert tuple(rule.kind for rule in PLAYBOOK.rules) == TASK_KINDS
    assert len(TASK_KINDS) == 10
    assert default_playbook() == PLAYBOOK


def test_due_terms_are_parsed_once_into_objects():
    home_visit = PLAYBOOK.rules[2]
    assert home_visit.due == (
        DueTerm("received_on", 10, working_days=True),
        DueTerm("hearing", -7, working_days=False),
    )


@pytest.mark.parametrize(
    ("kind", "due_on"),
    [
        ("invitation_letter", date(2026, 11, 4)),  # Tue 3, Wed 4
        ("first_contact", date(2026, 11, 9)),  # 3, 4, 5, 6, Mon 9
        ("home_visit", date(2026, 11, 17)),  # 10 working days skip 11 Nov; hearing-7 = 3 Dec
        ("landlord_contact", date(2026, 11, 30)),  # 10 Dec - 10 days = Mon 30 Nov
        ("hearing_preparation", date(2026, 12, 8)),  # Wed 9, Tue 8
        ("hearing_result", date(2026, 12, 14)),  # Fri 11, Mon 14
    ],
)
def test_a_petition_plans_its_tasks_on_worked_dates(kind, due_on):
    assert due_dates(PETITION)[kind] == due_on


def test_a_petition_plans_only_the_opening_tasks():
    assert list(due_dates(PETITION)) == list(TASK_KINDS[:6])


def test_a_judgment_plans_its_tasks_on_worked_dates():
    assert due_dates(JUDGMENT) == {
        "post_judgment_contact": date(2026, 12, 28),  # Wed 23, Thu 24, (Fri 25), Mon 28
        "rehousing_plan": date(2027, 3, 2),  # 10 working days before Tue 16 Mar 2027
    }


def test_an_eviction_notice_plans_its_tasks_on_worked_dates():
    assert due_dates(EVICTION_NOTICE) == {
        "urgent_home_visit": date(2027, 3, 31),  # (Easter Monday 29 Mar), Tue 30, Wed 31
        "emergency_rehousing": date(2027, 4, 15),  # 21, 20, 19, 16, Thu 15 Apr
    }


def test_planned_tasks_carry_the_rule_that_explains_them():
    first = PLAYBOOK.plan(PETITION, CALENDAR)[0]
    assert first == PlannedTask(
        "invitation_letter",
        date(2026, 11, 4),
        "Brussels playbook: send the invitation letter to the tenant — "
        "received_on + 2 working days",
    )


def test_ten_days_before_a_wednesday_hearing_falls_on_sunday_and_moves_back_to_friday():
    facts = PlaybookFacts(opening_received_on=date(2026, 11, 2), hearing_on=date(2026, 12, 9))
    assert due_dates(facts)["landlord_contact"] == date(2026, 11, 27)


def test_seven_days_before_a_sunday_hearing_moves_back_to_friday():
    playbook = one_task_playbook('"hearing - 7 days"')
    facts = PlaybookFacts(opening_received_on=date(2026, 11, 2), hearing_on=date(2026, 12, 13))
    assert due_dates(facts, playbook=playbook) == {"home_visit": date(2026, 12, 4)}


def test_the_home_visit_is_due_a_week_before_an_early_hearing():
    # hearing Wed 18 Nov 2026 - 7 days = Wed 11 Nov (holiday) -> Tue 10 Nov, before 17 Nov
    facts = PlaybookFacts(opening_received_on=date(2026, 11, 2), hearing_on=date(2026, 11, 18))
    assert due_dates(facts)["home_visit"] == date(2026, 11, 10)


def test_without_a_hearing_date_only_terms_on_the_receipt_date_count():
    facts = PlaybookFacts(opening_received_on=date(2026, 11, 2))
    assert due_dates(facts) == {
        "invitation_letter": date(2026, 11, 4),
        "first_contact": date(2026, 11, 9),
        "home_visit": date(2026, 11, 17),
    }


def test_no_task_is_planned_before_its_trigger_notice_arrives():
    facts = PlaybookFacts(hearing_on=date(2026, 12, 10), eviction_on=date(2027, 4, 22))
    assert PLAYBOOK.plan(facts, CALENDAR) == []


def test_a_closure_shifts_an_internal_deadline_but_not_a_legal_period():
    calendar = BelgianCalendar(closures=[date(2026, 11, 3)])
    assert due_dates(PETITION, calendar)["invitation_letter"] == date(2026, 11, 5)
    assert calendar.period_end_days(date(2026, 10, 27), 7) == date(2026, 11, 3)


def test_a_closure_on_the_day_before_an_event_moves_the_task_back_again():
    calendar = BelgianCalendar(closures=[date(2026, 11, 30)])
    assert due_dates(PETITION, calendar)["landlord_contact"] == date(2026, 11, 27)


def test_tasks_are_planned_in_file_order():
    text = (
        '[[task]]\nkind = "hearing_result"\ntrigger = "opening"\ndue = "hearing + 1 working day"\n'
        '[[task]]\nkind = "invitation_letter"\ntrigger = "opening"\n'
        'due = "received_on + 1 working day"\n'
    )
    kinds = [task.kind for task in parse_playbook(text).plan(PETITION, CALENDAR)]
    assert kinds == ["hearing_result", "invitation_letter"]


def test_a_due_term_may_use_a_typographic_minus_and_a_default_rule():
    playbook = one_task_playbook('"hearing − 7 days"')
    assert playbook.rules[0].due == (DueTerm("hearing", -7, working_days=False),)
    assert playbook.rules[0].rule == "playbook: home_visit due hearing − 7 days"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[task]]\nkind = "first_contact"\ntrigger = "opening"\ndue = "received_on + 5 days"\n'
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = "received_on + 1 day"\n'
            '[[task]]\nkind = "landlord_contact"\ntrigger = "opening"\ndue = "hearing -- 2 days"\n',
            "task 3, field 'due': cannot read 'hearing -- 2 days'",
        ),
        (
            '[[task]]\nkind = "home_visits"\ntrigger = "opening"\ndue = "hearing - 2 days"\n',
            "task 1, field 'kind': 'home_visits' is not one of invitation_letter",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "petition"\ndue = "hearing - 2 days"\n',
            "task 1, field 'trigger': 'petition' is not one of opening, judgment, eviction_notice",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\n',
            "task 1, field 'due': missing",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = "judgment + 2 days"\n',
            "task 1, field 'due': cannot read 'judgment + 2 days'",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = []\n',
            "task 1, field 'due': must be a term in quotes or a list of terms",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = ["hearing - 2 weeks"]\n',
            "task 1, field 'due': cannot read 'hearing - 2 weeks'",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntigger = "opening"\ndue = "hearing - 2 days"\n',
            "task 1, field 'tigger': unknown field",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = "hearing - 2 days"\n'
            "rule = 3\n",
            "task 1, field 'rule': must be text in quotes",
        ),
        (
            '[[task]]\nkind = "home_visit"\ntrigger = "opening"\ndue = "hearing - 2 days"\n'
            '[[task]]\nkind = "home_visit"\ntrigger = "judgment"\ndue = "hearing - 2 days"\n',
            "task 2, field 'kind': 'home_visit' is already planned by task 1",
        ),
        ('kind = "home_visit"\n', "playbook: unknown top-level key 'kind'"),
        ("", "playbook has no [[task]] blocks"),
        ("[[task]\n", "playbook is not valid TOML"),
    ],
)
def test_a_playbook_error_names_the_task_number_and_the_field(text, message):
    with pytest.raises(PlaybookError) as raised:
        parse_playbook(text)
    assert str(raised.value).startswith(message)


def test_a_playbook_error_is_a_value_error():
    assert issubclass(PlaybookError, ValueError)
