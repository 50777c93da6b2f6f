"""Contact-versus-outcome statistics (domain/statistics.py): every figure of a hand-computed
dataset, the small-cell rule on it, edge cases and the regional report."""

from __future__ import annotations

import math

import pytest

from domain.statistics import (
    CaseCell,
    DelayCell,
    ReferralCell,
    Table,
    merge_reports,
    read_report,
    report_document,
    statistics,
    suppress,
)

Z = 1.959963984540054

# Two OCMWs, three postcodes, three cohort months, 39 cases.
#   ocmw     postcode  month      outcome              effective attempted cases visits
CELLS = [
    CaseCell("21015", "1030", "2026-10", "kept_payment_plan", True, True, 6, 4),    # A
    CaseCell("21015", "1030", "2026-10", "evicted", True, True, 2, 1),              # B
    CaseCell("21015", "1030", "2026-11", "rehoused", False, True, 3, 2),            # C
    CaseCell("21015", "1030", "2026-11", "evicted", False, False, 5, 0),            # D
    CaseCell("21015", "1030", "2026-11", None, True, True, 2, 1),                   # E
    CaseCell("21004", "1000", "2026-11", "kept_agreement", True, True, 7, 3),       # F
    CaseCell("21004", "1000", "2026-11", "lost_contact", False, True, 4, 2),        # G
    CaseCell("21004", "1020", "2027-01", None, False, False, 6, 0),                 # H
    CaseCell("21004", "1020", "2027-01", "kept_debt_cleared", False, False, 1, 0),  # I
    CaseCell("21004", "1000", "2027-01", "refused_help", True, True, 3, 0),         # J
]
# Working days to the first effective contact of the 20 cases that had one (A, B, E, F, J).
DELAYS = [
    DelayCell("21015", "1030", "2026-10", 2, 4),
    DelayCell("21015", "1030", "2026-10", 5, 1),
    DelayCell("21015", "1030", "2026-10", 8, 3),
    DelayCell("21015", "1030", "2026-11", 9, 2),
    DelayCell("21004", "1000", "2026-11", 3, 5),
    DelayCell("21004", "1000", "2026-11", 4, 2),
    DelayCell("21004", "1000", "2027-01", 1, 3),
]
REFERRALS = [
    ReferralCell("21015", "1030", "2026-10", "uitweg", "sent", 2),
    ReferralCell("21015", "1030", "2026-11", "uitweg", "housed", 1),
    ReferralCell("21004", "1000", "2026-11", "uitweg", "sent", 3),
    ReferralCell("21004", "1020", "2027-01", "smes_housing_first", "accepted", 6),
]


def wilson(s: int, n: int) -> list[float]:
    """The Wilson score interval written the other way round: (2np + z² ± z√(z² + 4np(1-p)))
    / 2(n + z²)."""
    p = s / n
    root = Z * math.sqrt(Z * Z + 4 * n * p * (1 - p))
    return [round((2 * n * p + Z * Z - root) / (2 * (n + Z * Z)), 4),
            round((2 * n * p + Z * Z + root) / (2 * (n + Z * Z)), 4)]


def figures(key, cases, pending, with_, without, solved_with, solved_without, visits, median,
            attempted, effective, referrals):
    """The expected row when nothing is hidden (min_cell=1)."""
    return {
        "key": key, "cases": cases, "pending": pending, "with_contact": with_,
        "without_contact": without, "solved_with_contact": solved_with,
        "solved_without_contact": solved_without,
        "rate_with_contact": round(solved_with / with_, 4) if with_ else None,
        "rate_without_contact": round(solved_without / without, 4) if without else None,
        "ci_with_contact": wilson(solved_with, with_) if with_ else None,
        "ci_without_contact": wilson(solved_without, without) if without else None,
        "home_visits": visits, "median_days_to_contact": median,
        "funnel": {"cases": cases, "contact_attempted": attempted,
                   "effective_contact": effective, "solved": solved_with + solved_without},
        "referrals": [
            {"programme": "smes_housing_first", "status": "accepted", "referrals": referrals[0]},
            {"programme": "uitweg", "status": "sent", "referrals": referrals[1]},
            {"programme": "uitweg", "status": "housed", "referrals": referrals[2]},
        ],
    }


