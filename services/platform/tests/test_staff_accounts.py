"""Staff accounts (the kit's): the password policy, argon2 hashes (rehashed when
the parameters change), a sign-in's three steps (read the hash, check it
with no session, write the outcome: a failure counted, or cleared), the
same argon2 work and the same write for an unknown staff id, a new
password ending every session, and the CSRF comparison. (Sessions
themselves: test_staff_sessions.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from staff_kit_tables import PAGES, KitStaffAccount, KitStaffSession, staff_engine

from frontdoor_platform.staff import StaffConfig, accounts, csrf, sessions

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SETTINGS = StaffConfig(session_hours=8)
TABLES = PAGES.tables


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = staff_engine(tmp_path)
    with Session(built) as db:
        db.add(KitStaffAccount(staff_id="dsl-1", roles="agency", scope="agency-a", updated_at=NOW))
        db.add(KitStaffAccount(staff_id="dsl-2", roles="agency", scope="agency-b", updated_at=NOW))
        db.commit()
        assert accounts.set_password(db, TABLES, "dsl-1", PASSWORD, NOW)
        db.commit()
    yield built
    built.dispose()


class CountingHasher(PasswordHasher):
    """Argon2 as usual, counting the verifications (the expensive step)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


def adult(engine: Engine, staff_id: str = "dsl-1") -> KitStaffAccount:
    with Session(engine) as db:
        row = db.get(KitStaffAccount, staff_id)
        assert row is not None
        return row


def attempt(engine: Engine, password: str, at: datetime, staff_id: str = "dsl-1",
            hasher: PasswordHasher = accounts.HASHER) -> KitStaffAccount | None:
    """The three steps as the page runs them: read, check (no session), write."""
    with Session(engine) as db:
        stored = accounts.stored_hash(db, TABLES, staff_id)
    verdict = accounts.check(stored, password, hasher=hasher)
    with Session(engine, expire_on_commit=False) as db:
        if verdict.right and stored is not None:
            found = accounts.record_success(db, TABLES, staff_id, stored, verdict.rehashed, at)
        else:
            accounts.record_failure(db, TABLES, staff_id, at)
            found = None
        db.commit()
        return found


@pytest.mark.parametrize(("password", "rule"), [("short-pw", "at least 12 characters"),
                                                 ("x" * 257, "at most 256 characters"),
                                                 (" " * 12, "not be only spaces")])
def test_the_password_policy_names_the_rule_and_never_the_password(engine: Engine, password: str, rule: str) -> None:
    with Session(engine) as db, pytest.raises(ValueError) as refused:
        accounts.set_password(db, TABLES, "dsl-2", password, NOW)
    assert rule in str(refused.value)
    assert not password.strip() or password not in str(refused.value)
    assert adult(engine, "dsl-2").password_hash is None


def test_set_password_stores_an_argon2id_hash_and_is_false_for_no_such_key_adult(engine: Engine) -> None:
    stored = adult(engine).password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    with Session(engine) as db:
        assert accounts.set_password(db, TABLES, "nobody", PASSWORD, NOW) is False


def test_the_right_password_signs_in_and_a_wrong_one_counts(engine: Engine) -> None:
    assert attempt(engine, "not the password at all", NOW) is None
    assert adult(engine).failed_attempts == 1
    signed = attempt(engine, PASSWORD, NOW)
    assert signed is not None and signed.staff_id == "dsl-1" and signed.staff_scope() == "agency-a"
    assert adult(engine).failed_attempts == 0
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is None  # no password set yet
    assert attempt(engine, PASSWORD, NOW, staff_id="") is None


def test_failures_are_counted_never_locking_and_a_sign_in_clears_them(engine: Engine) -> None:
    for n in range(1, 8):
        assert attempt(engine, "wrong password, again", NOW) is None
        assert adult(engine).failed_attempts == n
    assert attempt(engine, PASSWORD, NOW) is not None  # no lockout here: the page's throttle decides who may try
    assert adult(engine).failed_attempts == 0


def test_a_new_password_clears_the_count_and_ends_the_sessions(engine: Engine) -> None:
    for _ in range(3):
        attempt(engine, "wrong password, again", NOW)
    with Session(engine) as db:
        sessions.start(db, TABLES, adult(engine), sessions.Stage.SIGNED_IN, NOW, SETTINGS)
        db.commit()
        assert accounts.set_password(db, TABLES, "dsl-1", "a brand new passphrase", NOW)
        db.commit()
        assert db.exec(select(KitStaffSession)).all() == []
    assert adult(engine).failed_attempts == 0
    assert attempt(engine, PASSWORD, NOW) is None
    assert attempt(engine, "a brand new passphrase", NOW) is not None


def test_unknown_staff_ids_and_accounts_without_a_password_cost_the_same_argon2_verification(
        engine: Engine) -> None:
    hasher = CountingHasher()
    for staff_id, password in [("nobody", PASSWORD), ("dsl-2", PASSWORD), ("dsl-1", "wrong password, again"),
                               ("", "")]:
        before = hasher.verified
        assert attempt(engine, password, NOW, staff_id=staff_id, hasher=hasher) is None
        assert hasher.verified == before + 1, staff_id
    assert adult(engine, "dsl-2").failed_attempts == 0  # no password yet: nothing to count
    assert not hasher.check_needs_rehash(accounts._decoy(hasher))  # the decoy has the real parameters
    with Session(engine) as db:
        assert accounts.stored_hash(db, TABLES, "nobody") is None and accounts.stored_hash(db, TABLES, "dsl-2") is None
        assert db.get(KitStaffAccount, "nobody") is None


def test_a_hash_made_with_other_parameters_is_replaced_at_sign_in(engine: Engine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    with Session(engine) as db:
        accounts.set_password(db, TABLES, "dsl-2", PASSWORD, NOW, hasher=weak)
        db.commit()
    old = adult(engine, "dsl-2").password_hash
    assert old is not None and accounts.HASHER.check_needs_rehash(old)
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is not None
    new = adult(engine, "dsl-2").password_hash
    assert new is not None and new != old and not accounts.HASHER.check_needs_rehash(new)
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is not None


def test_csrf_tokens_must_be_present_and_equal() -> None:
    token = csrf.new_token()
    assert csrf.matches(token, token)
    assert not csrf.matches(token, csrf.new_token())
    assert not csrf.matches(token, None) and not csrf.matches(None, token) and not csrf.matches("", "")
    assert not csrf.matches("x" * 65, "x" * 65)
