"""decision sending: decisions saved first, mailed in a send step, mail held for an undo

``application_decisions.unsent``: a coordinator's decision saved and not yet sent (nobody has
been told; it may still change). ``application_decisions.told_at``: when the send step's mail
goes out, the end of its hold (the applicant's status page shows the decision from then on).
``outbox_messages.held_until``: the sender delivers no message before it (the undo window).
Existing decisions were mailed when they were made: ``unsent`` is false for them. A held
message is also queued with its next attempt at the end of its hold, so after a downgrade
the older sender still waits for it. Downgrading refuses while decisions are unsent.

Revision ID: 0016_decision_sending
Revises: 0015_session_running
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types


revision = '0016_decision_sending'
down_revision = '0015_session_running'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application_decisions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('unsent', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('told_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_application_decisions_unsent'), ['unsent'])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('held_until', remote_groups.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    waiting = op.get_bind().scalar(
        sa.text('SELECT count(*) FROM application_decisions WHERE unsent')
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} decisions are not yet sent: the older version has no send step and"
            " would never tell the applicants; send them first"
        )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('held_until')
    with op.batch_alter_table('application_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_decisions_unsent'))
        batch_op.drop_column('told_at')
        batch_op.drop_column('unsent')
