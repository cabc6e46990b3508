"""The demo's staff sign-ins for the pages staff work from (development
only: each password is set with the services' `accounts add --password`,
which production refuses): the allocations board's coordinator and one
agency worker whose caseload the demo's case worker fills, and the Early
Help manager who reads a family's chronology. A new password each start
(kept with the dev keys in .run/credentials, 0600)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from .demo import DEMO_AGENCIES
from .services import ServiceProcess

DEMO_WORKER_AGENCY = DEMO_AGENCIES[0][0]  # the case worker and the year allocate to every demo agency, this one too


@dataclass(frozen=True)
class StaffLogin:
    service: str
    page: str  # the page's path on the service
    staff_id: str
    role: str
    scope: str | None
    what: str
    password: str = field(repr=False)

    def line(self) -> str:
        """Its line in .run/credentials."""
        scope = f" scope={self.scope}" if self.scope else ""
        return f"staff: service={self.service} staff_id={self.staff_id} role={self.role}{scope} " \
               f"password={self.password}\n"


def wanted() -> list[StaffLogin]:
    def password() -> str:
        return secrets.token_urlsafe(12)

    return [
        StaffLogin("allocation", "/board/", "demo-coordinator", "coordinator", None,
                   "the allocations board (the Early Help coordinator: allocates)", password()),
        StaffLogin("allocation", "/board/", f"{DEMO_WORKER_AGENCY}.lp-1", "agency", DEMO_WORKER_AGENCY,
                   f"a lead professional of {DEMO_WORKER_AGENCY} (their caseload; offers, answers, closures)",
                   password()),
        StaffLogin("outcomes", "/chronology/", "demo-manager", "manager", None,
                   "a family's chronology (the Early Help manager: every family)", password()),
    ]


def create(processes: Sequence[ServiceProcess]) -> list[StaffLogin]:
    """Each wanted account on its running service, with a new password (the services that run only)."""
    by_name = {process.spec.name: process for process in processes}
    made = []
    for login in wanted():
        process = by_name.get(login.service)
        if process is None:
            continue
        process.run_command("accounts", "add", "--staff-id", login.staff_id, "--role", login.role,
                            *(["--scope", login.scope] if login.scope else []),
                            f"--password={login.password}")  # one argument: a password may begin with "-"
        made.append(login)
    return made


def summary_lines(logins: Sequence[StaffLogin], base_urls: dict[str, str]) -> list[str]:
    lines = []
    for login in logins:
        lines += [f"  Staff page         {base_urls[login.service]}{login.page}  {login.what}",
                  f"    sign in as       staff id {login.staff_id}, password {login.password}  (dev only)"]
    return ["", *lines] if lines else []
