"""A case's state from its notices: legal dates, flags, status, tasks and how they move."""

from dataclasses import replace
from datetime import date, datetime

import pytest

from domain.calendar import BelgianCalendar
from domain.case import StoredTask, TaskChanges, assess_case, case_id_for, reconcile_tasks
from domain.notices import NoticeFacts
from domain.playbook import default_playbook
from domain.regions import region_rules
from domain.values import fold_key

CALENDAR = BelgianCalendar()
BRUSSELS = region_rules("brussels")
FLANDERS = region_rules("flanders")
OPENING_KINDS = ("invitation_letter", "first_contact", "home_visit", "landlord_contact",
                 "hearing_preparation", "hearing_result")

# Petition received Mon 3 Aug 2026, filed Mon 27 Jul, hearing Thu 10 Sep 2026 (45 days).
PETITION = NoticeFacts(kind="petition", received_on=date(2026, 8, 3),
                       filed_on=date(2026, 7, 27), hearing_at=datetime(2026, 9, 10, 9, 30))
# The hearing postponed to Thu 24 Sep 2026, learnt Thu 20 Aug.
POSTPONED = replace(PETITION, received_on=date(2026, 8, 20),
                    hearing_at=datetime(2026, 9, 24, 9, 30))
# Judgment served Wed 14 Oct 2026: + 1 month = Sat 14 Nov -> delay ends Mon 16 Nov.
JUDGMENT = NoticeFacts(kind="judgment", received_on=date(2026, 10, 16),
                       judgment_on=date(2026, 9, 24), served_on=date(2026, 10, 14))
LIFTED = replace(JUDGMENT, moratorium_lifted=True)
# Bailiff's notice Mon 16 Nov 2026 of an eviction on Thu 17 Dec 2026: inside the moratorium.
EVICTION_NOTICE = NoticeFacts(kind="eviction_notice", received_on=date(2026, 11, 17),
                              notified_on=date(2026, 11, 16),
                              eviction_at=datetime(2026, 12, 17, 8, 0))
OBJECTION = NoticeFacts(kind="objection", received_on=date(2026, 8, 7))


def assess(*notices, region=BRUSSELS):
    return assess_case(list(notices), region=region, calendar=CALENDAR,
                       playbook=default_playbook())


def due_dates(assessment):
    return {task.kind: task.due_on for task in assessment.tasks}


def flag_codes(assessment):
    return [flag.code for flag in assessment.flags]


# --- a petition --------------------------------------------------------------------------


def test_a_petition_alone_plans_the_six_opening_tasks_and_the_case_is_open():
    assessment = assess(PETITION)
    assert assessment.status == "open"
    assert tuple(task.kind for task in assessment.tasks) == OPENING_KINDS
    assert due_dates(assessment) == {
        "invitation_letter": date(2026, 8, 5),  # received + 2 working days
        "first_contact": date(2026, 8, 10),  # received + 5 working days
        "home_visit": date(2026, 8, 17),  # min(received + 10 wd, hearing - 7 = 3 Sep)
        "landlord_contact": date(2026, 8, 31),  # hearing - 10 days
        "hearing_preparation": date(2026, 9, 8),  # hearing - 2 working days
        "hearing_result": date(2026, 9, 14),  # hearing + 2 working days
    }


def test_a_petition_alone_gives_its_hearing_and_no_eviction_dates_or_flags():
    assessment = assess(PETITION)
    assert assessment.hearing_at == datetime(2026, 9, 10, 9, 30)
    assert assessment.earliest_eviction_on is None
    assert assessment.eviction_at is None
    assert assessment.first_received_on == date(2026, 8, 3)
    assert assessment.flags == ()


def test_every_planned_task_explains_its_due_date():
    assert all(task.rule for task in assess(PETITION).tasks)


def test_a_hearing_less_than_forty_days_after_the_filing_is_flagged_in_brussels():
    early = replace(PETITION, hearing_at=datetime(2026, 8, 20, 9, 30))
    assert flag_codes(assess(early)) == ["hearing_too_early"]
    assert flag_codes(assess(early, region=FLANDERS)) == []


def test_the_order_in_which_notices_are_given_does_not_matter():
    assert assess(PETITION, JUDGMENT, EVICTION_NOTICE) == assess(EVICTION_NOTICE, PETITION,
                                                                 JUDGMENT)


# --- the judgment ------------------------------------------------------------------------


def test_a_judgment_served_in_october_cannot_be_executed_before_the_moratorium_ends():
    assessment = assess(PETITION, JUDGMENT)
    assert assessment.earliest_eviction_on == date(2027, 3, 16)
    assert assessment.status == "open"