# 21004: F G H I J. 21015: A B C D E. Delays 21015: 2×4 5 8×3 9×2 → 5th and 6th of 10 are 5
# and 8 → 6.5; 21004: 1×3 3×5 4×2 → 3 and 3 → 3; all 20: 10th and 11th are 3 and 3 → 3.
TOTAL = figures("total", 39, 8, 18, 13, 13, 4, 13, 3, 27, 20, [6, 5, 1])
BY_OCMW = [
    figures("21004", 21, 6, 10, 5, 7, 1, 5, 3, 14, 10, [6, 3, 0]),
    figures("21015", 18, 2, 8, 8, 6, 3, 8, 6.5, 13, 10, [0, 2, 1]),
]


def test_the_headline_figures_by_ocmw_without_suppression():
    document = statistics(CELLS, DELAYS, REFERRALS, by="ocmw", min_cell=1)
    assert document["groups"] == BY_OCMW
    assert document["total"] == TOTAL
    assert (document["from"], document["to"], document["min_cell"], document["by"]) == (
        None, None, 1, "ocmw")


def test_rates_and_wilson_bounds_are_the_hand_computed_numbers():
    total = statistics(CELLS, DELAYS, REFERRALS, by=None, min_cell=1)["total"]
    assert total["rate_with_contact"] == 0.7222           # 13 / 18
    assert total["rate_without_contact"] == 0.3077        # 4 / 13
    # 13 of 18: p = .7222, centre (p + z²/36)/(1 + z²/18) = .8289/1.2134 = .6831,
    # half-width z·√(p(1-p)/18 + z²/1296)/1.2134 = .1919
    assert total["ci_with_contact"] == [0.4913, 0.8750] == wilson(13, 18)
    # 4 of 13: centre .4554/1.2955 = .3516, half-width .2247
    assert total["ci_without_contact"] == [0.1268, 0.5763] == wilson(4, 13)
    # Known values: 0 of 10 → [0, z²/(10 + z²)] = [0, .2775]; 10 of 10 → [.7225, 1].
    assert wilson(0, 10) == [0.0, 0.2775]
    from domain.statistics import wilson as module_wilson
    assert module_wilson(0, 10) == (0.0, 0.2775)
    assert module_wilson(10, 10) == (0.7225, 1.0)


def test_by_month_quarter_commune_and_none():
    by_month = statistics(CELLS, DELAYS, REFERRALS, by="month", min_cell=1)
    assert by_month["groups"] == [
        # A B; delays 2×4 5 8×3 → 4th and 5th of 8 are 2 and 5 → 3.5
        figures("2026-10", 8, 0, 8, 0, 6, 0, 5, 3.5, 8, 8, [0, 2, 0]),
        # C D E F G; delays 3×5 4×2 9×2 → 5th of 9 → 3 (an odd count)
        figures("2026-11", 21, 2, 7, 12, 7, 3, 8, 3, 16, 9, [0, 3, 1]),
        # H I J; delays 1×3 → 1
        figures("2027-01", 10, 6, 3, 1, 0, 1, 0, 1, 3, 3, [6, 0, 0]),
    ]
    assert by_month["total"] == TOTAL
    by_quarter = statistics(CELLS, DELAYS, REFERRALS, by="quarter", min_cell=1)
    assert [g["key"] for g in by_quarter["groups"]] == ["2026-Q4", "2027-Q1"]
    q4 = by_quarter["groups"][0]
    # 2026-10 and 2026-11 together; delays 2×4 3×5 4×2 5 8×3 9×2: 17 of them, the 9th is 3
    assert q4 == figures("2026-Q4", 29, 2, 15, 12, 13, 3, 13, 3, 24, 17, [0, 5, 1])
    by_commune = statistics(CELLS, DELAYS, REFERRALS, by="commune", min_cell=1)
    assert [(g["key"], g["cases"], g["pending"]) for g in by_commune["groups"]] == [
        ("1000", 14, 0), ("1020", 7, 6), ("1030", 18, 2)]
    everything = statistics(CELLS, DELAYS, REFERRALS, by=None, min_cell=1)
    assert everything["groups"] == []
    assert everything["total"] == TOTAL


