"""session running: attendance, materials, notes

A session's record, kept by whoever runs it: ``participant_attendance`` (a course's
participant present or absent, with the home region kept for the network's counts when the
participant is deleted: ON DELETE SET NULL), ``region_attendance`` (an open group's clients
counted per home region), ``session_materials`` (links shared) and ``session_notes`` (a note
for the next facilitator). ``applications.needs_shared_at`` is the applicant's separate
consent to show their needs to the sessions' facilitators; applications sent before it have
none (empty), so their needs stay with the coordinators.

Downgrading drops the four tables and the consent: the records are lost.

Revision ID: 0015_session_running
Revises: 0014_message_kinds
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types


revision = '0015_session_running'
down_revision = '0014_message_kinds'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'needs_shared_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True
            )
        )

    op.create_table(
        'participant_attendance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=True),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('present', sa.Boolean(), nullable=False),
        sa.Column('recorded_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['participant_id'], ['participants.id'],
            name=op.f('fk_participant_attendance_participant_id_participants'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['region_id'], ['regions.id'],
            name=op.f('fk_participant_attendance_region_id_regions'),
        ),
        sa.ForeignKeyConstraint(
            ['session_id'], ['sessions.id'],
            name=op.f('fk_participant_attendance_session_id_sessions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_participant_attendance')),
        sa.UniqueConstraint(
            'session_id', 'participant_id', name=op.f('uq_participant_attendance_session_id')
        ),
    )
    with op.batch_alter_table('participant_attendance', schema=None) as batch_op:
        for column in ('participant_id', 'region_id', 'session_id'):
            batch_op.create_index(
                batch_op.f(f'ix_participant_attendance_{column}'), [column], unique=False
            )

    op.create_table(
        'region_attendance',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('recorded_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            'count >= 0 AND count <= 999', name=op.f('ck_region_attendance_count_range')
        ),
        sa.ForeignKeyConstraint(
            ['region_id'], ['regions.id'], name=op.f('fk_region_attendance_region_id_regions')
        ),
        sa.ForeignKeyConstraint(
            ['session_id'], ['sessions.id'],
            name=op.f('fk_region_attendance_session_id_sessions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('session_id', 'region_id', name=op.f('pk_region_attendance')),
    )
    with op.batch_alter_table('region_attendance', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_region_attendance_region_id'), ['region_id'], unique=False
        )

    op.create_table(
        'session_notes',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', remote_groups.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['session_id'], ['sessions.id'],
            name=op.f('fk_session_notes_session_id_sessions'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['updated_by_id'], ['users.id'],
            name=op.f('fk_session_notes_updated_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_session_notes')),
    )

    op.create_table(
        'session_materials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ['session_id'], ['sessions.id'],
            name=op.f('fk_session_materials_session_id_sessions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_materials')),
    )
    with op.batch_alter_table('session_materials', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_session_materials_session_id'), ['session_id'], unique=False
        )


def downgrade():
    op.drop_table('session_materials')
    op.drop_table('session_notes')
    op.drop_table('region_attendance')
    op.drop_table('participant_attendance')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('needs_shared_at')
