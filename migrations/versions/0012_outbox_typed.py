"""outbox typed: a message's kind is checked against the known kinds, and the session it is
about is a column

Until now the outbox told what a message was about only inside ``idempotency_key``
(``reminder:<session id>:…``), and withdrawing a changed session's notices matched key
prefixes. ``session_id`` is filled here from the keys of the kinds about a session (their
second field is the session's id; redacted rows have lost their key and stay empty, as do
rows of sessions since deleted). ``kind`` gets a CHECK of the known kinds; a row of another
kind stops the upgrade, naming it, before anything changes.

Downgrading drops the column and the check.

Revision ID: 0012_outbox_typed
Revises: 0011_staff_links
Create Date: 2026-12-06 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0012_outbox_typed'
down_revision = '0011_staff_links'
branch_labels = None
depends_on = None

KINDS = (
    'reminder', 'turn_next_week', 'invitation', 'cancellation', 'session_moved',
    'lead_assigned', 'swap_proposed', 'swap_answered', 'group_invitation',
    'subscription_confirm', 'application_received', 'application_status_link',
    'application_accepted', 'application_rejected', 'application_waitlisted',
    'application_withdrawn', 'application_offered', 'application_offer_expired',
    'staff_invitation', 'staff_password_reset',
)
SESSION_KINDS = (
    'reminder', 'turn_next_week', 'invitation', 'cancellation', 'session_moved', 'lead_assigned'
)
outbox_messages = sa.table(
    'outbox_messages',
    sa.column('id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('idempotency_key', sa.String()),
    sa.column('session_id', sa.Integer()),
)
sessions = sa.table('sessions', sa.column('id', sa.Integer()))


def upgrade():
    connection = op.get_bind()
    unknown = connection.scalars(
        sa.select(outbox_messages.c.kind).where(outbox_messages.c.kind.not_in(KINDS)).distinct()
    ).all()
    if unknown:
        raise RuntimeError(
            f"outbox_messages holds kinds this version does not know: {sorted(unknown)}"
        )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_outbox_messages_session_id'), ['session_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_messages_session_id_sessions'),
            'sessions',
            ['session_id'],
            ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_check_constraint(
            'message_kind', sa.column('kind').in_(KINDS)
        )
    existing = set(connection.scalars(sa.select(sessions.c.id)))
    rows = connection.execute(
        sa.select(outbox_messages.c.id, outbox_messages.c.idempotency_key).where(
            outbox_messages.c.kind.in_(SESSION_KINDS)
        )
    ).all()
    for row_id, key in rows:
        parts = key.split(':')
        if len(parts) > 2 and parts[0] in SESSION_KINDS and parts[1].isdigit():
            session_id = int(parts[1])
            if session_id in existing:
                connection.execute(
                    outbox_messages.update()
                    .where(outbox_messages.c.id == row_id)
                    .values(session_id=session_id)
                )


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_message_kind'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_outbox_messages_session_id_sessions'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_outbox_messages_session_id'))
        batch_op.drop_column('session_id')
