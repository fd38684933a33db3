"""message kinds: the kinds of mail added after the turn notices

The CHECK of the known kinds is made again with them. Downgrading refuses while such
messages exist, naming them, before anything changes.

Revision ID: 0014_message_kinds
Revises: 0013_turn_notices
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0014_message_kinds'
down_revision = '0013_turn_notices'
branch_labels = None
depends_on = None

OLD_KINDS = (
    'reminder', 'turn_next_week', 'invitation', 'cancellation', 'session_moved',
    'lead_assigned', 'swap_proposed', 'swap_answered', 'group_invitation',
    'subscription_confirm', 'application_received', 'application_status_link',
    'application_accepted', 'application_rejected', 'application_waitlisted',
    'application_withdrawn', 'application_offered', 'application_offer_expired',
    'staff_invitation', 'staff_password_reset', 'turn_moved', 'turns_changed',
)
# Add each new MessageKind value here (one line each).
NEW_KINDS = (
    'proposal_answered',
)
outbox_messages = sa.table('outbox_messages', sa.column('kind', sa.String()))


def _check(kinds):
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_message_kind'), type_='check')
        batch_op.create_check_constraint('message_kind', sa.column('kind').in_(kinds))


def upgrade():
    _check(OLD_KINDS + NEW_KINDS)


def downgrade():
    newer = op.get_bind().scalars(
        sa.select(outbox_messages.c.kind).where(outbox_messages.c.kind.in_(NEW_KINDS)).distinct()
    ).all()
    if newer:
        raise RuntimeError(f"outbox_messages holds kinds the older version does not know: {newer}")
    _check(OLD_KINDS)
