"""course drafts: a group is a draft until published

A group gets its publication state, ``draft`` or ``published``: a draft is seen by its
coordinators only (no public list, page, application form, feed, API item or client mail).
Every group that exists at the upgrade was public, so each is ``published``; a group made
after it starts as a draft (the model's default). Downgrading drops the column: every group,
drafts too, is public again, as it was before.

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
    with op.batch_alter_table('remote_groups', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'publication',
                sa.Enum(
                    'draft', 'published', name='publication', native_enum=False,
                    create_constraint=True, length=20,
                ),
                nullable=False,
                server_default='published',
            )
        )
    with op.batch_alter_table('remote_groups', schema=None) as batch_op:
        batch_op.alter_column('publication', server_default=None)


def downgrade():
    with op.batch_alter_table('remote_groups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_remote_groups_publication'), type_='check')
        batch_op.drop_column('publication')