def test_a_judgment_lifting_the_moratorium_allows_eviction_the_day_after_the_delay():
    assert assess(PETITION, LIFTED).earliest_eviction_on == date(2026, 11, 17)


def test_a_judgment_adds_the_post_judgment_contact_and_the_rehousing_plan():
    dates = due_dates(assess(PETITION, JUDGMENT))
    assert set(dates) == {*OPENING_KINDS, "post_judgment_contact", "rehousing_plan"}
    assert dates["post_judgment_contact"] == date(2026, 10, 21)  # Fri 16 Oct + 3 wd
    assert dates["rehousing_plan"] == date(2027, 3, 2)  # 16 Mar 2027 - 10 wd


def test_the_rehousing_plan_follows_a_lifted_moratorium():
    # 17 Nov 2026 - 10 working days, skipping Armistice Day (Wed 11 Nov)
    assert due_dates(assess(PETITION, LIFTED))["rehousing_plan"] == date(2026, 11, 2)


def test_flanders_has_no_moratorium_so_the_judgment_is_enforceable_after_the_delay():
    assert assess(PETITION, JUDGMENT, region=FLANDERS).earliest_eviction_on == date(2026, 11, 17)


# --- the bailiff's notice ----------------------------------------------------------------


def test_an_eviction_announced_inside_the_moratorium_is_flagged():
    assessment = assess(PETITION, JUDGMENT, EVICTION_NOTICE)
    assert flag_codes(assessment) == ["moratorium"]
    assert "2026-12-17" in assessment.flags[0].detail
    assert assessment.eviction_at == datetime(2026, 12, 17, 8, 0)


def test_an_eviction_inside_a_lifted_moratorium_is_not_flagged():
    assert flag_codes(assess(PETITION, LIFTED, EVICTION_NOTICE)) == []


def test_an_eviction_notice_plans_the_urgent_visit_and_the_emergency_rehousing():
    dates = due_dates(assess(PETITION, JUDGMENT, EVICTION_NOTICE))
    assert dates["urgent_home_visit"] == date(2026, 11, 19)  # Tue 17 Nov + 2 wd
    assert dates["emergency_rehousing"] == date(2026, 12, 10)  # Thu 17 Dec - 5 wd


def test_an_eviction_too_soon_after_the_bailiffs_notice_is_flagged_short_notice():
    hasty = replace(EVICTION_NOTICE, notified_on=date(2026, 12, 10))
    assert "short_notice" in flag_codes(assess(PETITION, LIFTED, hasty))


# --- a postponed hearing -----------------------------------------------------------------


def test_a_second_petition_with_a_later_hearing_moves_the_hearing_and_its_tasks():
    before, after = due_dates(assess(PETITION)), due_dates(assess(PETITION, POSTPONED))
    assert assess(PETITION, POSTPONED).hearing_at == datetime(2026, 9, 24, 9, 30)
    assert after["landlord_contact"] == date(2026, 9, 14)
    assert after["hearing_preparation"] == date(2026, 9, 22)
    assert after["hearing_result"] == date(2026, 9, 28)
    # receipt-relative tasks count from the first petition and stay where they were
    for kind in ("invitation_letter", "first_contact", "home_visit"):
        assert after[kind] == before[kind]


def stored_from(assessment, statuses):
    """The tasks as the store holds them after the first assessment: id, kind, due, status."""
    return [
        StoredTask(id=number, kind=task.kind, due_on=task.due_on, status=statuses[task.kind])
        for number, task in enumerate(assessment.tasks, start=1)
        if task.kind in statuses
    ]


def test_reconciling_after_a_postponed_hearing_moves_only_open_tasks_and_adds_new_kinds():
    stored = stored_from(assess(PETITION), {
        "invitation_letter": "done",
        "first_contact": "open",
        "home_visit": "open",
        "landlord_contact": "done",
        "hearing_preparation": "open",
        # hearing_result was never stored (e.g. a playbook that gained a task)
    })
    ids = {task.kind: task.id for task in stored}
    changes = reconcile_tasks(stored, assess(PETITION, POSTPONED))
    assert [(task_id, task.kind, task.due_on) for task_id, task in changes.moved] == [
        (ids["hearing_preparation"], "hearing_preparation", date(2026, 9, 22)),
    ]
    assert [(task.kind, task.due_on) for task in changes.new] == [
        ("hearing_result", date(2026, 9, 28)),
    ]
    assert changes.cancelled == []


