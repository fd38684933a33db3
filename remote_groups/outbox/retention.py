"""How long the outbox keeps mail: every copy of a message goes with its subject.

- A message about an application (``OutboxMessage.application_id``) is **redacted** with the
  application: recipient, subject, bodies, calendar part, unsubscribe link, idempotency key
  and last error are replaced by a neutral marker; kind, status and times stay for the
  operator. One still waiting is not sent (it becomes ``expired``).
- Sent, expired and failed messages are **purged** ``OUTBOX_KEEP_DAYS`` after they were sent
  (or queued, if never sent). Pending ones stay: they are still to be delivered.
- A development ``.eml`` copy (``MAIL_BACKEND=file``) is deleted with the row it copies, or
  when the row is redacted.
- Any other message can be redacted by id (:func:`redact_messages`): a staff member's
  password link once it is used or has expired.

Callers commit. Run nightly by the scheduler and by ``flask data anonymize``
(:mod:`remote_groups.retention`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, String, and_, cast, delete, literal, or_, select, update

from remote_groups.extensions import db
from remote_groups.outbox.models import REDACTED, REDACTED_RECIPIENT, OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import eml_file_name

log = logging.getLogger(__name__)

BATCH = 500
FINISHED = (OutboxStatus.sent, OutboxStatus.expired, OutboxStatus.failed)


def delete_eml_copies(message_ids: Iterable[str]) -> int:
    """Delete the development .eml files of these Message-IDs; returns how many existed."""
    directory = Path(current_app.config["MAIL_DIR"])
    if not directory.is_dir():
        return 0
    deleted = 0
    for message_id in message_ids:
        path = directory / eml_file_name(message_id)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted


def redact_messages_about(applications: Select[Any], now: datetime, batch: int = BATCH) -> int:
    """Redact every message about the applications that ``applications`` (a select of
    application ids) finds, unless already redacted. Returns how many were redacted."""
    return redact_messages(
        select(OutboxMessage.id).where(OutboxMessage.application_id.in_(applications)),
        now,
        batch,
    )


def redact_messages(messages: Select[Any], now: datetime, batch: int = BATCH) -> int:
    """Redact the messages whose ids ``messages`` (a select of outbox ids) finds, unless
    already redacted: recipient, subject, bodies, calendar part, unsubscribe link, key and
    last error are replaced, a message not yet sent never will be, its .eml copy is deleted.
    Returns how many were redacted."""
    redacted = 0
    while True:
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.message_id)
            .where(OutboxMessage.id.in_(messages), OutboxMessage.redacted_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        ids = [row_id for row_id, _ in rows]
        delete_eml_copies(message_id for _, message_id in rows)
        db.session.execute(  # not sent yet: now it never will be
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
            )
            .values(status=OutboxStatus.expired)
            .execution_options(synchronize_session="fetch")
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                # The key held the address; a redacted row's is unique by its id alone.
                idempotency_key=literal("redacted:") + cast(OutboxMessage.id, String),
                recipient=REDACTED_RECIPIENT,
                subject=REDACTED,
                text_body=REDACTED,
                html_body=None,
                calendar=None,
                calendar_method=None,
                unsubscribe_url=None,
                last_error=None,  # SMTP refusals quote the address
                redacted_at=now,
            )
            .execution_options(synchronize_session="fetch")
        )
        redacted += len(ids)
    if redacted:
        log.info("redacted %d outbox messages", redacted)
    return redacted


def purge_outbox(now: datetime, keep_days: int | None = None, batch: int = BATCH) -> int:
    """Delete sent, expired and failed messages ``keep_days`` (``OUTBOX_KEEP_DAYS``) after
    they were sent, or queued when never sent, with their .eml copies. Returns how many."""
    days = keep_days if keep_days is not None else current_app.config["OUTBOX_KEEP_DAYS"]
    cutoff = now - timedelta(days=int(days))
    old = and_(
        OutboxMessage.status.in_(FINISHED),
        or_(
            OutboxMessage.sent_at < cutoff,
            and_(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at < cutoff),
        ),
    )
    purged = 0
    while True:
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.message_id)
            .where(old)
            .order_by(OutboxMessage.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        delete_eml_copies(message_id for _, message_id in rows)
        db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_([row_id for row_id, _ in rows]))
        )
        purged += len(rows)
    if purged:
        log.info("purged %d old outbox messages", purged)
    return purged
