"""Contact-versus-outcome statistics and the regional report (DESIGN.md, "Contacts and outcomes").

The store never hands over a row per person: it sends pre-aggregated cells (cases sharing an
OCMW, a postcode, a cohort month, an outcome and two contact flags), the histogram of working
days to the first effective contact, and referral counts. This module turns them into
CONTRACT.md's `stats` document:

* the headline figure (DESIGN.md, "the headline figure"): among cases with a final outcome,
  the share with a solution, split by effective contact yes/no, with counts, a 95 % Wilson
  interval, cases still pending, home visits, the median working days to first effective
  contact, a funnel and the referrals, by OCMW, commune, quarter or month;
* small cells (DESIGN.md, "small cells"): see `suppress`. A count from 1 to k-1 prints as
  ``"<k"``; 0 is shown (as in official statistics: an empty cell names nobody). Counts
  hidden so that no small count can be worked out from the others and the totals print as
  ``"x"``. A rate or interval is ``None`` when its numerator or denominator is hidden or the
  denominator is below k (a rate times a known denominator would give the numerator); a
  median is ``None`` when fewer than k cases had an effective contact or that count is
  hidden.

The regional report (`report_document`, `read_report`, `merge_reports`) carries the exact
cells of one OCMW and one cohort month: no name, address, docket number or date of birth
exists in a cell at all, and a postcode and a month are its only geography and time.

Pure: no database, no clock; dates arrive as strings.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, fields
from datetime import datetime
from typing import Any

from domain.programmes import ID as PROGRAMME_ID
from domain.programmes import REFERRAL_STATUSES

SOLUTIONS = ("kept_payment_plan", "kept_debt_cleared", "kept_agreement", "rehoused")
OUTCOMES = SOLUTIONS + ("left_voluntarily", "evicted", "procedure_stopped", "refused_help",
                        "lost_contact", "unknown")
GROUPINGS = ("ocmw", "commune", "quarter", "month")
Z95 = 1.959963984540054
TOTAL = "total"
OTHERS = "x"  # a count of at least k hidden so that a small count cannot be recovered
REPORT_FORMAT = "domus-report/1"

_NIS = re.compile(r"\d{5}")
_POSTCODE = re.compile(r"\d{4}|unknown")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class CaseCell:
    """The cases sharing all these values."""
    ocmw: str            # NIS code, e.g. "21015"
    commune: str         # the dwelling's postcode, e.g. "1030"
    month: str           # cohort: month the case's first notice was received, "2026-11"
    outcome: str | None  # final outcome code, None = pending
    effective: bool      # had an effective contact
    attempted: bool      # any contact recorded (any channel, any result)
    cases: int
    home_visits: int     # home-visit contacts (reached or not) of these cases, summed


@dataclass(frozen=True)
class DelayCell:
    """The cases whose first effective contact came `working_days` after receipt."""
    ocmw: str
    commune: str
    month: str
    working_days: int
    cases: int


@dataclass(frozen=True)
class ReferralCell:
    """Referrals to one programme that are at one status."""
    ocmw: str
    commune: str
    month: str
    programme: str
    status: str
    referrals: int


# --------------------------------------------------------------------------- the table

Column = str | tuple[str, str, str]  # a count column; ("referrals", programme, status)
Cell = tuple[str, Column]            # (row key, column)

# The count columns of every row, in this order; referral columns follow.
COUNTS: tuple[str, ...] = (
    "cases", "pending", "with_contact", "without_contact", "solved_with_contact",
    "solved_without_contact", "home_visits", "funnel.contact_attempted",
    "funnel.effective_contact", "funnel.solved",
)

# The counts of the headline figure (CONTRACT.md); complementary suppression spares them.
HEADLINE = COUNTS[:7]

# The relations a reader can use against a suppressed count, all declared here.
# Within every row, the whole is the sum of its parts: a case is pending or closed with or
# without effective contact; the solved are solved with or without effective contact.
ROW_SUMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cases", ("pending", "with_contact", "without_contact")),
    ("funnel.solved", ("solved_with_contact", "solved_without_contact")),
)
# Within every row, sum(left) <= sum(right): not additive, but a reader can use them too, so
# the audit in `suppress` does. (The funnel's "cases" is the row's "cases", not a cell.)
ROW_BOUNDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("solved_with_contact",), ("with_contact",)),
    (("solved_without_contact",), ("without_contact",)),
    (("with_contact",), ("funnel.effective_contact",)),
    (("funnel.effective_contact",), ("with_contact", "pending")),
    (("funnel.effective_contact",), ("funnel.contact_attempted",)),
    (("funnel.contact_attempted",), ("cases",)),
)
# Across rows (when there are groups), every count column: total = sum of the groups.

# A linear form over cells: sum(coefficient * value) == 0 (equality) or <= 0.
Form = tuple[tuple[tuple[Cell, int], ...], bool]


@dataclass(frozen=True)
class Table:
    """The exact counts to publish: one row per group (sorted), then the total."""
    groups: tuple[str, ...]
    columns: tuple[Column, ...]
    values: Mapping[Cell, int]

    @property
    def rows(self) -> tuple[str, ...]:
        return (*self.groups, TOTAL)

    def sums(self) -> list[tuple[Cell, tuple[Cell, ...]]]:
        """Every additive relation (whole, parts) of the published table."""
        found = [((row, whole), tuple((row, part) for part in parts))
                 for row in self.rows for whole, parts in ROW_SUMS]
        if self.groups:
            found += [((TOTAL, column), tuple((group, column) for group in self.groups))
                      for column in self.columns]
        return found

    def forms(self) -> list[Form]:
        """The relations and bounds as linear forms, for the audit."""
        found: list[Form] = [(((whole, 1), *((part, -1) for part in parts)), True)
                             for whole, parts in self.sums()]
        found += [(tuple([((row, c), 1) for c in left] + [((row, c), -1) for c in right]),
                   False)
                  for row in self.rows for left, right in ROW_BOUNDS]
        return found


def suppress(table: Table, min_cell: int, *, search_limit: int = 4000,
             search_tries: int = 24, budget: int | None = None, relax: bool = True
             ) -> dict[Cell, str]:
    """The cells to hide, with their mark: ``"<k"`` for a count from 1 to k-1 (primary
    suppression) and ``"x"`` for a count hidden so that no small count can be worked out
    (complementary suppression; any count from 1 up). Zeros are shown, never hidden.

    DESIGN.md: "a suppressed cell must not be recoverable from totals". A reader knows the
    published counts, every relation and bound of `Table.forms`, that ``"<k"`` lies in 1..k-1
    and that ``"x"`` is at least 1. Steps, repeated to a fixed point:

    1. every additive relation (`Table.sums`) has no hidden cell or at least two: when one
       has exactly one, hide its smallest publishable count, a group's before the total's
       and a funnel or referral count before one of the headline figure's;
    2. an audit: for each small count, look for another table the reader would accept in
       which it differs. When there is none, the count could be worked out: hide the
       smallest publishable count of a relation or bound touching its hidden cells that
       sets it free; failing that, widen a ``"<k"`` there to ``"x"``; failing that, hide
       the smallest such count and look again.

    Finally an ``"x"`` the reader can work out anyway is shown: that tells nothing new.

    Two hidden cells per relation are not enough on their own: two cells of 1 summing to a
    published 2 are both exactly 1, and a hidden cell that is a bridge between two cycles of
    hidden cells is fixed by the equations. Hence the audit.

    Each audit question is answered by a short search, then the linear relaxation, then the
    full search (`_Audit.free`), and the tries of one step are first asked all at once. The
    audit's work is capped (`budget`, default SUPPRESSION_BUDGET steps): past it, every
    question counts as "can be worked out", which hides more, never less, in bounded time.
    `relax=False` is the exhaustive search alone, bench/suppression.py's baseline.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell {min_cell}: at least 1 (1 hides nothing)")
    values = table.values
    small = f"<{min_cell}"
    marks = {cell: small for cell, value in values.items() if 0 < value < min_cell}
    if not marks:
        return marks
    order = {cell: index for index, cell in enumerate(values)}

    def preference(cell: Cell) -> tuple[bool, bool, int, int]:
        return cell[0] == TOTAL, cell[1] in HEADLINE, values[cell], order[cell]

    def publishable(cells: Iterable[Cell]) -> list[Cell]:
        return sorted((c for c in cells if c not in marks and values[c] > 0), key=preference)

    sums = table.sums()
    audit = _Audit(table.forms(), values, min_cell, search_limit,
                   SUPPRESSION_BUDGET if budget is None else budget, relax)
    while True:
        lonely = next((relation for relation in ((whole, *parts) for whole, parts in sums)
                       if sum(cell in marks for cell in relation) == 1), None)
        if lonely is not None:
            marks[publishable(lonely)[0]] = OTHERS
            continue
        pinned = audit.pinned(marks)
        if pinned is None:
            return audit.without_known(marks)
        hide = publishable(audit.neighbourhood(pinned, marks))
        widen = sorted((c for c in audit.block(pinned, marks) if marks[c] == small),
                       key=preference, reverse=True)
        tries = hide[:search_tries] + widen[:search_tries]
        # Hiding more only widens what a reader accepts: when all the tries at once leave
        # the count pinned, none does alone, and one question replaces up to 2 x tries.
        # (A witness found with a trial mark holds only if that mark is kept: the first
        # try that frees the count is kept, and the joint question records no witness.)
        chosen = None
        if tries and (not relax or audit.free(pinned, {**marks, **dict.fromkeys(tries, OTHERS)},
                                              witness=False) is not False):
            chosen = next((c for c in tries
                           if audit.free(pinned, {**marks, c: OTHERS}) is True), None)
        if chosen is not None or hide:
            marks[chosen if chosen is not None else hide[0]] = OTHERS
        elif widen:
            marks.update(dict.fromkeys(widen, OTHERS))
        else:
            audit.accepted.add(pinned)  # nothing left to hide or widen


