"""stable identities: a stored calendar UID per session, a stored Message-ID per outbox row

The calendar UID used to be computed, ``session-<id>@<BASE_URL host>``; now it is stored
with the session. Existing sessions get exactly the UID they were published with, computed
the old way once more (the host as the old code took it, ``remote-groups`` when BASE_URL
has none): subscribed calendars see no change, and a participant whose calendar holds a
mailed invitation gets the next update or cancellation for that same event, not as a second
one. From then on the stored UID no longer follows BASE_URL or the id, so a later move to
another domain or a restore keeps it. New sessions get a random UUID (``new_session_uid``),
which is why the column is text.

Existing outbox rows get the Message-ID the sender gave them until now,
``<outbox-<id>@<BASE_URL host>>``: the header of a message already sent stays on record as
it went out, and a message claimed before the upgrade and sent again after it keeps its
Message-ID. New rows get a random one (``new_message_id``).

Downgrading drops both columns. The old code then publishes ``session-<id>@<host>`` for
every session again, the UID that upgrading once more stores for each of them.

Revision ID: 0006_stable_identities
Revises: 0005_throttles
Create Date: 2026-11-30 10:00:00

"""
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from flask import current_app


revision = '0006_stable_identities'
down_revision = '0005_throttles'
branch_labels = None
depends_on = None

sessions = sa.table('sessions', sa.column('id', sa.Integer()), sa.column('uid', sa.String()))
outbox_messages = sa.table(
    'outbox_messages', sa.column('id', sa.Integer()), sa.column('message_id', sa.String())
)


def upgrade():
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=255), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=300), nullable=True))

    connection = op.get_bind()
    # The host as the code before this revision took it: the calendar service for UIDs, the
    # sender for Message-IDs.
    base_url = urlsplit(current_app.config['BASE_URL'])
    uid_host = base_url.hostname or 'remote-groups'
    connection.execute(
        sessions.update().values(
            uid=sa.literal('session-')
            + sa.cast(sessions.c.id, sa.String())
            + sa.literal(f'@{uid_host}')
        )
    )
    host = base_url.hostname or 'localhost'
    connection.execute(
        outbox_messages.update().values(
            message_id=sa.literal('<outbox-')
            + sa.cast(outbox_messages.c.id, sa.String())
            + sa.literal(f'@{host}>')
        )
    )

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=255), nullable=False)
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
