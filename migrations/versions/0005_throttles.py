"""throttles: per-address rate limits and login lockout shared by all workers

Revision ID: 0005_throttles
Revises: 0004_mail
Create Date: 2026-11-23 14:00:00

"""
from alembic import op
import sqlalchemy as sa

import remote_groups.types


revision = '0005_throttles'
down_revision = '0004_mail'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('throttles',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_start', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('locked_until', remote_groups.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttles'))
    )


def downgrade():
    op.drop_table('throttles')
