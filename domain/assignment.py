"""Who gets a new task (issue 3, "Users and assignment"). An OCMW chooses the rule in its
playbook file (`[assignment] rule = "…"`):

* ``case_caseworker`` (default): the caseworker already on the case, else the caseworker
  with the fewest open tasks;
* ``fewest_open``: always the caseworker with the fewest open tasks;
* ``team_queue``: nobody; the team lead distributes the tasks.

With no caseworker in the OCMW, tasks wait in the OCMW's team queue (no assignee).
"""

from __future__ import annotations

from collections.abc import Mapping

ASSIGNMENT_RULES = ("case_caseworker", "fewest_open", "team_queue")
DEFAULT_ASSIGNMENT_RULE = "case_caseworker"


def choose_assignee(
    rule: str, *, case_caseworker: str | None, open_tasks: Mapping[str, int]
) -> str | None:
    """The caseworker for a case's new tasks under `rule`. `open_tasks` maps each active
    caseworker of the case's OCMW to their open task count; ties go to the first e-mail in
    alphabetical order, so the choice is repeatable."""
    if rule not in ASSIGNMENT_RULES:
        raise ValueError(f"unknown assignment rule {rule!r}; one of {ASSIGNMENT_RULES}")
    if rule == "team_queue" or not open_tasks:
        return None
    if rule == "case_caseworker" and case_caseworker in open_tasks:
        return case_caseworker
    return min(sorted(open_tasks), key=lambda email: open_tasks[email])