class _GiveUp(Exception):
    pass


#: search steps a side before the audit turns to the linear relaxation: enough for the
#: small blocks of most tables, where a solver call (1-3 ms) would cost more
QUICK_NODES = 40
#: in a block of more than QUICK_BLOCK hidden cells a step costs more (it propagates over
#: more constraints) and the short search mostly finds an easy witness or nothing, so it is
#: shorter (bench/suppression.py: the captured table 1.0 s with 5 steps, 2.5 s with 40)
QUICK_BLOCK = 12
QUICK_NODES_LARGE = 5
#: what one solver call counts against the audit's budget, in search steps (on the
#: captured table of bench/suppression.py a call takes 1-3 ms, a step 0.1-0.5 ms)
LP_STEPS = 10
#: the audit's work budget per table, in search steps (see _Audit)
SUPPRESSION_BUDGET = 60_000


class _Audit:
    """Can a reader work out a small count? An exact search over the hidden cells of its
    block (the hidden cells linked to it by relations and bounds): interval propagation and
    branching from the true values, at most `limit` steps per question; a search that runs
    out of steps counts as "can be worked out", so it hides more, never less.

    `budget` caps the work of the whole audit (search steps, and LP_STEPS per solver call):
    once it is spent, every question is answered "can be worked out" without looking, so a
    table of any shape is suppressed in bounded time, hiding more rather than less."""

    def __init__(self, forms: list[Form], values: Mapping[Cell, int], min_cell: int,
                 limit: int, budget: int = SUPPRESSION_BUDGET, relax: bool = True) -> None:
        self.forms = forms
        self.values = values
        self.k = min_cell
        self.limit = limit
        self.ceiling = sum(values.values()) + min_cell  # a bound on any count
        self.witnessed: set[Cell] = set()  # cells shown to have another possible value
        self.accepted: set[Cell] = set()
        self.nodes = 0
        self.node_limit = limit
        self.budget = self.left = budget  # steps for the whole audit, and what is left
        self.relax = relax  # False: the exhaustive search alone (bench/suppression.py)
        self.order = {cell: index for index, cell in enumerate(values)}
        self.touching: dict[Cell, list[Form]] = defaultdict(list)
        for form in forms:
            for cell, _ in form[0]:
                self.touching[cell].append(form)

    def block(self, cell: Cell, marks: Mapping[Cell, str]) -> set[Cell]:
        """The hidden cells linked to `cell` through relations and bounds with hidden cells."""
        found, todo = {cell}, [cell]
        while todo:
            for terms, _ in self.touching[todo.pop()]:
                for c, _ in terms:
                    if c in marks and c not in found:
                        found.add(c)
                        todo.append(c)
        return found

    def neighbourhood(self, cell: Cell, marks: Mapping[Cell, str]) -> set[Cell]:
        """Every cell of a relation or bound that holds a hidden cell of `cell`'s block."""
        return {c for hidden in self.block(cell, marks) for terms, _ in self.touching[hidden]
                for c, _ in terms}

    def pinned(self, marks: Mapping[Cell, str]) -> Cell | None:
        """A small count that has a single possible value (or may have), or None."""
        for cell, value in self.values.items():
            if (0 < value < self.k and cell not in self.witnessed
                    and cell not in self.accepted and self.free(cell, marks) is not True):
                return cell
        return None

    def without_known(self, marks: Mapping[Cell, str]) -> dict[Cell, str]:
        """The marks less the hidden counts of k or more that a reader can work out anyway:
        showing them adds nothing to what can be known, so no small count loses its cover."""
        known = {cell for cell in marks if self.values[cell] >= self.k
                 and cell not in self.witnessed and self.free(cell, marks) is False}
        return {cell: mark for cell, mark in marks.items() if cell not in known}

    def free(self, cell: Cell, marks: Mapping[Cell, str], *, witness: bool = True
             ) -> bool | None:
        """True when a reader has at least two values for `cell` (hidden in `marks`), False
        when it has one, None when the search gave up. With `witness`, the cells of the
        other table found are recorded as free.

        A short search first (QUICK_NODES steps a side, fewer in a large block), which
        settles the small blocks and finds the easy witnesses.
        Then the linear relaxation (`_linear_range`): the least and greatest value `cell`
        takes over the reader's constraints with fractions allowed. Every table the reader
        accepts lies inside it, so when both round to the true value the count is pinned;
        when an optimum is a whole-number table with another value for `cell`, that table
        is the witness. Only in between does the full search run, on the range left. (On
        these sums and bounds the relaxation is usually exact. The question that led to it,
        a monitoring page of 3,000 cases in bench/load.py, took 112 s of search: 1,691
        proofs that a count was pinned, each an exhaustive search.)"""
        if self.left <= 0:
            return None
        block = sorted(self.block(cell, marks), key=self.order.__getitem__)  # deterministic
        forms = {id(form): form for c in block for form in self.touching[c]}
        constraints = []
        for terms, equality in forms.values():
            hidden = [(c, a) for c, a in terms if c in block]
            constant = -sum(a * self.values[c] for c, a in terms if c not in block)
            constraints.append((hidden, constant, equality))
        domains = {c: (1, self.k - 1) if marks[c] != OTHERS else (1, self.ceiling)
                   for c in block}
        low, high = domains[cell]
        if not self.relax:
            return self._sides(cell, domains, constraints, low, high, self.limit, witness)
        quick = QUICK_NODES if len(block) <= QUICK_BLOCK else QUICK_NODES_LARGE
        answer = self._sides(cell, domains, constraints, low, high, quick, witness)
        if answer is not None:
            return answer
        self.left -= LP_STEPS
        relaxed = _linear_range(cell, block, constraints, domains)
        if relaxed is not None:
            least, most, optima = relaxed
            for found in optima:
                if found[cell] != self.values[cell]:
                    self._witness(found, witness)
                    return True
            low, high = max(low, least), min(high, most)
        return self._sides(cell, domains, constraints, low, high, self.limit, witness)

    def _sides(self, cell: Cell, domains: dict[Cell, tuple[int, int]], constraints: list,
               low: int, high: int, limit: int, witness: bool) -> bool | None:
        """Search for a table in which `cell` is below its true value, then above (within
        low..high), at most `limit` steps a side."""
        truth, answer = self.values[cell], False
        for side in ((low, truth - 1), (truth + 1, high)):
            if side[0] > side[1]:
                continue
            self.nodes, self.node_limit = 0, limit
            try:
                found = self._search({**domains, cell: side}, constraints)
            except _GiveUp:
                answer = None
                continue
            if found is not None:
                self._witness({c: value for c, (value, _) in found.items()}, witness)
                return True
        return answer

    def _witness(self, table: Mapping[Cell, int], record: bool) -> None:
        if record:
            self.witnessed |= {c for c, value in table.items() if value != self.values[c]}

    def _search(self, domains: dict[Cell, tuple[int, int]],
                constraints: list) -> dict[Cell, tuple[int, int]] | None:
        self.nodes += 1
        self.left -= 1
        if self.nodes > self.node_limit or self.left < 0:
            raise _GiveUp
        if not _propagate(domains, constraints):
            return None
        open_cells = [c for c, (lo, hi) in domains.items() if lo < hi]
        if not open_cells:
            return domains
        cell = min(open_cells, key=lambda c: domains[c][1] - domains[c][0])
        lo, hi = domains[cell]
        truth = self.values[cell]
        if lo <= truth <= hi:
            branches = [(truth, truth), (lo, truth - 1), (truth + 1, hi)]
        else:
            middle = (lo + hi) // 2
            branches = [(lo, middle), (middle + 1, hi)]
            if truth > hi:
                branches.reverse()
        for branch in branches:
            if branch[0] <= branch[1]:
                found = self._search({**domains, cell: branch}, constraints)
                if found is not None:
                    return found
        return None


