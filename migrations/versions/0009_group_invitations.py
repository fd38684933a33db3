"""group invitations: a region takes part in a group only once its coordinator accepts

``group_invitations`` holds the owner region's invitations to other regions, pending
(``answered_at`` and ``accepted`` empty) or answered. At most one invitation per group and
region is pending (a partial unique index, on SQLite and PostgreSQL alike). The regions
already taking part (``group_regions``) stay as they are: they count as having accepted.

Downgrading drops the table; pending invitations are lost, accepted ones live on in
``group_regions``.

Revision ID: 0009_group_invitations
Revises: 0008_retention
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types


revision = '0009_group_invitations'
down_revision = '0008_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('accepted', sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            '(answered_at IS NULL) = (accepted IS NULL)',
            name=op.f('ck_group_invitations_answered'),
        ),
        sa.ForeignKeyConstraint(
            ['group_id'],
            ['remote_groups.id'],
            name=op.f('fk_group_invitations_group_id_remote_groups'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['invited_by_id'],
            ['users.id'],
            name=op.f('fk_group_invitations_invited_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['region_id'], ['regions.id'], name=op.f('fk_group_invitations_region_id_regions')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_invitations')),
    )
    with op.batch_alter_table('group_invitations', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_group_invitations_group_id'), ['group_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_group_invitations_region_id'), ['region_id'], unique=False
        )
        batch_op.create_index(
            'ix_group_invitations_one_pending',
            ['group_id', 'region_id'],
            unique=True,
            sqlite_where=sa.text('answered_at IS NULL'),
            postgresql_where=sa.text('answered_at IS NULL'),
        )


def downgrade():
    op.drop_table('group_invitations')