def test_small_cells_with_k_5():
    """By hand: the counts 1..4 become "<5"; then every sum with one hidden cell gets a second
    one (a group's smallest count, a funnel count before a headline one) until none is left:
    21004 funnel.solved (8 = 7 + <5), 21015 with (18 = <5 + 8 + 8), 21015 funnel.solved,
    total funnel.solved (17 = 13 + <5), 21004 pending (column 6 + <5 = 8), 21004 without
    (21 = x + 10 + 5), 21004 with (column), 21015 without (column). The reader can then still
    move 21015's pending between 1 and 4, so nothing more is needed."""
    document = statistics(CELLS, DELAYS, REFERRALS, by="ocmw", min_cell=5)
    first, second = document["groups"]
    total = document["total"]
    hidden = {"rate_with_contact": None, "rate_without_contact": None,
              "ci_with_contact": None, "ci_without_contact": None}
    assert first == {
        **BY_OCMW[0], **hidden, "pending": "x", "with_contact": "x", "without_contact": "x",
        "solved_without_contact": "<5",
        "funnel": {"cases": 21, "contact_attempted": 14, "effective_contact": 10,
                   "solved": "x"},
        "referrals": [
            {"programme": "smes_housing_first", "status": "accepted", "referrals": 6},
            {"programme": "uitweg", "status": "sent", "referrals": "<5"},
            {"programme": "uitweg", "status": "housed", "referrals": 0}],
    }
    assert second == {
        **BY_OCMW[1], **hidden, "pending": "<5", "with_contact": "x", "without_contact": "x",
        "solved_without_contact": "<5",
        "funnel": {"cases": 18, "contact_attempted": 13, "effective_contact": 10,
                   "solved": "x"},
        "referrals": [
            {"programme": "smes_housing_first", "status": "accepted", "referrals": 0},
            {"programme": "uitweg", "status": "sent", "referrals": "<5"},
            {"programme": "uitweg", "status": "housed", "referrals": "<5"}],
    }
    # The total keeps its rate with contact (13 / 18); the rate without rests on "<5".
    assert total == {
        **TOTAL, "solved_without_contact": "<5", "rate_without_contact": None,
        "ci_without_contact": None,
        "funnel": {"cases": 39, "contact_attempted": 27, "effective_contact": 20,
                   "solved": "x"},
        "referrals": [
            {"programme": "smes_housing_first", "status": "accepted", "referrals": 6},
            {"programme": "uitweg", "status": "sent", "referrals": 5},
            {"programme": "uitweg", "status": "housed", "referrals": "<5"}],
    }
    assert document["definitions"]["<5"].startswith("A count from 1 to 4")
    assert "x" in document["definitions"]


def test_a_rate_on_fewer_than_k_closed_cases_and_a_median_on_fewer_than_k_are_withheld():
    by_month = statistics(CELLS, DELAYS, REFERRALS, by="month", min_cell=5)
    january = by_month["groups"][2]
    assert january["key"] == "2027-01"
    assert january["rate_with_contact"] is None          # 3 closed cases with contact
    assert january["median_days_to_contact"] is None     # 3 cases had an effective contact
    october = by_month["groups"][0]
    assert october["median_days_to_contact"] == 3.5      # 8 cases


