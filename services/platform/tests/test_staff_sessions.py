"""Staff sessions on the server (the kit's): only the token's SHA-256 kept;
refused after the absolute timeout, after the idle timeout (counted from
the last request written), once its account is removed, and still once the
same staff id is added back; a sign-in half done lasts minutes and a few
wrong codes, and its upgrade is a new token."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from staff_kit_tables import PAGES, KitStaffAccount, KitStaffSession, staff_engine

from frontdoor_platform.staff import StaffConfig, links, sessions
from frontdoor_platform.staff.sessions import Staff, Stage

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
SETTINGS = StaffConfig(session_hours=8, session_idle_minutes=30)
TABLES = PAGES.tables


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = staff_engine(tmp_path)
    with Session(built) as db:
        db.add(KitStaffAccount.for_staff("dsl-1", frozenset({"agency"}), "agency-a", NOW))
        db.commit()
    yield built
    built.dispose()


def adult(db: Session, staff_id: str = "dsl-1") -> KitStaffAccount:
    row = db.get(KitStaffAccount, staff_id)
    assert row is not None
    return row


def removed(db: Session, staff_id: str) -> None:
    """An account removed as a service removes one: the row, its sessions and its links."""
    db.delete(adult(db, staff_id))
    sessions.end_all(db, TABLES, staff_id)
    links.forget(db, TABLES, staff_id)


def started(engine: Engine, stage: Stage = Stage.SIGNED_IN, at: datetime = NOW) -> str:
    with Session(engine) as db:
        token, _ = sessions.start(db, TABLES, adult(db), stage, at, SETTINGS)
        db.commit()
        return token


def live(engine: Engine, token: str, at: datetime) -> Staff | None:
    with Session(engine) as db:
        found = sessions.current(db, TABLES, token, at, SETTINGS)
        if found is not None and found.touch:
            sessions.touch(db, TABLES, found.token_hash, at)
            db.commit()
        return found


def test_only_the_tokens_hash_is_kept_and_sign_out_deletes_it(engine: Engine) -> None:
    token = started(engine)
    with Session(engine) as db:
        stored = db.exec(select(KitStaffSession)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert (stored.expires_at, stored.last_seen_at, stored.stage) == (NOW + timedelta(hours=8), NOW, "signed_in")
        assert len(token) >= 40 and len(stored.csrf_token) >= 40
        assert sessions.current(db, TABLES, stored.token_hash, NOW, SETTINGS) is None  # the hash is not a token
        assert sessions.current(db, TABLES, None, NOW, SETTINGS) is None
        sessions.end(db, TABLES, token)
        db.commit()
        assert db.exec(select(KitStaffSession)).all() == []
    assert live(engine, token, NOW) is None


def test_the_absolute_timeout_holds_however_busy_the_session(engine: Engine) -> None:
    token = started(engine)
    at = NOW
    while at < NOW + timedelta(hours=8) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert live(engine, token, at) is not None, at  # used every 20 minutes: never idle
    assert live(engine, token, NOW + timedelta(hours=8) - timedelta(seconds=1)) is not None
    assert live(engine, token, NOW + timedelta(hours=8)) is None


def test_the_idle_timeout_counts_from_the_last_request(engine: Engine) -> None:
    token = started(engine)
    assert live(engine, token, NOW + timedelta(minutes=29)) is not None  # written: the idle clock starts again
    assert live(engine, token, NOW + timedelta(minutes=58)) is not None
    assert live(engine, token, NOW + timedelta(minutes=88)) is None  # 30 minutes after the last request
    with Session(engine) as db:
        assert adult(db).staff_id == "dsl-1"  # the account is untouched: only the session ended


def test_a_request_writes_the_last_seen_time_at_most_every_minute(engine: Engine) -> None:
    token = started(engine)
    assert live(engine, token, NOW + timedelta(seconds=30)) is not None
    with Session(engine) as db:
        assert db.exec(select(KitStaffSession)).one().last_seen_at == NOW  # too soon to write
    assert live(engine, token, NOW + timedelta(seconds=61)) is not None
    with Session(engine) as db:
        assert db.exec(select(KitStaffSession)).one().last_seen_at == NOW + timedelta(seconds=61)


def test_a_removed_accounts_session_never_revives_when_the_staff_id_is_added_back(engine: Engine) -> None:
    token = started(engine)
    with Session(engine) as db:
        first_account = adult(db).account_id
        removed(db, "dsl-1")
        db.commit()
        assert db.exec(select(KitStaffSession)).all() == []
    assert live(engine, token, NOW) is None
    with Session(engine) as db:
        db.add(KitStaffAccount.for_staff("dsl-1", frozenset({"agency"}), "agency-a", NOW))  # added back
        db.commit()
        assert adult(db).account_id != first_account and adult(db).password_hash is None
        # even a session row that outlived the removal (restored from a backup, say) names the old account
        db.add(KitStaffSession(token_hash=sessions.token_hash(token), staff_id="dsl-1", account_id=first_account,
                              stage="signed_in", csrf_token="x", created_at=NOW, last_seen_at=NOW,
                              expires_at=NOW + timedelta(hours=8)))
        db.commit()
    assert live(engine, token, NOW) is None


def test_a_sign_in_half_done_lasts_minutes_and_a_few_wrong_codes_and_its_upgrade_is_a_new_token(
        engine: Engine) -> None:
    token = started(engine, Stage.CODE)
    signed = live(engine, token, NOW)
    assert signed is not None and signed.stage is Stage.CODE
    assert live(engine, token, NOW + sessions.PENDING) is None  # ten minutes, not eight hours
    with Session(engine) as db:
        for _ in range(sessions.CODE_TRIES - 1):
            assert sessions.wrong_code(db, TABLES, signed.token_hash)
        assert not sessions.wrong_code(db, TABLES, signed.token_hash)  # the fifth: the password again
        db.commit()
    assert live(engine, token, NOW) is None
    token = started(engine, Stage.ENROL)
    signed = live(engine, token, NOW)
    assert signed is not None
    with Session(engine) as db:
        upgraded = sessions.upgrade(db, TABLES, signed, NOW + timedelta(minutes=1), SETTINGS)
        db.commit()
        assert upgraded is not None and upgraded[0] != token and upgraded[1].stage is Stage.SIGNED_IN
        assert sessions.upgrade(db, TABLES, signed, NOW, SETTINGS) is None  # once only
    assert live(engine, token, NOW + timedelta(minutes=1)) is None
    now_signed = live(engine, upgraded[0], NOW + timedelta(minutes=1))
    assert now_signed is not None and now_signed.stage is Stage.SIGNED_IN
