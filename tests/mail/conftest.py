"""Mail fixtures: a real SMTP server on loopback (aiosmtpd) and the app pointed at it.

The server records every message it accepts, with the connection it came over, and can be
told to refuse some recipients (5xx), defer them (4xx) or answer DATA with a given reply.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from remote_groups.calendar.ics import Feed, FeedEvent, build_calendar
from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.queue import RenderedMessage, enqueue


def free_port() -> int:
    """A loopback port nobody listens on (aiosmtpd 1.4 cannot start on port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Received:
    peer: tuple[str, int]  # the client's address: one per SMTP connection
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


@dataclass
class RecordingHandler:
    refuse: dict[str, str] = field(default_factory=dict)  # address -> RCPT reply
    data_reply: str | None = None  # e.g. "451 4.3.0 try again" for every DATA
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.received.append(
                Received(
                    tuple(session.peer[:2]),
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                )
            )
        return "250 OK"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be started and stopped on a fixed port."""

    def __init__(self, port: int | None = None, smtputf8: bool = False):
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.smtputf8 = smtputf8
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=self.smtputf8,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def message_ids(self) -> Counter[str]:
        return Counter(r.message_id for r in self.received)

    def only_message(self) -> EmailMessage:
        received = self.received
        assert len(received) == 1, f"one message, got {len(received)}"
        return received[0].message


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def use_smtp(app: Flask, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Send this test's mail over plain SMTP to 127.0.0.1:port (the app is shared)."""
    for key, value in {
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": 5,
    }.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def smtp(app: Flask, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    """A running SMTP server that the app sends to."""
    use_smtp(app, monkeypatch, smtp_server.port)
    return smtp_server


def plain(subject: str = "Muistutus", text: str = "Hei!\n") -> RenderedMessage:
    return RenderedMessage(subject, text)


def queue(
    count: int = 1,
    *,
    kind: str = "subscription_confirm",
    recipient: str = "person{}@example.org",
    language: str = "fi",
    **options: object,
) -> list[int]:
    """Enqueue ``count`` plain messages and commit; the ids of the rows."""
    rows = [
        enqueue(
            kind=kind,
            key=str(n),
            recipient=recipient.format(n),
            language=language,
            message=plain(f"Viesti {n}", f"Viestin {n} teksti.\n"),
            **options,
        )
        for n in range(count)
    ]
    db.session.commit()
    return [row.id for row in rows]


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def invitation(uid: str, sequence: int, method: str, starts_at: datetime) -> str:
    """An iCalendar text with one event, as the feed builder writes invitations."""
    event = FeedEvent(
        uid=uid,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        summary="Testiryhmä",
        description="Tervetuloa",
        meeting_url="https://meet.example.org/test",
        last_modified=starts_at - timedelta(days=7),
        sequence=sequence,
        cancelled=method == "CANCEL",
    )
    feed = Feed(
        name="Testiryhmä", events=(event,), dtstamp=starts_at - timedelta(days=7), method=method
    )
    return build_calendar(feed).decode("utf-8")
