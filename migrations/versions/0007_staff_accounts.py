"""staff accounts: revocable sessions and one-time passwords

``session_version`` is part of every staff login's identity (the session cookie and the
"remember me" cookie carry ``<id>:<version>``); raising it ends every session of that user
at once, on every device: logging out everywhere, a password change and deactivation do.
Existing users start at 0, so the sessions open before the upgrade (whose cookies carry the
bare id) stop working and everyone logs in once more.

``password_must_change`` marks a password an administrator chose: its owner must choose their
own before doing anything else. Existing users keep theirs (false).

Downgrading drops both columns; the old code then accepts any session cookie again.

Revision ID: 0007_staff_accounts
Revises: 0006_stable_identities
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0007_staff_accounts'
down_revision = '0006_stable_identities'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(
            sa.Column(
                'password_must_change', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_must_change')
        batch_op.drop_column('session_version')