def test_suppress_widens_a_small_total_that_would_give_its_parts_away():
    """1 + 1 = 2 with k = 3: all three are "<3", and a reader who knows each lies in 1..2
    reads 2 = a + b as a = b = 1. Shown as "x" (any count), the total no longer tells."""
    table = Table(("a", "b"), ("home_visits",),
                  {("a", "home_visits"): 1, ("b", "home_visits"): 1,
                   ("total", "home_visits"): 2})
    assert suppress(table, 3) == {("a", "home_visits"): "<3", ("b", "home_visits"): "<3",
                                  ("total", "home_visits"): "x"}


def test_suppress_hides_a_second_count_in_a_sum_and_spares_zeros():
    table = Table(("a", "b", "c"), ("home_visits",),
                  {("a", "home_visits"): 3, ("b", "home_visits"): 0, ("c", "home_visits"): 40,
                   ("total", "home_visits"): 43})
    assert suppress(table, 5) == {("a", "home_visits"): "<5", ("c", "home_visits"): "x"}


# --------------------------------------------------------------------------- edge cases


def test_empty_input():
    document = statistics([], by="ocmw")
    assert document["groups"] == []
    total = document["total"]
    assert total["cases"] == 0 and total["pending"] == 0 and total["home_visits"] == 0
    assert total["rate_with_contact"] is None and total["ci_with_contact"] is None
    assert total["median_days_to_contact"] is None
    assert total["referrals"] == []
    assert total["funnel"] == {"cases": 0, "contact_attempted": 0, "effective_contact": 0,
                               "solved": 0}


def test_all_pending_gives_no_rate():
    cells = [CaseCell("21015", "1030", "2026-11", None, True, True, 12, 2),
             CaseCell("21015", "1030", "2026-11", None, False, False, 9, 0)]
    total = statistics(cells, by=None)["total"]
    assert (total["cases"], total["pending"], total["with_contact"]) == (21, 21, 0)
    assert total["rate_with_contact"] is None and total["rate_without_contact"] is None
    assert total["ci_without_contact"] is None
    assert total["funnel"]["effective_contact"] == 12


def test_a_zero_denominator_is_no_rate_even_without_suppression():
    cells = [CaseCell("21015", "1030", "2026-11", "evicted", False, False, 4, 0)]
    total = statistics(cells, by=None, min_cell=1)["total"]
    assert total["rate_with_contact"] is None and total["ci_with_contact"] is None
    assert total["rate_without_contact"] == 0.0
    assert total["ci_without_contact"] == wilson(0, 4)


def test_the_period_keeps_the_months_it_touches_and_is_echoed():
    document = statistics(CELLS, DELAYS, REFERRALS, by="month", min_cell=1,
                          period_from="2026-11-01", period_to="2026-12-31")
    assert [g["key"] for g in document["groups"]] == ["2026-11"]
    assert (document["from"], document["to"]) == ("2026-11-01", "2026-12-31")
    assert document["total"]["cases"] == 21


@pytest.mark.parametrize("changes, message", [
    ({"by": "street"}, "by 'street'"),
    ({"min_cell": 0}, "min_cell 0"),
])
def test_bad_arguments_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        statistics(CELLS, **{"by": "ocmw", **changes})


def test_an_unknown_outcome_is_refused():
    cells = [CaseCell("21015", "1030", "2026-11", "vanished", False, False, 1, 0)]
    with pytest.raises(ValueError, match=r"cells\[0\].outcome: 'vanished'"):
        statistics(cells, by=None)


# --------------------------------------------------------------------------- regional report


def report(ocmw: str, month: str = "2026-11") -> dict:
    return report_document(CELLS, DELAYS, REFERRALS, ocmw=ocmw, month=month,
                           generated_at="2026-12-01T08:00:00+01:00")


