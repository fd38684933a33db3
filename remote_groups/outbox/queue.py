"""Putting messages in the outbox. Delivery (SMTP, files) is the sender's job
(:mod:`remote_groups.outbox.sender`)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup, escape
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from remote_groups.extensions import db
from remote_groups.i18n import normalize_language
from remote_groups.outbox.models import (
    SESSION_TIME_NOTICES,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)

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
    language = normalize_language(language)
    with force_locale(language):
        rendered = render_template(f"mail/{name}.txt", **context).strip()
        subject, _, body = rendered.partition("\n")
        text = body.strip() + "\n"
        html = render_template(
            "mail/_message.html", subject=single_line(subject), paragraphs=paragraphs(text)
        )
    return RenderedMessage(single_line(subject), text, html)


URL = re.compile(r"https?://[^\s<>\"]+")


def paragraphs(text: str) -> list[list[Markup]]:
    """The plain-text body as paragraphs of lines, escaped, with links made clickable: the
    HTML part says exactly what the text part says."""
    result = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = []
        for line in block.splitlines():
            parts, last = [], 0
            for match in URL.finditer(line):
                parts.append(escape(line[last : match.start()]))
                url = escape(match.group(0))
                parts.append(Markup(f'<a href="{url}">{url}</a>'))
                last = match.end()
            parts.append(escape(line[last:]))
            lines.append(Markup("").join(parts))
        result.append(lines)
    return result


def withdraw_pending_notices(session_id: int) -> int:
    """A cancelled or moved session's reminders and turn notices that are still waiting are
    dropped: they would name a time that is no longer true."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.pending,
            OutboxMessage.session_id == session_id,
            OutboxMessage.kind.in_(SESSION_TIME_NOTICES),
        )
        .values(status=OutboxStatus.expired, last_error="the session changed")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def undo_window() -> timedelta:
    """How long mail a person caused by a step they may regret (decisions sent, a session
    cancelled) is held before it goes: ``MAIL_UNDO_MINUTES``."""
    return timedelta(minutes=int(current_app.config.get("MAIL_UNDO_MINUTES", 10)))


def withdraw_held(
    now: datetime,
    *,
    application_ids: Iterable[int] = (),
    session_id: int | None = None,
    kinds: Iterable[MessageKind] = (),
) -> int:
    """Take back the messages still in their undo window (held past ``now``, never tried)
    about these applications or this session, of these kinds (any kind when none is named).
    They are deleted, not marked: nothing went out, and the same message queued again later
    (a decision sent after all) must not find its key taken. Returns how many."""
    about = []
    if application_ids:
        about.append(OutboxMessage.application_id.in_(list(application_ids)))
    if session_id is not None:
        about.append(OutboxMessage.session_id == session_id)
    if not about:
        return 0
    query = delete(OutboxMessage).where(
        or_(*about),
        OutboxMessage.status == OutboxStatus.pending,
        OutboxMessage.attempts == 0,
        OutboxMessage.held_until > now,
    )
    kinds = list(kinds)
    if kinds:
        query = query.where(OutboxMessage.kind.in_(kinds))
    result = db.session.execute(query.execution_options(synchronize_session=False))
    return result.rowcount


def new_message_id(base_url: str) -> str:
    """A new Message-ID (RFC 5322): a random UUID at the site's host, e.g.
    ``<3f2a…e91c@ryhmat.example.fi>``.

    Random rather than derived from the outbox row's id: ids start over in another
    installation and are handed out again after a restore, and mail programs treat two
    messages with one Message-ID as copies of one message. The host only makes the form
    familiar; the UUID alone makes it unique.
    """
    host = urlsplit(base_url).hostname or "localhost"
    return f"<{uuid.uuid4().hex}@{host}>"


def enqueue(
    *,
    kind: MessageKind,
    key: str,
    recipient: str,
    language: str,
    message: RenderedMessage,
    calendar: str | None = None,
    calendar_method: str | None = None,
    unsubscribe_url: str | None = None,
    expires_at: datetime | None = None,
    session_id: int | None = None,
    application_id: int | None = None,
    held_until: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message once per ``key``; a repeat with the same key is a no-op (returns None).

    ``session_id`` and ``application_id`` name the session and the application a message is
    about, whatever its kind: a changed session's waiting notices are withdrawn by the first,
    and the retention rule redacts a message with its application by the second.
    ``held_until``: the end of the message's undo window; the sender delivers it no sooner
    (:func:`withdraw_held` takes it back before then).

    Runs in a savepoint, so a concurrent twin that wins the unique key leaves the caller's
    transaction intact.
    """
    address = checked_address(recipient)
    kind = MessageKind(kind)
    key = f"{kind.value}:{key}:{address.lower()}"
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)):
        return None
    row = OutboxMessage(
        idempotency_key=key,
        message_id=new_message_id(current_app.config["BASE_URL"]),
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
        session_id=session_id,
        application_id=application_id,
        held_until=held_until,
    )
    if held_until is not None:
        row.next_attempt_at = held_until
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    log.info("queued %s message %s", kind.value, row.id)
    return row


def count_by_status() -> dict[OutboxStatus, int]:
    """How many messages the outbox holds in each state (every state present)."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    return {status: counts.get(status, 0) for status in OutboxStatus}
