"""An SMTP outage only delays mail: nothing is lost, nothing fails for good, nothing is sent
twice once the server is back.

Thirty application receipts are queued by the real application service. `flask mail deliver`
runs as its own process against a real aiosmtpd server on loopback that is stopped (the port
refuses connections), or that dies in the middle of a batch. The server is then started again
on the same port and the sender delivers once the backoff has passed (given as the sender's
``now``, instead of waiting a minute).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from remote_groups.applications.service.applying import ApplicationInput, submit_application
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import FIRST_RETRY, deliver_pending
from remote_groups.types import utcnow
from tests.conftest import NOW, make_group, make_region
from tests.fault.conftest import TIMEOUT, flask_env, run_flask, start_flask, wait_for
from tests.mail.conftest import RecordingHandler, SmtpServer, use_smtp

pytestmark = [pytest.mark.fault, pytest.mark.real_clock]

MESSAGES = 30
REGIONS = ("lansi-uusimaa", "siun-sote", "varha")


def queue_receipts(count: int = MESSAGES) -> list[int]:
    """``count`` people apply to a closed course; each application queues a receipt."""
    regions = [make_region(slug) for slug in REGIONS]
    db.session.flush()
    course = make_group(
        regions,
        slug="kurssi",
        kind=GroupKind.closed,
        capacity=10,
        application_opens=NOW.date() - timedelta(days=1),
        application_closes=NOW.date() + timedelta(days=10),
    )
    for n in range(count):
        applicant = ApplicationInput(
            name=f"Hakija {n}",
            email=f"hakija{n}@example.org",
            phone=None,
            home_region=REGIONS[n % 3],
            language=("fi", "sv")[n % 2],
            needs=None,
            motivation="Haluan mukaan.",
        )
        submit_application(course, applicant, now=NOW)
    db.session.commit()
    ids = [row.id for row in outbox()]
    assert len(ids) == count, "one receipt per application"
    return ids


def outbox() -> list[OutboxMessage]:
    """The outbox as committed now, by this process or another. Read in a session of its
    own, so no transaction stays open here (on SQLite it would keep an old snapshot)."""
    with Session(db.engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def message_ids(ids: list[int]) -> list[str]:
    """The Message-IDs of these outbox rows, in the order of ``ids``."""
    by_id = {row.id: row.message_id for row in outbox()}
    return [by_id[row_id] for row_id in ids]


def after_backoff() -> timedelta:
    return FIRST_RETRY + timedelta(seconds=1)


@pytest.fixture
def stopped_server() -> Iterator[SmtpServer]:
    """A mail server that was running and has stopped: its port refuses connections."""
    server = SmtpServer().start()
    server.stop()
    yield server
    server.stop()


@pytest.fixture
def deliver_env(app: Flask, stopped_server: SmtpServer, monkeypatch) -> dict[str, str]:
    """Both the `flask mail deliver` processes and this process send to the server's port."""
    use_smtp(app, monkeypatch, stopped_server.port)
    return flask_env(app, smtp_port=stopped_server.port)


def test_the_deliver_command_runs_through_an_smtp_outage_and_reports_the_retries(
    app, ctx, deliver_env
):
    queue_receipts()

    result = run_flask(deliver_env, "mail", "deliver")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Sent 0, retry later {MESSAGES}, failed 0, expired 0." in result.stdout
    assert "mail server unavailable" in result.stderr


def test_an_smtp_outage_keeps_every_message_pending_for_a_later_attempt(app, ctx, deliver_env):
    ids = queue_receipts()
    before = utcnow()

    run_flask(deliver_env, "mail", "deliver")

    rows = outbox()
    assert [row.id for row in rows] == ids
    for row in rows:
        assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.pending, 1, None)
        assert row.next_attempt_at >= before + FIRST_RETRY
        assert "cannot connect" in row.last_error


def test_mail_held_back_by_an_outage_is_delivered_exactly_once_after_the_server_restarts(
    app, ctx, deliver_env, stopped_server
):
    ids = queue_receipts()
    down = run_flask(deliver_env, "mail", "deliver")
    assert down.returncode == 0, down.stderr

    stopped_server.start()  # the same port as before
    report = deliver_pending(now=utcnow() + after_backoff())

    assert report.sent == MESSAGES
    assert stopped_server.message_ids() == Counter(dict.fromkeys(message_ids(ids), 1))
    assert {(row.status, row.attempts) for row in outbox()} == {(OutboxStatus.sent, 2)}


@dataclass
class DyingHandler(RecordingHandler):
    """Accepts ``survive`` messages, then drops the connection in the middle of the next
    one's DATA (the server process died): before taking that message in, or, with
    ``took_the_last``, after taking it in but before answering."""

    survive: int | None = None
    took_the_last: bool = False
    died: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.survive is None or len(self.received) < self.survive:
            return await super().handle_DATA(server, session, envelope)
        self.died.set()
        if self.took_the_last:
            await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "421 4.3.0 never heard: the connection is gone"


def deliver_until_the_server_dies(
    server: SmtpServer, handler: DyingHandler, env: dict[str, str], log_path: Path
) -> None:
    """`flask mail deliver` in its own process; the server stops listening once it died."""
    server.handler = handler
    server.start()
    with log_path.open("w") as log:
        process = start_flask(env, log, "mail", "deliver")
    try:
        wait_for(lambda: handler.died.is_set(), "the server to die", process)
        server.stop()
        assert process.wait(timeout=TIMEOUT) == 0, log_path.read_text()
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT)


def test_a_server_that_dies_mid_batch_gets_the_rest_after_restart_and_none_twice(
    app, ctx, deliver_env, stopped_server, tmp_path
):
    survive = 12
    ids = queue_receipts()
    handler = DyingHandler(survive=survive)
    deliver_until_the_server_dies(stopped_server, handler, deliver_env, tmp_path / "deliver.log")
    statuses = Counter((row.status, row.attempts) for row in outbox())
    assert statuses == {
        (OutboxStatus.sent, 1): survive,
        (OutboxStatus.pending, 1): MESSAGES - survive,
    }

    handler.survive = None
    stopped_server.start()
    report = deliver_pending(now=utcnow() + after_backoff())

    assert report.sent == MESSAGES - survive
    assert stopped_server.message_ids() == Counter(dict.fromkeys(message_ids(ids), 1))
    assert {row.status for row in outbox()} == {OutboxStatus.sent}


def test_a_message_the_server_took_but_never_confirmed_is_sent_once_more_with_its_message_id(
    app, ctx, deliver_env, stopped_server, tmp_path
):
    """The limit SMTP sets: a sender that heard no answer cannot know the message arrived,
    so that one message comes twice, with the same Message-ID for mail programs to merge."""
    survive = 12
    ids = queue_receipts()
    handler = DyingHandler(survive=survive, took_the_last=True)
    deliver_until_the_server_dies(stopped_server, handler, deliver_env, tmp_path / "deliver.log")

    handler.survive = None
    stopped_server.start()
    deliver_pending(now=utcnow() + after_backoff())

    expected = Counter(dict.fromkeys(message_ids(ids), 1))
    expected[message_ids(ids)[survive]] = 2
    assert stopped_server.message_ids() == expected
