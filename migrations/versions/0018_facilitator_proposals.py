"""facilitator proposals: blackouts and swaps a coordinator approves

(placeholder: filled in by the work it names)

Revision ID: 0018_facilitator_proposals
Revises: 0017_course_drafts
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0018_facilitator_proposals'
down_revision = '0017_course_drafts'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
