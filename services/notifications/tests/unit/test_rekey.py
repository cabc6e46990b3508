"""`secrets rekey` on every sealed secret: a webhook signing secret, a key
adult's TOTP secret and one being enrolled, each sealed under an old key,
are sealed again under the current one, and open (and check codes) once
the old key is gone; a key adult's second factor goes on working."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import build_engine
from frontdoor_platform.staff import Staff, Stage, second_factor, totp
from notifications import directory
from notifications.delivery import signing
from notifications.migrations import migrate
from notifications.models import KeyAdultRow, PageSessionRow
from notifications.page.pages import PAGES
from notifications.rekey import UnknownKeys, rekey
from notifications.sealing import Keys

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
OLD = Keys({"old": base64.b64encode(b"o" * 32).decode()}, "old")
BOTH = Keys({"old": base64.b64encode(b"o" * 32).decode(), "new": base64.b64encode(b"n" * 32).decode()}, "new")
NEW = Keys({"new": base64.b64encode(b"n" * 32).decode()}, "new")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'rekey.db'}")
    migrate(built)
    yield built
    built.dispose()


def test_every_sealed_secret_is_sealed_again_under_the_current_key(engine: Engine) -> None:
    enrolled, enrolling, webhook = totp.new_secret(), totp.new_secret(), signing.new_secret()
    account = uuid.uuid4()
    with Session(engine) as db:
        directory.rotate_secret(db, "100001", webhook, NOW, timedelta(hours=24), OLD)
        mine = OLD.seal(enrolled, second_factor.totp_context("dsl-1"))
        db.add(KeyAdultRow(staff_id="dsl-1", school_urn="100001", account_id=account, updated_at=NOW,
                           totp_secret=mine.ciphertext, totp_key_id=mine.key_id))
        held = OLD.seal(enrolling, second_factor.totp_context("dsl-1"))
        db.add(PageSessionRow(token_hash="h" * 64, staff_id="dsl-1", account_id=account, stage="signed_in",
                              csrf_token="c", created_at=NOW, last_seen_at=NOW, expires_at=NOW + timedelta(hours=1),
                              enrol_secret=held.ciphertext, enrol_key_id=held.key_id))
        db.commit()
    with pytest.raises(UnknownKeys, match="old"):
        rekey(engine, NEW)  # the old key is not configured: nothing changes
    done = rekey(engine, BOTH)
    assert (done.signing_secrets, done.second_factors, done.enrolments) == (1, 1, 1)
    signed = Staff(account, "dsl-1", frozenset({"key_adult"}), "100001", "c", Stage.SIGNED_IN, "h" * 64)
    with Session(engine) as db:  # the old key gone, everything opens
        assert signing.valid_secrets(db, "100001", NOW, NEW) == [webhook]
        assert second_factor.check(db, PAGES.tables, signed, pyotp.TOTP(enrolled).at(NOW), NOW, NEW)
        assert second_factor.confirm(db, PAGES.tables, signed, pyotp.TOTP(enrolling).at(NOW + timedelta(seconds=30)),
                                     NOW + timedelta(seconds=30), NEW)
        db.commit()
    assert rekey(engine, NEW) == type(done)(0, 0, 0)
