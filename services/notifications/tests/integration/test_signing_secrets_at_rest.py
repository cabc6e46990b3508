"""Signing secrets at rest, on a real database (SQLite and PostgreSQL): a
secret whose rotation overlap has ended is deleted at the next rotation
(it can never sign again), and migration 0007 deletes those an earlier
version left behind, keeping every secret that still signs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from notifications import directory
from notifications.database import MIGRATIONS, build_engine
from notifications.delivery import signing
from notifications.models import SigningSecretRow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OVERLAP = timedelta(hours=24)


def stored(engine: Engine, recipient_id: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(SigningSecretRow).where(col(SigningSecretRow.recipient_id) == recipient_id)
                            .order_by(col(SigningSecretRow.secret_id))).all()
        return [row.secret for row in rows]


def rotate(engine: Engine, recipient_id: str, at: datetime) -> str:
    secret = signing.new_secret()
    with Session(engine) as session:
        directory.rotate_secret(session, recipient_id, secret, at, OVERLAP)
        session.commit()
    return secret


def test_a_rotation_deletes_the_secrets_whose_overlap_has_ended(engine: Engine) -> None:
    first = rotate(engine, "100001", T0)
    second = rotate(engine, "100001", T0 + timedelta(hours=1))  # the first signs until T0 + 25 h
    other = rotate(engine, "100002", T0)
    inside = T0 + timedelta(hours=24)
    with Session(engine) as session:
        assert signing.valid_secrets(session, "100001", inside) == [second, first]
    third = rotate(engine, "100001", T0 + timedelta(hours=26))  # the first's overlap has ended
    assert stored(engine, "100001") == [second, third]
    with Session(engine) as session:
        assert signing.valid_secrets(session, "100001", T0 + timedelta(hours=26)) == [third, second]
    assert stored(engine, "100002") == [other]  # another recipient's secrets are its own


def test_migration_0007_deletes_the_expired_secrets_an_earlier_version_kept(database_url: str) -> None:
    engine = build_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    now = datetime.now(UTC)
    with Session(engine) as session:
        for secret, expires in [("whsec_expired", now - timedelta(days=40)), ("whsec_just_expired", now),
                                ("whsec_overlapping", now + timedelta(hours=3)), ("whsec_current", None)]:
            session.add(SigningSecretRow(recipient_id="100001", secret=secret, created_at=now - timedelta(days=50),
                                         expires_at=expires))
        session.commit()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    assert stored(engine, "100001") == ["whsec_overlapping", "whsec_current"]
    engine.dispose()