def test_a_report_holds_the_exact_cells_of_one_ocmw_and_month():
    document = report("21015")
    assert document["format"] == "domus-report/1"
    assert (document["ocmw"], document["month"]) == ("21015", "2026-11")
    assert document["cells"] == [
        {"ocmw": "21015", "commune": "1030", "month": "2026-11", "outcome": None,
         "effective": True, "attempted": True, "cases": 2, "home_visits": 1},
        {"ocmw": "21015", "commune": "1030", "month": "2026-11", "outcome": "evicted",
         "effective": False, "attempted": False, "cases": 5, "home_visits": 0},
        {"ocmw": "21015", "commune": "1030", "month": "2026-11", "outcome": "rehoused",
         "effective": False, "attempted": True, "cases": 3, "home_visits": 2},
    ]
    assert document["delays"] == [{"ocmw": "21015", "commune": "1030", "month": "2026-11",
                                   "working_days": 9, "cases": 2}]
    assert document["referrals"] == [{"ocmw": "21015", "commune": "1030", "month": "2026-11",
                                      "programme": "uitweg", "status": "housed",
                                      "referrals": 1}]


def test_reports_read_back_and_merge_to_the_same_figures():
    documents = [report(ocmw, month) for ocmw in ("21004", "21015")
                 for month in ("2026-10", "2026-11", "2027-01")]
    cells, delays, referrals = merge_reports(documents)
    for by in ("ocmw", "commune", "month", None):
        assert (statistics(cells, delays, referrals, by=by)
                == statistics(CELLS, DELAYS, REFERRALS, by=by))
    assert read_report(report("21004"))[0] == [c for c in CELLS if c.ocmw == "21004"
                                               and c.month == "2026-11"]


def test_two_reports_of_the_same_ocmw_and_month_are_refused():
    with pytest.raises(ValueError, match="OCMW 21015 2026-11 is already in report 1"):
        merge_reports([report("21015"), report("21004"), report("21015")])


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.update(format="domus-report/2"), "format: 'domus-report/2'"),
    (lambda d: d.pop("generated_at"), "generated_at: missing"),
    (lambda d: d.update(tenant="Janssens"), "tenant: unknown field"),
    (lambda d: d.update(ocmw="Schaerbeek"), "ocmw: 'Schaerbeek' is not a NIS code"),
    (lambda d: d.update(month="2026-13"), "month: '2026-13'"),
    (lambda d: d.update(generated_at="yesterday"), "generated_at: 'yesterday'"),
    (lambda d: d.update(cells={}), "cells: not a list"),
    (lambda d: d["cells"][1].update(outcome="vanished"), r"cells\[1\].outcome: 'vanished'"),
    (lambda d: d["cells"][2].update(cases=-1), r"cells\[2\].cases: -1 is not a count"),
    (lambda d: d["cells"][0].update(cases=True), r"cells\[0\].cases: True is not a count"),
    (lambda d: d["cells"][0].update(effective="yes"), r"cells\[0\].effective: 'yes'"),
    (lambda d: d["cells"][0].update(name="Janssens"), r"cells\[0\].name: unknown field"),
    (lambda d: d["cells"][0].pop("commune"), r"cells\[0\].commune: missing"),
    (lambda d: d["cells"][0].update(commune="Rue Royale 1"), r"cells\[0\].commune: 'Rue"),
    (lambda d: d["cells"][0].update(ocmw="21004"), r"cells\[0\].ocmw: '21004' is not the"),
    (lambda d: d["cells"][0].update(month="2026-10"), r"cells\[0\].month: '2026-10' is not"),
    (lambda d: d["delays"][0].update(working_days=2.5), r"delays\[0\].working_days: 2.5"),
    (lambda d: d["referrals"][0].update(status="lost"), r"referrals\[0\].status: 'lost'"),
    (lambda d: d["referrals"][0].update(programme="Mr X"), r"referrals\[0\].programme: 'Mr X'"),
])
def test_a_damaged_report_is_refused_naming_the_field(damage, message):
    document = report("21015")
    damage(document)
    with pytest.raises(ValueError, match=message):
        read_report(document)
    with pytest.raises(ValueError, match="report 2: " + message):
        merge_reports([report("21004"), document])


def test_a_report_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="not a report"):
        read_report([1, 2])
