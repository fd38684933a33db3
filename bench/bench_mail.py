"""Outbox delivery rate: 10,000 queued messages to a local SMTP server.

An aiosmtpd server listens on a free loopback port, in a process of its own as a real mail
server would be, and counts what it accepts. A fresh SQLite database in a temporary directory
gets the migrations and 10,000 messages queued with ``enqueue`` in one transaction. Then,
against the same server and in the same run:

* the outbox path: ``deliver_pending(limit=2_000)`` five times, i.e. claim a batch, build each
  message from its row, send the batch over one SMTP connection and record each outcome;
* the reference: a bare ``smtplib`` loop over one connection that builds 10,000 equivalent
  ``EmailMessage`` objects (same headers, same body) and sends them.

The two take turns in five rounds of 2,000 messages (which one goes first alternates), so a
busy machine slows both alike and the ratio stays meaningful.

``python -m bench.bench_mail --serve PORT`` is the server: it prints ``ready``, counts what it
receives until its standard input closes, then prints the Message-ID counts as JSON.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 10_000
ROUNDS = 5
TARGET_RATIO = 0.5
SUBJECT = "Muistutus: Avoin etäryhmä torstaina 5.3.2026 klo 13.00"
BODY = (
    "Hei,\n\nRyhmä Avoin etäryhmä kokoontuu pian:\n"
    "torstai 5. maaliskuuta 2026 13.00–14.00\n\n"
    "Liity tällä kokouslinkillä:\nhttps://meet.example.org/avoin\n\n"
    "Saat nämä muistutukset, koska tilasit ne. Voit lopettaa ne täällä:\n"
    "{url}\n"
)
BASE = "http://127.0.0.1:5000"
OUTBOX_ID = b"Message-ID: <outbox-"


# --- the server process ---------------------------------------------------------------------


class CountingHandler:
    """Keeps the Message-ID of every accepted message (cut from the bytes, cheaply)."""

    def __init__(self) -> None:
        self.message_ids: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content: bytes = envelope.original_content or envelope.content
        start = content.find(b"Message-ID: ")
        self.message_ids.append(content[start : content.find(b"\r\n", start)])
        return "250 OK"


def serve(port: int) -> None:
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    outbox = Counter(i for i in handler.message_ids if i.startswith(OUTBOX_ID))
    counts = {"received": len(handler.message_ids), "outbox": outbox.total()}
    counts["outbox_distinct"] = len(outbox)
    print(json.dumps(counts), flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_mail", "--serve", str(port)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if server.stdout.readline().strip() != "ready":
        server.kill()
        raise RuntimeError("the SMTP server process did not start")
    return server


def stop_server(server: subprocess.Popen[str]) -> dict[str, int]:
    output, _ = server.communicate(input="", timeout=60)
    return json.loads(output.strip().splitlines()[-1])


# --- the senders ----------------------------------------------------------------------------


def unsubscribe_url(n: int) -> str:
    return f"{BASE}/subscriptions/{n:032x}/unsubscribe"


def make_app(directory: str, port: int):
    from remote_groups import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(directory) / 'bench.sqlite'}",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0000",
            "BASE_URL": BASE,
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_SECURITY": "none",
            "MAIL_DIR": str(Path(directory) / "mail"),
        }
    )


def queue_messages(app) -> float:
    """Migrate, then queue MESSAGES reminders in one transaction; the seconds it took."""
    from flask_migrate import upgrade
    from sqlalchemy import false, update

    from remote_groups.extensions import db
    from remote_groups.outbox.models import OutboxMessage
    from remote_groups.outbox.queue import RenderedMessage, enqueue

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        started = time.perf_counter()
        # pysqlite opens a transaction only before a data-changing statement, and enqueue's
        # SAVEPOINT is not one: without this no-op UPDATE, every enqueue's RELEASE SAVEPOINT
        # would commit on its own (and wait for the disk) instead of joining one transaction.
        db.session.execute(update(OutboxMessage).where(false()).values(attempts=0))
        for n in range(MESSAGES):
            enqueue(
                kind="reminder",
                key=f"bench:{n}",
                recipient=f"person{n}@example.org",
                language="fi",
                message=RenderedMessage(SUBJECT, BODY.format(url=unsubscribe_url(n))),
                unsubscribe_url=unsubscribe_url(n),
            )
        db.session.commit()
        return time.perf_counter() - started


def outbox_batch(app, limit: int) -> tuple[float, int]:
    """One sender run (as the scheduler makes it): its seconds and the messages it sent."""
    from remote_groups.extensions import db
    from remote_groups.outbox.sender import deliver_pending

    with app.app_context(), app.test_request_context(base_url=BASE):
        started = time.perf_counter()
        report = deliver_pending(limit=limit)
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, report.sent


def bare_chunk(connection: smtplib.SMTP, mail_from: str, numbers: range) -> float:
    """Build and send the equivalent messages over an open connection; the seconds it took."""
    started = time.perf_counter()
    date = format_datetime(datetime.now(UTC))
    for n in numbers:
        message = EmailMessage()
        message["Subject"] = SUBJECT
        message["From"] = formataddr(("", mail_from))
        message["To"] = f"person{n}@example.org"
        message["Date"] = date
        message["Message-ID"] = f"<bare-{n}@127.0.0.1>"
        message["Auto-Submitted"] = "auto-generated"
        message["List-Unsubscribe"] = f"<{unsubscribe_url(n)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(BODY.format(url=unsubscribe_url(n)))
        connection.send_message(message)
    return time.perf_counter() - started


def run() -> list[dict]:
    port = free_port()
    server = start_server(port)
    quiet = logging.getLogger("remote_groups")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # an INFO line per queued message would be timed too
    per_round = MESSAGES // ROUNDS
    outbox_seconds = bare_seconds = 0.0
    sent = 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as directory:
            app = make_app(directory, port)
            enqueue_seconds = queue_messages(app)
            bare = smtplib.SMTP("127.0.0.1", port, timeout=30)
            try:
                for turn in range(ROUNDS):
                    numbers = range(turn * per_round, (turn + 1) * per_round)
                    if turn % 2:
                        bare_seconds += bare_chunk(bare, app.config["MAIL_FROM"], numbers)
                    seconds, batch_sent = outbox_batch(app, per_round)
                    outbox_seconds, sent = outbox_seconds + seconds, sent + batch_sent
                    if not turn % 2:
                        bare_seconds += bare_chunk(bare, app.config["MAIL_FROM"], numbers)
            finally:
                bare.quit()
    finally:
        quiet.setLevel(level)
        counts = stop_server(server)

    each_once = sent == counts["outbox"] == counts["outbox_distinct"] == MESSAGES
    outbox_rate, bare_rate = MESSAGES / outbox_seconds, MESSAGES / bare_seconds
    ratio = outbox_rate / bare_rate
    return [
        {
            "figure": "mail: queue 10,000 messages with enqueue, one transaction",
            "value": MESSAGES / enqueue_seconds,
            "unit": "messages/s",
            "target": "—",
            "ok": None,
        },
        {
            "figure": "mail: outbox delivery of 10,000 queued messages to local aiosmtpd",
            "value": outbox_rate,
            "unit": "messages/s",
            "target": "—",
            "ok": None,
        },
        {
            "figure": "mail: bare smtplib loop, one connection, same server, same run",
            "value": bare_rate,
            "unit": "messages/s",
            "target": "—",
            "ok": None,
        },
        {
            "figure": "mail: outbox delivery rate / bare smtplib loop",
            "value": ratio,
            "unit": "ratio",
            "target": f">= {TARGET_RATIO}",
            "ok": ratio >= TARGET_RATIO,
        },
        {
            "figure": "mail: outbox messages the server received, each once",
            "value": counts["outbox_distinct"],
            "unit": "messages",
            "target": f"= {MESSAGES:,}",
            "ok": each_once,
        },
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        for row in run():
            print(row)
