"""retention: outbox rows know their application; applicants' needs encrypted at rest

``outbox_messages.application_id`` names the application a message is about (ON DELETE SET
NULL), so the retention rule redacts the mail with the application; ``redacted_at`` says when
it did. Existing rows are linked where that can be known for sure:

- mail of the application kinds (receipt, status link, decisions, offers…): the
  application's id is the second field of the idempotency key
  (``application_<kind>:<application id>:<version>:<address>``);
- invitations, cancellations and reminders: the key names the session
  (``<kind>:<session id>:…``), so the row is linked to the application to that session's
  course whose email is the row's recipient (one at most: an email applies once per course).
  Facilitators' and subscribers' mail matches no application and stays unlinked.

Mail to an address since changed on the application, or of an application anonymized before
this revision, is not linked by email; all of it is old enough to be deleted by the first
nightly run after the upgrade (``OUTBOX_KEEP_DAYS``), and linked rows of applications
already anonymized are redacted by that run too.

``applications.needs`` is encrypted here, in the same transaction, with the newest key of
DATA_KEYS (in development, the key derived from SECRET_KEY): after the upgrade no plain text
is left and the code never meets any. Set DATA_KEYS before upgrading in production (the
start-up check refuses to run without it). Downgrading decrypts the needs back to plain text
(it stops, changing nothing, if a value opens with no configured key) and drops both columns.

Revision ID: 0008_retention
Revises: 0007_staff_accounts
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import remote_groups.types
from remote_groups.encryption import decrypt, encrypt


revision = '0008_retention'
down_revision = '0007_staff_accounts'
branch_labels = None
depends_on = None

outbox_messages = sa.table(
    'outbox_messages',
    sa.column('id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('idempotency_key', sa.String()),
    sa.column('recipient', sa.String()),
    sa.column('application_id', sa.Integer()),
)
applications = sa.table(
    'applications',
    sa.column('id', sa.Integer()),
    sa.column('group_id', sa.Integer()),
    sa.column('email', sa.String()),
    sa.column('needs', sa.Text()),
)
sessions = sa.table('sessions', sa.column('id', sa.Integer()), sa.column('group_id', sa.Integer()))
SESSION_KINDS = ('invitation', 'cancellation', 'reminder')


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('redacted_at', remote_groups.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_outbox_messages_application_id'), ['application_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_messages_application_id_applications'),
            'applications',
            ['application_id'],
            ['id'],
            ondelete='SET NULL',
        )
    connection = op.get_bind()
    _link_outbox_rows(connection)
    _rewrite_needs(connection, encrypt)  # with the newest key of the running configuration


def _link_outbox_rows(connection):
    known = set()
    by_course_and_email = {}
    for application_id, group_id, email in connection.execute(
        sa.select(applications.c.id, applications.c.group_id, applications.c.email)
    ):
        known.add(application_id)
        by_course_and_email[(group_id, email.lower())] = application_id
    course_of_session = {
        session_id: group_id
        for session_id, group_id in connection.execute(sa.select(sessions.c.id, sessions.c.group_id))
    }
    links = []
    rows = connection.execute(
        sa.select(
            outbox_messages.c.id,
            outbox_messages.c.kind,
            outbox_messages.c.idempotency_key,
            outbox_messages.c.recipient,
        ).where(
            sa.or_(
                outbox_messages.c.kind.like('application\\_%', escape='\\'),
                outbox_messages.c.kind.in_(SESSION_KINDS),
            )
        )
    ).all()
    for row_id, kind, key, recipient in rows:
        parts = key.split(':')
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        if kind in SESSION_KINDS:
            group_id = course_of_session.get(int(parts[1]))
            application_id = by_course_and_email.get((group_id, recipient.lower()))
        else:
            application_id = int(parts[1]) if int(parts[1]) in known else None
        if application_id is not None:
            links.append({'row': row_id, 'application': application_id})
    if links:
        connection.execute(
            outbox_messages.update()
            .where(outbox_messages.c.id == sa.bindparam('row'))
            .values(application_id=sa.bindparam('application')),
            links,
        )


def _rewrite_needs(connection, change):
    rows = connection.execute(
        sa.select(applications.c.id, applications.c.needs).where(applications.c.needs.is_not(None))
    ).all()
    values = [{'row': application_id, 'value': change(needs)} for application_id, needs in rows]
    if values:
        connection.execute(
            applications.update()
            .where(applications.c.id == sa.bindparam('row'))
            .values(needs=sa.bindparam('value')),
            values,
        )


def downgrade():
    # Raises UndecryptableData, before anything is changed, for a value no key opens.
    _rewrite_needs(op.get_bind(), lambda token: decrypt(token, 'applications.needs'))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_outbox_messages_application_id_applications'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_outbox_messages_application_id'))
        batch_op.drop_column('redacted_at')
        batch_op.drop_column('application_id')
