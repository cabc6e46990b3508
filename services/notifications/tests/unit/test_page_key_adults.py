"""The schools' page's accounts are the directory's key adults: a key adult
removed from their school loses their page sessions at once, and a session
never revives when the same staff id is added back (a new account); their
scope is their school, their role the page's one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.database import build_engine
from frontdoor_platform.staff import StaffConfig, sessions
from frontdoor_platform.staff.sessions import Stage
from notifications import directory
from notifications.migrations import migrate
from notifications.models import KeyAdultRow, PageSessionRow
from notifications.page.pages import PAGES

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
CONFIG = StaffConfig(session_hours=8, session_idle_minutes=30)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'key_adults.db'}")
    migrate(built)
    with Session(built) as db:
        directory.put_key_adults(db, "100001", [("dsl-1", None)], NOW)
        db.commit()
    yield built
    built.dispose()


def adult(db: Session) -> KeyAdultRow:
    row = db.get(KeyAdultRow, "dsl-1")
    assert row is not None
    return row


def live(engine: Engine, token: str) -> sessions.Staff | None:
    with Session(engine) as db:
        return sessions.current(db, PAGES.tables, token, NOW, CONFIG)


def test_a_signed_in_key_adult_is_scoped_to_their_school() -> None:
    row = KeyAdultRow.for_staff("dsl-2", frozenset({"key_adult"}), "100002", NOW)
    assert (row.staff_scope(), row.staff_roles()) == ("100002", frozenset({"key_adult"}))
    with pytest.raises(ValueError, match="URN"):
        KeyAdultRow.for_staff("dsl-3", frozenset({"key_adult"}), None, NOW)


def test_a_removed_key_adults_session_never_revives_when_the_staff_id_is_added_back(engine: Engine) -> None:
    with Session(engine) as db:
        token, signed = sessions.start(db, PAGES.tables, adult(db), Stage.SIGNED_IN, NOW, CONFIG)
        db.commit()
    assert signed.scope == "100001" and live(engine, token) is not None
    with Session(engine) as db:
        first_account = adult(db).account_id
        directory.put_key_adults(db, "100001", [], NOW)  # removed
        db.commit()
        assert db.exec(select(PageSessionRow)).all() == []
    assert live(engine, token) is None
    with Session(engine) as db:
        directory.put_key_adults(db, "100001", [("dsl-1", None)], NOW)  # the same staff id, added back
        db.commit()
        assert adult(db).account_id != first_account and adult(db).password_hash is None
        # even a session row that outlived the removal (restored from a backup, say) names the old account
        db.add(PageSessionRow(token_hash=sessions.token_hash(token), staff_id="dsl-1", account_id=first_account,
                              stage="signed_in", csrf_token="x", created_at=NOW, last_seen_at=NOW,
                              expires_at=NOW + timedelta(hours=8)))
        db.commit()
    assert live(engine, token) is None
