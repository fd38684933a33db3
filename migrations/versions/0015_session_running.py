"""session running: attendance, materials, notes

(placeholder: filled in by the work it names)

Revision ID: 0015_session_running
Revises: 0014_message_kinds
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0015_session_running'
down_revision = '0014_message_kinds'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
