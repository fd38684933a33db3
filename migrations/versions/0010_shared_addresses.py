"""shared addresses: people who share an email address apply to a course each

``applications`` had one row per course and email (the unique constraint ``one_per_email``),
so the second resident of a group home with one shared address could not apply. Now one
*person* applies once: the same email with the same name (``applications.service.
same_person``), checked under the course's row lock. The constraint becomes a plain index on
the same columns, which the duplicate check and the sweep's look-ups by address use.

Downgrading restores the unique constraint; it stops, changing nothing, while any course has
two applications with one address (the older code cannot tell them apart).

Revision ID: 0010_shared_addresses
Revises: 0009_group_invitations
Create Date: 2026-12-04 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0010_shared_addresses'
down_revision = '0009_group_invitations'
branch_labels = None
depends_on = None

applications = sa.table(
    'applications', sa.column('group_id', sa.Integer()), sa.column('email', sa.String())
)


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('one_per_email', type_='unique')
        batch_op.create_index('ix_applications_group_id_email', ['group_id', 'email'], unique=False)


def downgrade():
    shared = op.get_bind().execute(
        sa.select(applications.c.group_id, applications.c.email)
        .group_by(applications.c.group_id, applications.c.email)
        .having(sa.func.count() > 1)
    ).all()
    if shared:
        raise RuntimeError(
            f"{len(shared)} addresses have applied to one course for more than one person; "
            "the older code allows one application per address and course. Withdraw or "
            "delete the extra applications before downgrading."
        )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_group_id_email')
        batch_op.create_unique_constraint('one_per_email', ['group_id', 'email'])