def _linear_range(cell: Cell, block: list[Cell], constraints: list,
                  domains: Mapping[Cell, tuple[int, int]]
                  ) -> tuple[int, int, list[dict[Cell, int]]] | None:
    """The least and greatest whole value `cell` can take when the hidden cells of `block`
    may be fractions within `domains` under `constraints` (hidden terms · values ≤ or =
    constant), rounded inwards, with the optima that are whole-number tables; None when
    the solver does not answer (the caller then searches the whole range)."""
    import numpy as np
    from scipy.optimize import linprog

    index = {c: i for i, c in enumerate(block)}
    rows: dict[bool, tuple[list[list[float]], list[float]]] = {True: ([], []), False: ([], [])}
    for hidden, constant, equality in constraints:
        row = [0.0] * len(block)
        for c, a in hidden:
            row[index[c]] += a
        rows[equality][0].append(row)
        rows[equality][1].append(constant)
    arrays = {"A_eq": np.array(rows[True][0]) if rows[True][0] else None,
              "b_eq": rows[True][1] or None,
              "A_ub": np.array(rows[False][0]) if rows[False][0] else None,
              "b_ub": rows[False][1] or None}
    objective = np.zeros(len(block))
    objective[index[cell]] = 1.0
    bounds = [domains[c] for c in block]
    ends, whole = [], []
    for sign in (1.0, -1.0):
        result = linprog(sign * objective, bounds=bounds, method="highs", **arrays)
        if result.status != 0:
            return None
        ends.append(sign * result.fun)
        rounded = np.rint(result.x)
        if np.all(np.abs(result.x - rounded) < 1e-7):
            whole.append({c: int(rounded[i]) for c, i in index.items()})
    return math.ceil(ends[0] - 1e-7), math.floor(ends[1] + 1e-7), whole


