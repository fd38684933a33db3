"""staff links: mailed single-use links by which staff choose their password

``staff_links`` holds invitations of new users and "forgot password" links: the SHA-256 of
the token (never the token), the purpose, when it expires and when it was used or closed, and
the outbox message that carried it (redacted once the link is no longer open).

Downgrading drops the table: open links stop working; passwords are untouched.

Revision ID: 0011_staff_links
Revises: 0010_shared_addresses
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types


revision = '0011_staff_links'
down_revision = '0010_shared_addresses'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column(
            'purpose',
            sa.Enum(
                'invitation',
                'password_reset',
                name='staff_link_purpose',
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_staff_links_user_id_users'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['outbox_message_id'],
            ['outbox_messages.id'],
            name=op.f('fk_staff_links_outbox_message_id_outbox_messages'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_links')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_staff_links_token_digest')),
    )
    op.create_index('ix_staff_links_user_id', 'staff_links', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_staff_links_user_id', table_name='staff_links')
    op.drop_table('staff_links')
