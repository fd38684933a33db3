"""stable identities: a UUID for each session, a stored Message-ID for each outbox row

The session's UUID becomes its calendar UID, which used to be ``session-<id>@<BASE_URL
host>``. Existing sessions get a random UUID each: subscribed calendars see each event
replaced once, by one with the new UID.

Existing outbox rows get the Message-ID the sender gave them until now,
``<outbox-<id>@<BASE_URL host>>``: the header of a message already sent stays on record as
it went out, and a message claimed before the upgrade and sent again after it keeps its
Message-ID. New rows get a random one (``new_message_id``).

Downgrading drops both columns; upgrading again gives the sessions new UUIDs.

Revision ID: 0006_stable_identities
Revises: 0005_throttles
Create Date: 2026-11-30 10:00:00

"""
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from flask import current_app


revision = '0006_stable_identities'
down_revision = '0005_throttles'
branch_labels = None
depends_on = None

sessions = sa.table('sessions', sa.column('id', sa.Integer()), sa.column('uid', sa.Uuid()))
outbox_messages = sa.table(
    'outbox_messages', sa.column('id', sa.Integer()), sa.column('message_id', sa.String())
)


def upgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.Uuid(), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=300), nullable=True))

    connection = op.get_bind()
    session_ids = connection.scalars(sa.select(sessions.c.id)).all()
    if session_ids:
        connection.execute(
            sessions.update()
            .where(sessions.c.id == sa.bindparam('session_id'))
            .values(uid=sa.bindparam('new_uid')),
            [{'session_id': session_id, 'new_uid': uuid.uuid4()} for session_id in session_ids],
        )
    host = urlsplit(current_app.config['BASE_URL']).hostname or 'localhost'
    connection.execute(
        outbox_messages.update().values(
            message_id=sa.literal('<outbox-')
            + sa.cast(outbox_messages.c.id, sa.String())
            + sa.literal(f'@{host}>')
        )
    )

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_sessions_uid'), ['uid'])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=300), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_messages_message_id'), ['message_id'])


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_messages_message_id'), type_='unique')
        batch_op.drop_column('message_id')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sessions_uid'), type_='unique')
        batch_op.drop_column('uid')