def _propagate(domains: dict[Cell, tuple[int, int]], constraints: list) -> bool:
    """Narrow every interval by every constraint (coefficients +1/-1) until nothing changes;
    False when one becomes empty."""

    def span(terms: list) -> tuple[int, int]:
        low = sum(domains[c][0] if a > 0 else -domains[c][1] for c, a in terms)
        high = sum(domains[c][1] if a > 0 else -domains[c][0] for c, a in terms)
        return low, high

    changed = True
    while changed:
        changed = False
        for terms, constant, equality in constraints:
            low, high = span(terms)
            if low > constant or (equality and high < constant):
                return False
            for c, a in terms:
                lo, hi = domains[c]
                own_low, own_high = (lo, hi) if a > 0 else (-hi, -lo)
                most = constant - (low - own_low)                         # a*x <= most
                least = constant - (high - own_high) if equality else None  # a*x >= least
                if a > 0:
                    new = (lo if least is None else max(lo, least), min(hi, most))
                else:
                    new = (max(lo, -most), hi if least is None else min(hi, -least))
                if new != (lo, hi):
                    if new[0] > new[1]:
                        return False
                    domains[c] = new
                    changed = True
                    low, high = span(terms)
    return True


# --------------------------------------------------------------------------- statistics

DEFINITIONS = {
    "key": "The group: an OCMW's NIS code, a postcode, a quarter (2026-Q4) or a month "
           "(2026-11) in which the cases' first notice was received; 'total' for all.",
    "cases": "Cases whose first notice was received in the period.",
    "pending": "Cases without a final outcome yet.",
    "with_contact": "Cases with a final outcome that had an effective contact (someone reached "
                    "on a channel other than a letter).",
    "without_contact": "Cases with a final outcome that had no effective contact.",
    "solved_with_contact": "Cases with contact whose outcome is a solution (home kept by a "
                           "payment plan, debt cleared or agreement, or rehoused).",
    "solved_without_contact": "Cases without contact whose outcome is a solution.",
    "rate_with_contact": "solved_with_contact / with_contact.",
    "rate_without_contact": "solved_without_contact / without_contact.",
    "ci_with_contact": "95 % Wilson score interval of rate_with_contact [low, high].",
    "ci_without_contact": "95 % Wilson score interval of rate_without_contact [low, high].",
    "home_visits": "Home visits made to these cases, whether or not someone was reached.",
    "median_days_to_contact": "Median working days from receipt of the first notice to the "
                              "first effective contact.",
    "funnel.cases": "All cases of the group.",
    "funnel.contact_attempted": "Cases with any contact recorded (any channel, any result).",
    "funnel.effective_contact": "Cases with an effective contact, pending or closed.",
    "funnel.solved": "Cases whose outcome is a solution.",
    "referrals": "Referrals to a partner programme, by programme and current status.",
    "null": "A rate, interval or median withheld: it rests on a hidden count or on fewer than "
            "k cases, or there is nothing to divide.",
}


