"""The page's accounts: the password policy, argon2 hashes (rehashed when
the parameters change), the lockout (the right password refused while
locked), the same argon2 work for an unknown staff id, sessions kept only
as the token's SHA-256, and the CSRF comparison."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from notifications.database import build_engine, migrate
from notifications.models import KeyAdultRow, PageSessionRow
from notifications.page import accounts, csrf
from notifications.settings import Settings

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SETTINGS = Settings(lockout_after_failures=3, lockout_minutes=15, session_hours=8)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'accounts.db'}")
    migrate(built)
    with Session(built) as db:
        db.add(KeyAdultRow(staff_id="dsl-1", school_urn="100001", updated_at=NOW))
        db.add(KeyAdultRow(staff_id="dsl-2", school_urn="100002", updated_at=NOW))
        db.commit()
        assert accounts.set_password(db, "dsl-1", PASSWORD, NOW)
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


def adult(engine: Engine, staff_id: str = "dsl-1") -> KeyAdultRow:
    with Session(engine) as db:
        row = db.get(KeyAdultRow, staff_id)
        assert row is not None
        return row


def attempt(engine: Engine, password: str, at: datetime, staff_id: str = "dsl-1", **kw: Any) -> KeyAdultRow | None:
    with Session(engine, expire_on_commit=False) as db:
        found = accounts.sign_in(db, staff_id, password, at, SETTINGS, **kw)
        db.commit()
        return found


@pytest.mark.parametrize(("password", "rule"), [("short-pw", "at least 12 characters"),
                                                 ("x" * 257, "at most 256 characters"),
                                                 (" " * 12, "not be only spaces")])
def test_the_password_policy_names_the_rule_and_never_the_password(engine: Engine, password: str, rule: str) -> None:
    with Session(engine) as db, pytest.raises(ValueError) as refused:
        accounts.set_password(db, "dsl-2", password, NOW)
    assert rule in str(refused.value)
    assert not password.strip() or password not in str(refused.value)
    assert adult(engine, "dsl-2").password_hash is None


def test_set_password_stores_an_argon2id_hash_and_is_false_for_no_such_key_adult(engine: Engine) -> None:
    stored = adult(engine).password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    with Session(engine) as db:
        assert accounts.set_password(db, "nobody", PASSWORD, NOW) is False


def test_the_right_password_signs_in_and_a_wrong_one_counts(engine: Engine) -> None:
    assert attempt(engine, "not the password at all", NOW) is None
    assert adult(engine).failed_attempts == 1
    signed = attempt(engine, PASSWORD, NOW)
    assert signed is not None and signed.staff_id == "dsl-1" and signed.school_urn == "100001"
    assert adult(engine).failed_attempts == 0
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is None  # no password set yet
    assert attempt(engine, PASSWORD, NOW, staff_id="") is None


def test_after_n_failures_even_the_right_password_is_refused_until_the_lockout_passes(engine: Engine) -> None:
    for _ in range(SETTINGS.lockout_after_failures):
        assert attempt(engine, "wrong password, again", NOW) is None
    locked_until = adult(engine).locked_until
    assert locked_until == NOW + timedelta(minutes=SETTINGS.lockout_minutes)
    assert attempt(engine, PASSWORD, NOW + timedelta(minutes=1)) is None
    assert attempt(engine, PASSWORD, locked_until - timedelta(seconds=1)) is None
    assert attempt(engine, PASSWORD, locked_until) is not None
    after = adult(engine)
    assert after.locked_until is None and after.failed_attempts == 0


def test_fewer_failures_than_the_limit_do_not_lock(engine: Engine) -> None:
    for _ in range(SETTINGS.lockout_after_failures - 1):
        attempt(engine, "wrong password, again", NOW)
    assert attempt(engine, PASSWORD, NOW) is not None
    assert adult(engine).locked_until is None


def test_a_new_password_unlocks_and_ends_the_sessions(engine: Engine) -> None:
    for _ in range(SETTINGS.lockout_after_failures):
        attempt(engine, "wrong password, again", NOW)
    with Session(engine) as db:
        accounts.start_session(db, adult(engine), NOW, SETTINGS)
        db.commit()
        assert accounts.set_password(db, "dsl-1", "a brand new passphrase", NOW)
        db.commit()
        assert db.exec(select(PageSessionRow)).all() == []
    assert adult(engine).locked_until is None
    assert attempt(engine, "a brand new passphrase", NOW) is not None


def test_unknown_staff_ids_and_locked_accounts_cost_the_same_argon2_verification(engine: Engine) -> None:
    hasher = CountingHasher()
    for staff_id, password in [("nobody", PASSWORD), ("dsl-2", PASSWORD), ("dsl-1", "wrong password, again")]:
        before = hasher.verified
        assert attempt(engine, password, NOW, staff_id=staff_id, hasher=hasher) is None
        assert hasher.verified == before + 1, staff_id
    for _ in range(SETTINGS.lockout_after_failures):
        attempt(engine, "wrong password, again", NOW, hasher=hasher)
    before = hasher.verified
    assert attempt(engine, PASSWORD, NOW, hasher=hasher) is None  # locked
    assert hasher.verified == before + 1
    assert not hasher.check_needs_rehash(accounts._decoy(hasher))  # the decoy has the real parameters


def test_a_hash_made_with_other_parameters_is_replaced_at_sign_in(engine: Engine) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    with Session(engine) as db:
        accounts.set_password(db, "dsl-2", PASSWORD, NOW, hasher=weak)
        db.commit()
    old = adult(engine, "dsl-2").password_hash
    assert old is not None and accounts.HASHER.check_needs_rehash(old)
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is not None
    new = adult(engine, "dsl-2").password_hash
    assert new is not None and new != old and not accounts.HASHER.check_needs_rehash(new)
    assert attempt(engine, PASSWORD, NOW, staff_id="dsl-2") is not None


def test_a_session_keeps_only_the_tokens_hash_expires_and_ends(engine: Engine) -> None:
    with Session(engine) as db:
        token, signed = accounts.start_session(db, adult(engine), NOW, SETTINGS)
        db.commit()
        stored = db.exec(select(PageSessionRow)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert stored.expires_at == NOW + timedelta(hours=8) and stored.csrf_token == signed.csrf_token
        assert len(token) >= 40 and len(signed.csrf_token) >= 40
        assert accounts.session_of(db, token, NOW + timedelta(hours=7)) == signed
        assert accounts.session_of(db, token, NOW + timedelta(hours=8)) is None
        assert accounts.session_of(db, stored.token_hash, NOW) is None  # the hash is not a token
        assert accounts.session_of(db, None, NOW) is None
        accounts.end_session(db, token)
        db.commit()
        assert accounts.session_of(db, token, NOW) is None
        assert db.exec(select(PageSessionRow)).all() == []


def test_a_session_ends_with_its_key_adult(engine: Engine) -> None:
    with Session(engine) as db:
        token, _ = accounts.start_session(db, adult(engine), NOW, SETTINGS)
        row = db.get(KeyAdultRow, "dsl-1")
        db.delete(row)
        db.commit()
        assert accounts.session_of(db, token, NOW) is None


def test_csrf_tokens_must_be_present_and_equal() -> None:
    token = csrf.new_token()
    assert csrf.matches(token, token)
    assert not csrf.matches(token, csrf.new_token())
    assert not csrf.matches(token, None) and not csrf.matches(None, token) and not csrf.matches("", "")
    assert not csrf.matches("x" * 65, "x" * 65)
