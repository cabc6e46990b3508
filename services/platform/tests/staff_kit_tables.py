"""A tiny service's staff tables and pages for the kit's staff tests (unique module name)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel

from frontdoor_platform import problems
from frontdoor_platform.database import build_engine
from frontdoor_platform.problems import ProblemError
from frontdoor_platform.staff import Staff, StaffAccountFields, StaffLinkFields, StaffPages, StaffSessionFields
from frontdoor_platform.staff import accounts as staff_accounts

START = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


class StaffKitTable(SQLModel, registry=registry()):
    pass


class KitStaffAccount(StaffAccountFields, StaffKitTable, table=True):
    __tablename__ = "staff_accounts"


class KitStaffSession(StaffSessionFields, StaffKitTable, table=True):
    __tablename__ = "staff_sessions"


class KitStaffLink(StaffLinkFields, StaffKitTable, table=True):
    __tablename__ = "staff_password_links"


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    AGENCY = "agency"


PAGES = StaffPages(prefix="/board", title="Early Help allocations", accounts=KitStaffAccount,
                   sessions=KitStaffSession, links=KitStaffLink, roles=Role,
                   templates=str(Path(__file__).parent / "staff_templates"))


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: str


class ReversingSealer:
    """A stand-in for a service's sealer: "seals" by reversing, bound to the context (never use outside tests)."""

    def seal(self, plaintext: str, context: str) -> Sealed:
        return Sealed("test", f"{context}|{plaintext}"[::-1])

    def open(self, key_id: str | None, ciphertext: str, context: str) -> str:
        opened_context, _, plaintext = ciphertext[::-1].partition("|")
        assert key_id == "test" and opened_context == context
        return plaintext


TWO_STEP = StaffPages(prefix="/chronology", title="Family chronology", accounts=KitStaffAccount,
                      sessions=KitStaffSession, links=KitStaffLink, roles=Role, sealing=lambda _: ReversingSealer(),
                      templates=str(Path(__file__).parent / "staff_templates"),
                      second_factor_required=lambda db, account: "coordinator" in account.staff_roles())


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def staff_app(engine: Engine, clock: Callable[[], datetime], **settings: Any) -> FastAPI:
    """An app with the pages installed and two routes of its own: a page (with whatever a case is called,
    shown escaped) and a form."""
    app = FastAPI()
    problems.install(app)  # the service's problem+json answers, which the pages turn into HTML under /board
    app.state.auth = SimpleNamespace(engine=engine, clock=clock)

    @app.get("/board/busy")
    async def busy(staff: Annotated[Staff, Depends(PAGES.signed_in)]) -> Response:
        raise ProblemError(503, "the database is not answering", headers={"Retry-After": "1"})

    @app.get("/board/broken")
    async def broken(staff: Annotated[Staff, Depends(PAGES.signed_in)]) -> Response:
        raise RuntimeError("a fault of ours")

    @app.get("/board/coordination")
    async def coordination(request: Request,
                           staff: Annotated[Staff, Depends(PAGES.with_roles(Role.COORDINATOR))]) -> Response:
        return PAGES.render(request, "board_test.html", staff=staff, title="Coordination", label="all agencies",
                            moment=clock())

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @app.get("/board/")
    async def board(request: Request, staff: Annotated[Staff, Depends(PAGES.signed_in)]) -> Response:
        label = request.query_params.get("label", "none")
        return PAGES.render(request, "board_test.html", staff=staff, title="Board", label=label, moment=clock(),
                            refresh_seconds=60)

    @app.post("/board/cases/{case_id}/allocate")
    async def allocate(case_id: str, staff: Annotated[Staff, Depends(PAGES.signed_in_with_csrf)]) -> Response:
        return PAGES.redirect(f"/board/?done=allocated-{case_id}-{staff.scope}")

    @app.get("/chronology/")
    async def chronology(request: Request, staff: Annotated[Staff, Depends(TWO_STEP.signed_in)]) -> Response:
        return TWO_STEP.render(request, "board_test.html", staff=staff, title="Chronology", label="one family",
                               moment=clock())

    PAGES.install(app, SimpleNamespace(**settings))
    TWO_STEP.install(app, SimpleNamespace(**settings))
    return app


def staff_engine(tmp_path: Path) -> Engine:
    built = build_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    StaffKitTable.metadata.create_all(built)
    return built


def add_account(engine: Engine, staff_id: str, roles: frozenset[str], scope: str | None,
                password: str | None = PASSWORD) -> None:
    with Session(engine) as db:
        db.add(KitStaffAccount.for_staff(staff_id, roles, scope, START))
        db.flush()
        if password is not None:
            staff_accounts.set_password(db, PAGES.tables, staff_id, password, START)
        db.commit()
