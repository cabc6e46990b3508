"""Signing secrets at rest, on a real database (SQLite and PostgreSQL): a
secret whose rotation overlap has ended is deleted at the next rotation
(it can never sign again), and migration 0007 deletes those an earlier
version left behind, keeping every secret that still signs; a rotated
secret is stored sealed, never as itself; migration 0009 seals the plain
text secrets an earlier version kept, under the key the environment names;
`frontdoor-notifications secrets rekey` seals again under the current key
what an older key sealed (then the old key can go), and refuses, changing
nothing, when a key id is missing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_platform.database import build_engine
from notifications import directory, main
from notifications.delivery import signing
from notifications.migrations import SCHEMA
from notifications.models import SigningSecretRow
from notifications.sealing import DEVELOPMENT_KEY, Keys, signing_context
from notifications.settings import Settings

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OVERLAP = timedelta(hours=24)
KEYS = Settings().sealing_keys
OLD_KEY, NEW_KEY = base64.b64encode(b"o" * 32).decode(), base64.b64encode(b"n" * 32).decode()
SECRETS = sa.table("signing_secrets", sa.column("recipient_id", sa.String()), sa.column("secret", sa.String()),
                   sa.column("created_at", sa.DateTime()), sa.column("expires_at", sa.DateTime()))


def stored(engine: Engine, recipient_id: str, keys: Keys = KEYS) -> list[str]:
    """The recipient's secrets as stored, opened."""
    with Session(engine) as session:
        rows = session.exec(select(SigningSecretRow).where(col(SigningSecretRow.recipient_id) == recipient_id)
                            .order_by(col(SigningSecretRow.secret_id))).all()
        return [keys.open(row.key_id, row.secret, signing_context(row.recipient_id)) for row in rows]


def raw(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        return [(secret, key_id) for secret, key_id in connection.execute(
            sa.text("SELECT secret, key_id FROM signing_secrets ORDER BY secret_id")).all()]


def rotate(engine: Engine, recipient_id: str, at: datetime, keys: Keys = KEYS) -> str:
    secret = signing.new_secret()
    with Session(engine) as session:
        directory.rotate_secret(session, recipient_id, secret, at, OVERLAP, keys)
        session.commit()
    return secret


def migrated_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(SCHEMA.folder))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def plain_rows(engine: Engine, rows: list[tuple[str, datetime | None]], now: datetime) -> None:
    """Signing secrets as an earlier version stored them (plain text)."""
    with engine.begin() as connection:
        for secret, expires in rows:
            connection.execute(SECRETS.insert().values(recipient_id="100001", secret=secret, expires_at=expires,
                                                       created_at=(now - timedelta(days=50)).replace(tzinfo=None)))


def test_a_rotation_deletes_the_secrets_whose_overlap_has_ended(engine: Engine) -> None:
    first = rotate(engine, "100001", T0)
    second = rotate(engine, "100001", T0 + timedelta(hours=1))  # the first signs until T0 + 25 h
    other = rotate(engine, "100002", T0)
    inside = T0 + timedelta(hours=24)
    with Session(engine) as session:
        assert signing.valid_secrets(session, "100001", inside, KEYS) == [second, first]
    third = rotate(engine, "100001", T0 + timedelta(hours=26))  # the first's overlap has ended
    assert stored(engine, "100001") == [second, third]
    with Session(engine) as session:
        assert signing.valid_secrets(session, "100001", T0 + timedelta(hours=26), KEYS) == [third, second]
    assert stored(engine, "100002") == [other]  # another recipient's secrets are its own


def test_a_rotated_secret_is_stored_sealed_never_as_itself(engine: Engine) -> None:
    secret = rotate(engine, "100001", T0)
    [(stored_secret, key_id)] = raw(engine)
    assert key_id == KEYS.current and secret not in stored_secret and not stored_secret.startswith("whsec_")
    assert stored(engine, "100001") == [secret]


def test_migration_0007_deletes_the_expired_secrets_an_earlier_version_kept(database_url: str) -> None:
    engine = build_engine(database_url)
    migrated_to(engine, "0006")
    now = datetime.now(UTC)
    plain_rows(engine, [("whsec_expired", (now - timedelta(days=40)).replace(tzinfo=None)),
                        ("whsec_just_expired", now.replace(tzinfo=None)),
                        ("whsec_overlapping", (now + timedelta(hours=3)).replace(tzinfo=None)),
                        ("whsec_current", None)], now)
    migrated_to(engine, "0007")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT secret FROM signing_secrets ORDER BY secret_id")).scalars().all() \
            == ["whsec_overlapping", "whsec_current"]
    engine.dispose()


def test_migration_0009_seals_the_plain_text_secrets_under_the_environments_key(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEYS", f'{{"2026-12": "{NEW_KEY}"}}')
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEY_ID", "2026-12")
    engine = build_engine(database_url)
    migrated_to(engine, "0008")
    kept = [signing.new_secret(), signing.new_secret()]
    plain_rows(engine, [(kept[0], None), (kept[1], (datetime.now(UTC) + timedelta(hours=3)).replace(tzinfo=None))],
               datetime.now(UTC))
    migrated_to(engine, "head")
    rows = raw(engine)
    assert [key_id for _, key_id in rows] == ["2026-12", "2026-12"]
    assert not any(secret in stored_secret for stored_secret, _ in rows for secret in kept)
    assert stored(engine, "100001", Keys({"2026-12": NEW_KEY}, "2026-12")) == kept
    with Session(engine) as session:  # the delivery loop opens them with the environment's keys
        assert signing.valid_secrets(session, "100001", datetime.now(UTC)) == list(reversed(kept))
    engine.dispose()


def test_rekey_seals_again_under_the_current_key_then_the_old_key_can_go(
        database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    engine = build_engine(database_url)
    migrated_to(engine, "head")
    old = Keys({"2026-01": OLD_KEY}, "2026-01")
    secrets = [rotate(engine, "100001", T0, old), rotate(engine, "100002", T0, old)]
    monkeypatch.setenv("NOTIFICATIONS_DATABASE_URL", database_url)
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEYS", f'{{"2026-12": "{NEW_KEY}"}}')
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEY_ID", "2026-12")
    assert main.main(["secrets", "rekey"]) == 1  # the old key is missing: nothing changes
    assert "2026-01" in capsys.readouterr().err and [key_id for _, key_id in raw(engine)] == ["2026-01"] * 2
    monkeypatch.setenv("NOTIFICATIONS_SECRETS_KEYS", f'{{"2026-01": "{OLD_KEY}", "2026-12": "{NEW_KEY}"}}')
    assert main.main(["secrets", "rekey"]) == 0
    out = capsys.readouterr().out
    assert "2 signing secrets" in out and OLD_KEY not in out and NEW_KEY not in out
    assert not any(secret in out for secret in secrets)
    assert [key_id for _, key_id in raw(engine)] == ["2026-12"] * 2
    new_only = Keys({"2026-12": NEW_KEY}, "2026-12")  # the old key gone: every secret still opens
    assert stored(engine, "100001", new_only) + stored(engine, "100002", new_only) == secrets
    assert main.main(["secrets", "rekey"]) == 0 and "0 signing secrets" in capsys.readouterr().out
    assert DEVELOPMENT_KEY not in out
    engine.dispose()