def test_a_done_task_whose_due_date_moved_is_history_and_stays():
    stored = stored_from(assess(PETITION), {"landlord_contact": "done"})
    changes = reconcile_tasks(stored, assess(PETITION, POSTPONED))
    assert all(task_id != stored[0].id for task_id, _ in changes.moved)
    assert "landlord_contact" not in {task.kind for task in changes.new}


def test_a_cancelled_task_is_neither_moved_nor_planned_again():
    stored = stored_from(assess(PETITION), {"hearing_preparation": "cancelled"})
    changes = reconcile_tasks(stored, assess(PETITION, POSTPONED))
    assert changes.moved == []
    assert "hearing_preparation" not in {task.kind for task in changes.new}


def test_reconciling_the_same_assessment_again_changes_nothing():
    assessment = assess(PETITION, JUDGMENT)
    stored = stored_from(assessment, dict.fromkeys((t.kind for t in assessment.tasks), "open"))
    assert reconcile_tasks(stored, assessment) == TaskChanges()


def test_reconciling_with_nothing_stored_adds_every_planned_task():
    assessment = assess(PETITION)
    assert reconcile_tasks([], assessment).new == list(assessment.tasks)


# --- an objection ------------------------------------------------------------------------


def test_an_objection_in_brussels_stops_the_case_and_plans_no_tasks():
    assessment = assess(PETITION, OBJECTION)
    assert assessment.status == "objected"
    assert assessment.tasks == ()
    assert assessment.hearing_at == datetime(2026, 9, 10, 9, 30)


def test_reconciling_an_objection_cancels_the_open_tasks_and_keeps_the_done_ones():
    stored = stored_from(assess(PETITION), {
        "invitation_letter": "done", "first_contact": "open", "home_visit": "open",
        "landlord_contact": "cancelled",
    })
    ids = {task.kind: task.id for task in stored}
    changes = reconcile_tasks(stored, assess(PETITION, OBJECTION))
    assert sorted(changes.cancelled) == sorted([ids["first_contact"], ids["home_visit"]])
    assert changes.new == [] and changes.moved == []


@pytest.mark.parametrize("later", [JUDGMENT, EVICTION_NOTICE])
def test_an_objection_still_stops_the_case_when_later_notices_arrive(later):
    assessment = assess(PETITION, OBJECTION, later)
    assert assessment.status == "objected"
    assert assessment.tasks == ()


def test_in_flanders_a_tenant_cannot_object_so_the_case_stays_open():
    assert FLANDERS.tenant_may_object is False
    assessment = assess(PETITION, OBJECTION, region=FLANDERS)
    assert assessment.status == "open"
    assert tuple(task.kind for task in assessment.tasks) == OPENING_KINDS
    stored = stored_from(assess(PETITION, region=FLANDERS), dict.fromkeys(OPENING_KINDS, "open"))
    assert reconcile_tasks(stored, assessment).cancelled == []


# --- the case id -------------------------------------------------------------------------


def key(court, docket):
    return fold_key(court), fold_key(docket)


def test_the_case_id_is_stable_for_the_same_procedure_however_it_is_spelled():
    first = case_id_for(key("Vredegerecht Schaarbeek", "26A1234"))
    assert case_id_for(key("Vredegerecht Schaarbeek", "26A1234")) == first
    assert case_id_for(key("vredegerecht  schaarbeek", "26 a 1234")) == first


def test_the_case_id_is_sixteen_hex_digits():
    case_id = case_id_for(key("Vredegerecht Schaarbeek", "26A1234"))
    assert len(case_id) == 16
    assert int(case_id, 16) >= 0 and case_id == case_id.lower()


def test_different_dockets_or_courts_give_different_case_ids():
    ids = {
        case_id_for(key("Vredegerecht Schaarbeek", "26A1234")),
        case_id_for(key("Vredegerecht Schaarbeek", "26A1235")),
        case_id_for(key("Justice de paix d'Ixelles", "26A1234")),
    }
    assert len(ids) == 3


def test_a_closed_case_stays_closed_and_a_case_without_ocmw_waits_in_triage() -> None:
    from domain.case import case_status

    assessment = assess_case(
        [NoticeFacts("petition", date(2026, 11, 2), filed_on=date(2026, 10, 27),
                     hearing_at=datetime(2026, 12, 10, 9, 30))],
        region=region_rules("brussels"), calendar=BelgianCalendar(),
        playbook=default_playbook(),
    )

    assert case_status("closed", "21015", assessment) == "closed"
    assert case_status("open", None, assessment) == "triage"
    assert case_status("triage", "21015", assessment) == "open"
