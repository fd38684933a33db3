"""decision sending: decisions saved first, mailed in a send step

(placeholder: filled in by the work it names)

Revision ID: 0016_decision_sending
Revises: 0015_session_running
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0016_decision_sending'
down_revision = '0015_session_running'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
