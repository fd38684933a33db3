"""facilitator proposals: blackouts and swaps a coordinator approves

A region says whether its facilitators act directly (``facilitators_act_directly``, off: what
they propose waits for a coordinator). A blackout gets its state (``proposed``, ``approved``,
``declined``) and who answered it when; every blackout that exists at the upgrade was made by
a coordinator, so each is ``approved``. A swap request may be ``proposed`` (waiting for the
own region's coordinator) and records who approved it when. Downgrading refuses while a
proposal or a declined blackout exists, naming how many, before anything changes: the older
version would plan around them or send them on as if approved.

Revision ID: 0018_facilitator_proposals
Revises: 0017_course_drafts
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types

revision = '0018_facilitator_proposals'
down_revision = '0017_course_drafts'
branch_labels = None
depends_on = None

OLD_SWAP_STATUSES = ('pending', 'accepted', 'declined', 'withdrawn')
NEW_SWAP_STATUSES = ('proposed',) + OLD_SWAP_STATUSES
BLACKOUT_STATUSES = ('proposed', 'approved', 'declined')
blackouts = sa.table('blackouts', sa.column('status', sa.String()))
swap_requests = sa.table('swap_requests', sa.column('status', sa.String()))


def _swap_statuses(statuses):
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_swap_requests_swap_status'), type_='check')
        batch_op.create_check_constraint('swap_status', sa.column('status').in_(statuses))


def upgrade():
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'facilitators_act_directly', sa.Boolean(), nullable=False,
                server_default=sa.false(),
            )
        )
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=20), nullable=False, server_default='approved')
        )
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('answered_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            'blackout_status', sa.column('status').in_(BLACKOUT_STATUSES)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_blackouts_answered_by_id_users'), 'users', ['answered_by_id'], ['id'],
            ondelete='SET NULL',
        )
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('approved_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_swap_requests_approved_by_id_users'), 'users', ['approved_by_id'],
            ['id'], ondelete='SET NULL',
        )
    _swap_statuses(NEW_SWAP_STATUSES)


def downgrade():
    bind = op.get_bind()
    unanswered = bind.scalar(
        sa.select(sa.func.count()).select_from(blackouts).where(blackouts.c.status != 'approved')
    )
    proposed = bind.scalar(
        sa.select(sa.func.count())
        .select_from(swap_requests)
        .where(swap_requests.c.status == 'proposed')
    )
    if unanswered or proposed:
        raise RuntimeError(
            f"{unanswered} blackouts not approved and {proposed} swap proposals waiting for"
            " approval: the older version would treat them as approved"
        )
    _swap_statuses(OLD_SWAP_STATUSES)
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_swap_requests_approved_by_id_users'), type_='foreignkey'
        )
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by_id')
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_blackouts_answered_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_blackouts_blackout_status'), type_='check')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answered_by_id')
        batch_op.drop_column('status')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_column('facilitators_act_directly')
