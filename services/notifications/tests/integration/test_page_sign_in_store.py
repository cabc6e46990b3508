"""A sign-in's database work (the kit's, on the key adults' tables and this
service's migrations), on SQLite and PostgreSQL: wrong passwords
counted by one atomic UPDATE however many arrive at once (no lost update),
no connection (so no transaction) held while argon2 runs, and a password
changed during a verification refusing that attempt."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_platform.database import for_writing
from frontdoor_platform.staff import StaffConfig, accounts, sessions, signin
from notifications.models import KeyAdultRow, PageSessionRow
from notifications.page.pages import PAGES, school_requires_second_factor

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
AT_ONCE = 12
TABLES = PAGES.tables


def book(**settings: float) -> signin.Book:
    return signin.Book(TABLES, StaffConfig(**settings), school_requires_second_factor)


class WatchingHasher(PasswordHasher):
    """argon2 as usual, noting the engine's checked-out connections and running `meanwhile` during a verification."""

    def __init__(self, engine: Engine, meanwhile: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.engine, self.meanwhile = engine, meanwhile
        self.in_use: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.in_use.append(self.engine.pool.checkedout())  # type: ignore[attr-defined]
        self.meanwhile()
        return super().verify(hash, password)


def key_adult(engine: Engine, staff_id: str = "dsl-1") -> KeyAdultRow:
    with Session(engine) as db:
        row = db.get(KeyAdultRow, staff_id)
        assert row is not None
        return row


def with_account(engine: Engine) -> None:
    with Session(engine) as db:
        db.add(KeyAdultRow(staff_id="dsl-1", school_urn="100001", updated_at=NOW))
        db.commit()
        assert accounts.set_password(db, TABLES, "dsl-1", PASSWORD, NOW)
        db.commit()


def test_wrong_passwords_at_once_are_all_counted(engine: Engine) -> None:
    with_account(engine)
    start = threading.Barrier(AT_ONCE)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with Session(for_writing(engine)) as db:
                start.wait(10)
                accounts.record_failure(db, TABLES, "dsl-1", NOW)
                accounts.record_failure(db, TABLES, "nobody", NOW)  # an unknown staff id changes nothing
                db.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert key_adult(engine).failed_attempts == AT_ONCE
    with Session(engine) as db:
        assert db.get(KeyAdultRow, "nobody") is None


def test_argon2_runs_with_no_connection_held_and_the_outcome_is_written_after(engine: Engine) -> None:
    with_account(engine)
    hasher = WatchingHasher(engine)
    settings = book(session_hours=8)
    assert signin.sign_in(engine, settings, "dsl-1", "a wrong password, once", lambda: NOW, hasher) is None
    assert signin.sign_in(engine, settings, "nobody", "a wrong password, once", lambda: NOW, hasher) is None
    assert key_adult(engine).failed_attempts == 1
    started = signin.sign_in(engine, settings, "dsl-1", PASSWORD, lambda: NOW, hasher)
    assert started is not None and started.stage is sessions.Stage.SIGNED_IN
    assert key_adult(engine).failed_attempts == 0
    with Session(engine) as db:
        assert db.exec(select(PageSessionRow).where(col(PageSessionRow.token_hash)
                                                    == sessions.token_hash(started.token))).one().staff_id == "dsl-1"
    assert hasher.in_use == [0, 0, 0]  # every verification: no connection checked out of the pool


def test_a_password_changed_during_the_verification_refuses_the_attempt(engine: Engine) -> None:
    with_account(engine)

    def change_it() -> None:  # a new password is set (a one-time link used) while argon2 checks the old one
        with Session(for_writing(engine)) as db:
            assert accounts.set_password(db, TABLES, "dsl-1", "a brand new passphrase", NOW)
            db.commit()

    hasher = WatchingHasher(engine, change_it)
    assert signin.sign_in(engine, book(), "dsl-1", PASSWORD, lambda: NOW, hasher) is None
    with Session(engine) as db:
        assert db.exec(select(PageSessionRow)).all() == []
    hasher.meanwhile = lambda: None
    assert signin.sign_in(engine, book(), "dsl-1", "a brand new passphrase", lambda: NOW, hasher) is not None
