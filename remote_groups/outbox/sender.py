"""Delivering the outbox: claim a batch, send it over one connection, record each outcome.

Claiming marks rows ``sending`` with a lease (``next_attempt_at`` = now + lease) and commits,
so two senders never take the same row: on PostgreSQL the claim uses FOR UPDATE SKIP LOCKED;
on SQLite one sender process is assumed. A sender that dies after claiming leaves its rows
``sending``; when the lease runs out another run takes them again. A message whose SMTP
transaction completed just before the crash is then sent a second time: at most one
duplicate per crash, and it carries the same Message-ID (stored with the row when it was
queued), so mail programs can tell.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import or_, select, update

from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.queue import single_line
from remote_groups.types import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
MAX_ATTEMPTS = 30  # about a week of retries at the longest interval


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class TemporaryFailure(Exception):
    """The server or the network failed for now (4xx, refused, timed out): retry later."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most six hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def build_email(row: OutboxMessage, config: dict[str, Any]) -> EmailMessage:
    """The MIME message of an outbox row. With a calendar part it is an iMIP message
    (RFC 6047): text/calendar with its METHOD inside multipart/alternative, and the same
    calendar attached as an .ics file for programs that only read attachments."""
    message = EmailMessage()
    message["Subject"] = single_line(row.subject)
    message["From"] = formataddr(
        (single_line(config.get("MAIL_FROM_NAME", "")), config["MAIL_FROM"])
    )
    message["To"] = row.recipient
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"
    if row.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row.text_body, cte=_transfer_encoding(row.text_body))
    if row.html_body:
        message.add_alternative(
            row.html_body, subtype="html", cte=_transfer_encoding(row.html_body)
        )
    if row.calendar:
        method = row.calendar_method or "REQUEST"
        message.add_alternative(
            row.calendar,
            subtype="calendar",
            params={"method": method},
            cte=_transfer_encoding(row.calendar),
        )
        message.add_attachment(
            row.calendar.encode("utf-8"),
            maintype="application",
            subtype="ics",
            filename="invite.ics" if method != "CANCEL" else "cancel.ics",
        )
    # Last: set_content() clears Content-* headers, and making a multipart moves them down.
    message["Content-Language"] = row.language
    return message


def _transfer_encoding(text: str) -> str:
    """7bit for plain ASCII, else quoted-printable: Python would choose 8bit for Finnish and
    Swedish text, which a relay that does not offer 8BITMIME may refuse or mangle; a
    quoted-printable body is ASCII on the wire and still readable."""
    return (
        "7bit"
        if text.isascii() and all(len(line) < 990 for line in text.splitlines())
        else ("quoted-printable")
    )


