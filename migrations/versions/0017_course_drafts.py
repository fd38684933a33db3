"""course drafts: a group is a draft until published

(placeholder: filled in by the work it names)

Revision ID: 0017_course_drafts
Revises: 0016_decision_sending
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0017_course_drafts'
down_revision = '0016_decision_sending'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