def definitions(min_cell: int) -> dict[str, str]:
    """Short English definitions of every field and mark of the `stats` document."""
    if min_cell <= 1:
        return dict(DEFINITIONS)
    return {**DEFINITIONS,
            f"<{min_cell}": f"A count from 1 to {min_cell - 1}, hidden (0 is always shown).",
            OTHERS: f"A count hidden so that no count below {min_cell} can be worked out from "
                    "the others and the totals; it may be any count from 1 up."}


def group_key(by: str, ocmw: str, commune: str, month: str) -> str:
    """The group a cell falls in: a NIS code, a postcode, "2026-Q4" or "2026-11"."""
    if by == "ocmw":
        return ocmw
    if by == "commune":
        return commune
    if by == "month":
        return month
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of successes/trials (trials > 0)."""
    p = successes / trials
    scale = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / scale
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / scale
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def median(histogram: Mapping[int, int]) -> float | int | None:
    """The median of the multiset {value: count}; for an even count, the mean of the two
    middle values. None when empty."""
    n = sum(histogram.values())
    if n == 0:
        return None
    wanted = ((n - 1) // 2, n // 2)
    middle, seen = [], 0
    for value in sorted(histogram):
        count = histogram[value]
        middle += [value for position in wanted if seen <= position < seen + count]
        seen += count
    result = (middle[0] + middle[1]) / 2
    return int(result) if result.is_integer() else result


def _check(cells: Sequence[CaseCell], delays: Sequence[DelayCell],
           referrals: Sequence[ReferralCell]) -> None:
    for index, cell in enumerate(cells):
        if cell.outcome is not None and cell.outcome not in OUTCOMES:
            raise ValueError(f"cells[{index}].outcome: {cell.outcome!r} is not an outcome code")
        if cell.cases < 0 or cell.home_visits < 0:
            raise ValueError(f"cells[{index}]: counts cannot be negative")
    for index, delay in enumerate(delays):
        if delay.cases < 0 or delay.working_days < 0:
            raise ValueError(f"delays[{index}]: counts and days cannot be negative")
    for index, referral in enumerate(referrals):
        if referral.referrals < 0:
            raise ValueError(f"referrals[{index}]: counts cannot be negative")


def _in_period(month: str, period_from: str | None, period_to: str | None) -> bool:
    return ((period_from is None or month >= period_from[:7])
            and (period_to is None or month <= period_to[:7]))


def count_table(cells: Iterable[CaseCell], referrals: Iterable[ReferralCell] = (), *,
                key: Callable[[str, str, str], str] | None) -> Table:
    """The exact counts per group (key(ocmw, commune, month)) and in total."""
    values: dict[Cell, int] = defaultdict(int)
    groups: set[str] = set()
    referral_columns: set[Column] = set()

    def add(row: str, column: Column, n: int) -> None:
        values[(row, column)] += n
        if row != TOTAL:
            values[(TOTAL, column)] += n

    for cell in cells:
        row = key(cell.ocmw, cell.commune, cell.month) if key else TOTAL
        groups.add(row)
        n = cell.cases
        solved = cell.outcome in SOLUTIONS
        add(row, "cases", n)
        add(row, "home_visits", cell.home_visits)
        if cell.outcome is None:
            add(row, "pending", n)
        elif cell.effective:
            add(row, "with_contact", n)
            add(row, "solved_with_contact", n if solved else 0)
        else:
            add(row, "without_contact", n)
            add(row, "solved_without_contact", n if solved else 0)
        add(row, "funnel.contact_attempted", n if cell.attempted or cell.effective else 0)
        add(row, "funnel.effective_contact", n if cell.effective else 0)
        add(row, "funnel.solved", n if solved else 0)
    for referral in referrals:
        row = key(referral.ocmw, referral.commune, referral.month) if key else TOTAL
        groups.add(row)
        column = ("referrals", referral.programme, referral.status)
        referral_columns.add(column)
        add(row, column, referral.referrals)
    groups.discard(TOTAL)
    status_order = {status: index for index, status in enumerate(REFERRAL_STATUSES)}
    columns = COUNTS + tuple(sorted(referral_columns, key=lambda c: (
        c[1], status_order.get(c[2], len(status_order)), c[2])))
    ordered = tuple(sorted(groups))
    full = {(row, column): values.get((row, column), 0)
            for row in (*ordered, TOTAL) for column in columns}
    return Table(ordered, columns, full)


def statistics(cells: Iterable[CaseCell], delays: Iterable[DelayCell] = (),
               referrals: Iterable[ReferralCell] = (), *, by: str | None, min_cell: int = 5,
               period_from: str | None = None, period_to: str | None = None) -> dict[str, Any]:
    """CONTRACT.md's `stats` document, suppressed for publication (see `suppress`).

    `period_from`/`period_to` ("2026-01-01" or "2026-01") are echoed as "from"/"to" and keep
    the cells of the months they touch; the store has already selected the exact days.
    """
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by {by!r}: one of {', '.join(GROUPINGS)} or None")
    if min_cell < 1:
        raise ValueError(f"min_cell {min_cell}: at least 1 (1 hides nothing)")
    cells, delays, referrals = list(cells), list(delays), list(referrals)
    _check(cells, delays, referrals)

    def keep(item: Any) -> bool:
        return _in_period(item.month, period_from, period_to)

    cells = [c for c in cells if keep(c)]
    delays = [d for d in delays if keep(d)]
    referrals = [r for r in referrals if keep(r)]
    key = (lambda ocmw, commune, month: group_key(by, ocmw, commune, month)) if by else None
    table = count_table(cells, referrals, key=key)
    histograms: dict[str, Counter[int]] = defaultdict(Counter)
    for delay in delays:
        row = key(delay.ocmw, delay.commune, delay.month) if key else TOTAL
        histograms[row][delay.working_days] += delay.cases
        if row != TOTAL:
            histograms[TOTAL][delay.working_days] += delay.cases
    marks = suppress(table, min_cell)
    rows = [_row(table, row, marks, histograms[row], min_cell) for row in table.rows]
    return {"from": period_from, "to": period_to, "min_cell": min_cell, "by": by,
            "groups": rows[:-1], "total": rows[-1],
            "definitions": definitions(min_cell)}


def _row(table: Table, row: str, marks: Mapping[Cell, str], histogram: Mapping[int, int],
         min_cell: int) -> dict[str, Any]:
    def show(column: Column) -> int | str:
        return marks.get((row, column), table.values[(row, column)])

    def rate(solved: str, closed: str) -> tuple[float | None, list[float] | None]:
        s, n = show(solved), show(closed)
        if isinstance(s, str) or isinstance(n, str) or n < min_cell or n == 0:
            return None, None
        return round(s / n, 4), list(wilson(s, n))

    rate_with, ci_with = rate("solved_with_contact", "with_contact")
    rate_without, ci_without = rate("solved_without_contact", "without_contact")
    timed = sum(histogram.values())
    effective = show("funnel.effective_contact")
    days = median(histogram) if timed >= min_cell and not isinstance(effective, str) else None
    return {
        "key": row,
        **{column: show(column) for column in COUNTS[:6]},
        "rate_with_contact": rate_with,
        "rate_without_contact": rate_without,
        "ci_with_contact": ci_with,
        "ci_without_contact": ci_without,
        "home_visits": show("home_visits"),
        "median_days_to_contact": days,
        "funnel": {"cases": show("cases"),
                   "contact_attempted": show("funnel.contact_attempted"),
                   "effective_contact": effective,
                   "solved": show("funnel.solved")},
        "referrals": [{"programme": column[1], "status": column[2], "referrals": show(column)}
                      for column in table.columns if isinstance(column, tuple)],
    }


# --------------------------------------------------------------------------- regional report

_FIELDS = {kind: tuple(f.name for f in fields(kind)) for kind in (CaseCell, DelayCell,
                                                                   ReferralCell)}
_SECTIONS = (("cells", CaseCell), ("delays", DelayCell), ("referrals", ReferralCell))
_TOP = ("format", "ocmw", "month", "generated_at", "cells", "delays", "referrals")


def _summed(items: Iterable[Any], kind: type) -> list[Any]:
    """Identical cells merged by adding their counts (the last field; for a CaseCell the
    cases and the home visits), in a stable order."""
    width = 2 if kind is CaseCell else 1
    totals: dict[tuple, list[int]] = {}
    for item in items:
        values = astuple(item)
        kept = totals.setdefault(values[:-width], [0] * width)
        for index, count in enumerate(values[-width:]):
            kept[index] += count
    ordered = sorted(totals.items(),
                     key=lambda pair: tuple("" if v is None else v for v in pair[0]))
    return [kind(*identity, *counts) for identity, counts in ordered]


def report_document(cells: Iterable[CaseCell], delays: Iterable[DelayCell],
                    referrals: Iterable[ReferralCell], *, ocmw: str, month: str,
                    generated_at: str) -> dict[str, Any]:
    """One OCMW's report for the cases first received in `month`: its exact cells (cells of
    other OCMWs or months are left out), for the region to merge and suppress."""
    def own(items: Iterable[Any]) -> list[Any]:
        return [item for item in items if item.ocmw == ocmw and item.month == month]

    return {"format": REPORT_FORMAT, "ocmw": ocmw, "month": month,
            "generated_at": generated_at,
            "cells": [asdict(c) for c in _summed(own(cells), CaseCell)],
            "delays": [asdict(d) for d in _summed(own(delays), DelayCell)],
            "referrals": [asdict(r) for r in _summed(own(referrals), ReferralCell)]}


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: {value!r} is not a count (a whole number, 0 or more)")
    return value


def _text(value: Any, pattern: re.Pattern[str], where: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{where}: {value!r} is not {what}")
    return value


def _item(kind: type, raw: Any, where: str, ocmw: str, month: str) -> Any:
    names = _FIELDS[kind]
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: not an object")
    for name in raw:
        if name not in names:
            raise ValueError(f"{where}.{name}: unknown field (a report carries counts only)")
    for name in names:
        if name not in raw:
            raise ValueError(f"{where}.{name}: missing")
    if raw["ocmw"] != ocmw:
        raise ValueError(f"{where}.ocmw: {raw['ocmw']!r} is not the report's OCMW {ocmw}")
    if raw["month"] != month:
        raise ValueError(f"{where}.month: {raw['month']!r} is not the report's month {month}")
    _text(raw["commune"], _POSTCODE, f"{where}.commune", "a postcode")
    if kind is CaseCell:
        outcome = raw["outcome"]
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"{where}.outcome: {outcome!r} is not an outcome code")
        for name in ("effective", "attempted"):
            if not isinstance(raw[name], bool):
                raise ValueError(f"{where}.{name}: {raw[name]!r} is not true or false")
    if kind is ReferralCell:
        _text(raw["programme"], PROGRAMME_ID, f"{where}.programme", "a programme id")
        if raw["status"] not in REFERRAL_STATUSES:
            raise ValueError(f"{where}.status: {raw['status']!r} is not one of "
                             f"{', '.join(REFERRAL_STATUSES)}")
    for name in ("cases", "home_visits", "working_days", "referrals"):
        if name in names:
            _count(raw[name], f"{where}.{name}")
    return kind(**{name: raw[name] for name in names})


def read_report(document: Any) -> tuple[list[CaseCell], list[DelayCell], list[ReferralCell]]:
    """The cells of a report written by `report_document`; ValueError naming the field (and
    the index) of anything else. Unknown fields are refused: a report carries counts only."""
    if not isinstance(document, dict):
        raise ValueError("not a report: expected a JSON object")
    if document.get("format") != REPORT_FORMAT:
        raise ValueError(f"format: {document.get('format')!r} is not {REPORT_FORMAT!r}")
    for name in document:
        if name not in _TOP:
            raise ValueError(f"{name}: unknown field (a report carries counts only)")
    for name in _TOP:
        if name not in document:
            raise ValueError(f"{name}: missing")
    ocmw = _text(document["ocmw"], _NIS, "ocmw", "a NIS code (5 digits)")
    month = _text(document["month"], _MONTH, "month", "a month (YYYY-MM)")
    generated = document["generated_at"]
    try:
        datetime.fromisoformat(generated)
    except (TypeError, ValueError):
        raise ValueError(f"generated_at: {generated!r} is not an ISO 8601 time") from None
    found = []
    for section, kind in _SECTIONS:
        items = document[section]
        if not isinstance(items, list):
            raise ValueError(f"{section}: not a list")
        found.append([_item(kind, raw, f"{section}[{index}]", ocmw, month)
                      for index, raw in enumerate(items)])
    return found[0], found[1], found[2]


def merge_reports(documents: Iterable[Any]
                  ) -> tuple[list[CaseCell], list[DelayCell], list[ReferralCell]]:
    """The cells of several OCMWs' reports, identical cells added up. Two reports of the
    same OCMW and month are refused (one would count its cases twice)."""
    seen: dict[tuple[str, str], int] = {}
    cells: list[CaseCell] = []
    delays: list[DelayCell] = []
    referrals: list[ReferralCell] = []
    for index, document in enumerate(documents):
        try:
            read = read_report(document)
        except ValueError as error:
            raise ValueError(f"report {index + 1}: {error}") from None
        origin = (document["ocmw"], document["month"])
        if origin in seen:
            raise ValueError(f"report {index + 1}: OCMW {origin[0]} {origin[1]} is already "
                             f"in report {seen[origin] + 1}; keep one of them")
        seen[origin] = index
        cells += read[0]
        delays += read[1]
        referrals += read[2]
    return (_summed(cells, CaseCell), _summed(delays, DelayCell),
            _summed(referrals, ReferralCell))