class FileTransport:
    """Development mail: each message becomes an .eml file under MAIL_DIR, named after the
    left part of its Message-ID (``3f2a…e91c.eml``), so a message sent again overwrites its
    own file."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        (self.directory / eml_file_name(message["Message-ID"])).write_bytes(message.as_bytes())


def eml_file_name(message_id: str) -> str:
    """A file name from a Message-ID: its left part with anything but letters, digits and
    hyphens replaced, so no Message-ID can name a path outside the directory."""
    left = message_id.strip().strip("<>").split("@")[0]
    return (re.sub(r"[^A-Za-z0-9-]", "_", left) or "message") + ".eml"


class SmtpTransport:
    """One SMTP connection for a whole batch."""

    def __init__(self, connection: smtplib.SMTP):
        self.connection = connection

    def send(self, message: EmailMessage) -> None:
        try:
            refused = self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {codes}") from None
            raise TemporaryFailure(f"recipient deferred: {codes}") from None
        except smtplib.SMTPResponseException as error:
            kind = PermanentFailure if error.smtp_code >= 500 else TemporaryFailure
            raise kind(f"{error.smtp_code} {error.smtp_error!r}") from None
        except smtplib.SMTPNotSupportedError as error:  # e.g. no SMTPUTF8: never will be
            raise PermanentFailure(f"not supported by the server: {error}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from None
        if refused:
            raise PermanentFailure(f"recipient refused: {sorted(refused)}")


@contextmanager
def open_transport(config: dict[str, Any]) -> Iterator[Transport]:
    if config.get("MAIL_BACKEND", "file") == "file":
        yield FileTransport(config["MAIL_DIR"])
        return
    host, port = config["SMTP_HOST"], int(config.get("SMTP_PORT", 25))
    security = config.get("SMTP_SECURITY", "starttls")  # starttls | tls | none
    timeout = float(config.get("SMTP_TIMEOUT", 30))
    try:
        if security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
            if security == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            connection.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
    except smtplib.SMTPResponseException as error:
        raise TemporaryFailure(f"{error.smtp_code} {error.smtp_error!r}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise TemporaryFailure(f"cannot connect to {host}:{port}: {error}") from None
    try:
        yield SmtpTransport(connection)
    finally:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def claim_batch(now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due rows for this sender and commit the claim. A message still
    in its undo window (``held_until`` after ``now``) is not due, whatever its next attempt."""
    due = or_(
        OutboxMessage.status == OutboxStatus.pending,
        OutboxMessage.status == OutboxStatus.sending,  # a lease that ran out: its sender died
    )
    not_held = or_(OutboxMessage.held_until.is_(None), OutboxMessage.held_until <= now)
    query = (
        select(OutboxMessage)
        .where(due, not_held, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(query))
    for row in rows:
        row.status = OutboxStatus.sending
        row.attempts += 1
        row.next_attempt_at = now + LEASE
    db.session.commit()
    return [row.id for row in rows]


def _record(row: OutboxMessage, outcome: str, now: datetime, error: str | None = None) -> None:
    """Save one message's outcome and commit at once (a crash then repeats at most it).

    ``row`` is detached (see ``_load_claimed``): it is updated in place for the caller, and
    the database with one UPDATE, so no commit makes the batch's rows load again.
    """
    if outcome == "sent":
        values = {"status": OutboxStatus.sent, "sent_at": now, "last_error": None}
    elif outcome == "expired":
        values = {"status": OutboxStatus.expired, "last_error": error}
    elif outcome == "retry" and row.attempts < MAX_ATTEMPTS:
        values = {
            "status": OutboxStatus.pending,
            "last_error": error,
            "next_attempt_at": now + backoff(row.attempts),
        }
    else:
        values = {"status": OutboxStatus.failed, "last_error": error}
    for name, value in values.items():
        setattr(row, name, value)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
    db.session.commit()


def _load_claimed(ids: list[int]) -> list[OutboxMessage]:
    """The claimed rows in claim order, with one query, detached from the session."""
    rows = {
        row.id: row
        for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    }
    for row in rows.values():
        db.session.expunge(row)
    return [rows[row_id] for row_id in ids]


def deliver_pending(limit: int = 200, now: datetime | None = None) -> DeliveryReport:
    """Send one batch of due messages. Safe to run from several processes at once."""
    now = now or utcnow()
    report = DeliveryReport()
    ids = claim_batch(now, limit)
    if not ids:
        return report
    config = current_app.config
    rows = _load_claimed(ids)
    try:
        with open_transport(config) as transport:
            for row in rows:
                if row.expires_at is not None and row.expires_at <= utcnow():
                    _record(row, "expired", utcnow(), "expired before it could be sent")
                    report.expired += 1
                    continue
                try:
                    transport.send(build_email(row, config))
                except PermanentFailure as error:
                    _record(row, "failed", utcnow(), str(error))
                    report.failed += 1
                    log.warning("message %s failed for good: %s", row.id, error)
                except TemporaryFailure as error:
                    _record(row, "retry", utcnow(), str(error))
                    report.retried += 1
                    report.errors.append(str(error))
                else:
                    _record(row, "sent", utcnow())
                    report.sent += 1
    except TemporaryFailure as error:  # no connection at all: the whole batch waits
        for row in rows:
            if row.status == OutboxStatus.sending:
                _record(row, "retry", utcnow(), str(error))
                report.retried += 1
        report.errors.append(str(error))
        log.warning("mail server unavailable, %d messages will be retried: %s", len(ids), error)
    log.info(
        "mail batch: %d sent, %d retried, %d failed, %d expired",
        report.sent,
        report.retried,
        report.failed,
        report.expired,
    )
    return report
