"""Putting messages in the outbox. Delivery (SMTP, files) is the sender's job."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from remote_groups.extensions import db
from remote_groups.i18n import normalize_language
from remote_groups.mail.models import OutboxMessage

log = logging.getLogger(__name__)


class InvalidRecipient(ValueError):
    """An address that cannot receive mail; refused before anything is queued."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str | None = None


def single_line(value: str) -> str:
    """Header text without CR/LF, so no one can inject headers through a name or a subject."""
    return " ".join(value.split())


def checked_address(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidRecipient(str(error)) from None


def render_message(name: str, language: str, **context: object) -> RenderedMessage:
    """Render ``templates/mail/<name>.txt`` (first line: the subject) in ``language``.

    An unknown language falls back to Finnish; a missing translation shows the Finnish
    catalog's text, never an empty body.
    """
    with force_locale(normalize_language(language)):
        rendered = render_template(f"mail/{name}.txt", **context).strip()
    subject, _, body = rendered.partition("\n")
    return RenderedMessage(single_line(subject), body.strip() + "\n")


def enqueue(
    *,
    kind: str,
    key: str,
    recipient: str,
    language: str,
    message: RenderedMessage,
    calendar: str | None = None,
    calendar_method: str | None = None,
    unsubscribe_url: str | None = None,
    expires_at: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message once per ``key``; a repeat with the same key is a no-op (returns None).

    Runs in a savepoint, so a concurrent twin that wins the unique key leaves the caller's
    transaction intact.
    """
    address = checked_address(recipient)
    key = f"{kind}:{key}:{address.lower()}"
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    row = OutboxMessage(
        idempotency_key=key,
        kind=kind,
        recipient=address,
        language=normalize_language(language),
        subject=message.subject,
        text_body=message.text,
        html_body=message.html,
        calendar=calendar,
        calendar_method=calendar_method,
        unsubscribe_url=unsubscribe_url,
        expires_at=expires_at,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    log.info("queued %s message %s", kind, row.id)
    return row
