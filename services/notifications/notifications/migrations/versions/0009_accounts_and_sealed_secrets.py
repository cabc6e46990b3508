"""accounts and sealed secrets: signing secrets encrypted at rest (AES-GCM, `key_id` beside each; the plain
text rows an earlier version kept are sealed here, under the key the environment names: NOTIFICATIONS_SECRETS_KEYS
and NOTIFICATIONS_SECRETS_KEY_ID, the development key when unset); key adults get an account id (new each time a
staff id is added) and a sealed TOTP secret; page sessions get a stage, an idle clock and their account (the
sessions an earlier version kept are ended: their key adults sign in again); one-time set-password links; a
school's `require_second_factor`

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 09:00:00.000000
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database
from notifications import sealing

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

signing_secrets = sa.table('signing_secrets', sa.column('secret_id', sa.Integer()),
                           sa.column('recipient_id', sa.String()), sa.column('secret', sa.String()),
                           sa.column('key_id', sa.String()))
key_adults = sa.table('key_adults', sa.column('staff_id', sa.String()), sa.column('account_id', sa.Uuid()))
page_sessions = sa.table('page_sessions', sa.column('token_hash', sa.String()))


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_second_factor', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    with op.batch_alter_table('signing_secrets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', _string(32), nullable=True))
        batch_op.alter_column('secret', existing_type=_string(200), type_=_string(400), existing_nullable=False)
    keys = sealing.keys_from_environment()
    for secret_id, recipient_id, secret in bind.execute(sa.select(
            signing_secrets.c.secret_id, signing_secrets.c.recipient_id, signing_secrets.c.secret)).all():
        sealed = keys.seal(secret, sealing.signing_context(recipient_id))
        bind.execute(signing_secrets.update().where(signing_secrets.c.secret_id == secret_id)
                     .values(secret=sealed.ciphertext, key_id=sealed.key_id))
    with op.batch_alter_table('signing_secrets', schema=None) as batch_op:
        batch_op.alter_column('key_id', existing_type=_string(32), nullable=False)

    with op.batch_alter_table('key_adults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', _string(200), nullable=True))
        batch_op.add_column(sa.Column('totp_key_id', _string(32), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('totp_enrolled_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
    for (staff_id,) in bind.execute(sa.select(key_adults.c.staff_id)).all():
        bind.execute(key_adults.update().where(key_adults.c.staff_id == staff_id).values(account_id=uuid.uuid4()))
    with op.batch_alter_table('key_adults', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Uuid(), nullable=False)

    bind.execute(page_sessions.delete())
    with op.batch_alter_table('page_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('stage', _string(16), nullable=True))
        batch_op.add_column(sa.Column('last_seen_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('code_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('enrol_secret', _string(200), nullable=True))
        batch_op.add_column(sa.Column('enrol_key_id', _string(32), nullable=True))
    with op.batch_alter_table('page_sessions', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('stage', existing_type=_string(16), nullable=False)
        batch_op.alter_column('last_seen_at', existing_type=frontdoor_platform.database.UTCDateTime(),
                              nullable=False)

    op.create_table('page_password_links',
    sa.Column('token_hash', _string(64), nullable=False),
    sa.Column('staff_id', _string(64), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('expires_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('page_password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_password_links_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    """Back to 0008: the signing secrets in plain text again (opened with the environment's keys); sessions,
    set-password links and TOTP enrolments are lost."""
    bind = op.get_bind()
    with op.batch_alter_table('page_password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_password_links_staff_id'))
    op.drop_table('page_password_links')

    bind.execute(page_sessions.delete())
    with op.batch_alter_table('page_sessions', schema=None) as batch_op:
        for column in ('enrol_key_id', 'enrol_secret', 'code_failures', 'last_seen_at', 'stage', 'account_id'):
            batch_op.drop_column(column)

    with op.batch_alter_table('key_adults', schema=None) as batch_op:
        for column in ('totp_enrolled_at', 'totp_last_step', 'totp_key_id', 'totp_secret', 'account_id'):
            batch_op.drop_column(column)

    keys = sealing.keys_from_environment()
    for secret_id, recipient_id, secret, key_id in bind.execute(sa.select(
            signing_secrets.c.secret_id, signing_secrets.c.recipient_id, signing_secrets.c.secret,
            signing_secrets.c.key_id)).all():
        plain = keys.open(key_id, secret, sealing.signing_context(recipient_id))
        bind.execute(signing_secrets.update().where(signing_secrets.c.secret_id == secret_id).values(secret=plain))
    with op.batch_alter_table('signing_secrets', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.alter_column('secret', existing_type=_string(400), type_=_string(200), existing_nullable=False)

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('require_second_factor')
