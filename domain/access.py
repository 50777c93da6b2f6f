"""Who is asking: every read of a case checks it (DESIGN.md, users; CONTRACT.md, HTTP API).

Staff see the cases of their own OCMW; a monitor sees statistics only, never a case; the
local operator (whoever runs `domus` on the machine holding the database) sees every case.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("caseworker", "team_lead", "administrator", "monitor", "operator")


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    ocmw: str | None = None

    @classmethod
    def operator(cls) -> Actor:
        return cls("local operator", "operator")

    def may_read_case(self, case_ocmw: str | None) -> bool:
        """Operators read every case; staff read their OCMW's cases; administrators also
        the triage queue (cases without an OCMW); monitors no case at all."""
        if self.role == "operator":
            return True
        if self.role == "monitor":
            return False
        if case_ocmw is None:
            return self.role == "administrator"
        return case_ocmw == self.ocmw

    def visible_ocmws(self) -> tuple[str, ...] | None:
        """OCMWs whose case lists this actor may see; None means all of them."""
        if self.role == "operator":
            return None
        return () if self.role == "monitor" or self.ocmw is None else (self.ocmw,)
