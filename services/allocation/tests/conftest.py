"""What the in-process tests of the board, the caseloads and the pages share: the settings (a SQLite file of
the test's own, no broker: events wait in the outbox), API keys of each role, cases opened through the
handlers, and the clock (a Monday; the meeting is Tuesday 10:00)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from allocation import handlers
from allocation.access import keyring
from allocation.app import rules_from
from allocation.domain.triggers import Trigger
from allocation.migrations import migrate
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource, Concern, LevelOfNeed
from frontdoor_platform.database import build_engine, for_writing

MONDAY = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
Opener = Callable[..., uuid.UUID]


@pytest.fixture
def board_settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'allocation.db'}", kafka_bootstrap="127.0.0.1:1",
                    run_consumer=False, sla_check_seconds=3600, publish_timeout_seconds=1)


@pytest.fixture
def board_keys(board_settings: Settings) -> dict[str, str]:
    engine = build_engine(board_settings.database_url)
    migrate(engine)
    with Session(engine) as session:
        made = {role: keyring().create(session, f"test-{role}", {role}, MONDAY)
                for role in ("coordinator", "read", "admin")}
        made["agency"] = keyring().create(session, "test-agency", {"agency"}, MONDAY, scope="school-100001")
        made["other-agency"] = keyring().create(session, "test-other", {"agency"}, MONDAY, scope="vs-42")
    engine.dispose()
    return made


@pytest.fixture
def open_case(board_settings: Settings) -> Opener:
    """Open a case as a trigger would (default: an Early Help decision, level 3, neglect, from a school)."""

    def opened(started: datetime, *, source: CaseSource = CaseSource.EARLY_HELP_DECISION,
               referrer: str | None = "school", children: int = 1) -> uuid.UUID:
        engine = build_engine(board_settings.database_url)
        trigger = Trigger(source=source, event_source="urn:test", event_id=str(uuid.uuid4()),
                          family_id=uuid.uuid4(), occurred_at=started,
                          child_ids=tuple(uuid.uuid4() for _ in range(children)),
                          level_of_need=LevelOfNeed.TARGETED, concerns=(Concern.NEGLECT,), referrer_source=referrer)
        with Session(for_writing(engine)) as session:
            _, case = handlers.on_trigger(session, trigger, rules_from(board_settings), started)
            session.commit()
        engine.dispose()
        return case.case_id

    return opened


@pytest.fixture
def bearer(board_keys: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """The Authorization header of the key of a role (coordinator, read, admin, agency, other-agency)."""
    return lambda role: {"Authorization": f"Bearer {board_keys[role]}"}
