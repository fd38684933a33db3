"""A scheduler killed in the middle of a sweep loses no due reminder and sends none twice.

The sweep (`flask --app remote_groups mail sweep`, and the scheduler's minute job alike)
queues everything that is due in one transaction, committed once at the end. Killed before
that commit, it leaves nothing in the outbox, and the next sweep queues it all; the
idempotency key (kind, session, offset, sequence, recipient) keeps any sweep from queuing a
message twice. Reminders for a session that has started are neither queued nor sent.

An open group has 60 confirmed subscribers and five sessions starting within the next
24 hours (its reminder offset), so one sweep queues 300 reminders. The sweep runs as its own
process on the test database and is killed with SIGKILL once its log shows it queuing.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session as DatabaseSession

from remote_groups.extensions import db
from remote_groups.groups.models import Session
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.subscriptions.models import Subscription
from remote_groups.types import utcnow
from tests.conftest import make_group, make_region
from tests.fault.conftest import TIMEOUT, flask_env, run_flask, start_flask, wait_for
from tests.mail.conftest import SmtpServer

pytestmark = [pytest.mark.fault, pytest.mark.real_clock]

REGIONS = ("lansi-uusimaa", "siun-sote", "varha")
SUBSCRIBERS = 60
KILL_AFTER = 50  # reminders the killed sweep has queued (uncommitted) when it is killed
QUEUED_LINE = "queued reminder message"

Reminder = tuple[int, str]  # (session id, recipient)


@dataclass
class Due:
    """Sessions (ids in starting order) and their start times; the subscribers' addresses."""

    sessions: list[int]
    starts: dict[int, datetime]
    addresses: list[str]

    def reminders(self, sessions: list[int] | None = None) -> set[Reminder]:
        return {
            (session, address)
            for session in (self.sessions if sessions is None else sessions)
            for address in self.addresses
        }


def make_due(starts: list[datetime], subscribers: int = SUBSCRIBERS) -> Due:
    """An open group whose own weekly sessions begin in two weeks, with extra sessions at
    ``starts`` and ``subscribers`` confirmed subscribers (fi and sv). Committed."""
    regions = [make_region(slug) for slug in REGIONS]
    db.session.flush()
    today = utcnow().date()
    group = make_group(
        regions,
        now=utcnow(),
        slug="avoin",
        term_start=today + timedelta(days=14),
        term_end=today + timedelta(days=60),
    )
    sessions = [
        Session(
            group=group,
            occurrence_date=date(2020, 1, 1) + timedelta(days=n),
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            host_region=regions[0],
        )
        for n, start in enumerate(starts)
    ]
    addresses = [f"tilaaja{n}@example.org" for n in range(subscribers)]
    db.session.add_all(sessions)
    db.session.add_all(
        Subscription(
            group=group, email=address, language=("fi", "sv")[n % 2], confirmed_at=utcnow()
        )
        for n, address in enumerate(addresses)
    )
    db.session.commit()
    return Due([s.id for s in sessions], {s.id: s.starts_at for s in sessions}, addresses)


def due_within_a_day() -> Due:
    now = utcnow()
    return make_due([now + timedelta(hours=hours) for hours in (1, 3, 5, 7, 9)])


def outbox() -> list[OutboxMessage]:
    """The outbox as committed now, by this process or another. Read in a session of its
    own, so no transaction stays open here (on SQLite it would keep an old snapshot)."""
    with DatabaseSession(db.engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def reminder_of(row: OutboxMessage) -> Reminder:
    """The session and recipient of a reminder, from its key reminder:SESSION:HOURS:SEQ:TO."""
    kind, session, _hours, _sequence, recipient = row.idempotency_key.split(":", 4)
    assert kind == "reminder"
    return int(session), recipient


def queued_reminders() -> Counter[Reminder]:
    return Counter(reminder_of(row) for row in outbox() if row.kind == "reminder")


def received_reminders(server: SmtpServer) -> Counter[Reminder]:
    """What the mail server received: the session (by Message-ID) and the envelope recipient."""
    session_of = {row.message_id: reminder_of(row)[0] for row in outbox()}
    return Counter((session_of[r.message_id], *r.rcpt_tos) for r in server.received)


def kill_a_sweep_midway(app: Flask, log_path: Path) -> int:
    """Start `flask mail sweep`, SIGKILL it once it has queued KILL_AFTER reminders; how many
    it had queued when it died."""
    with log_path.open("w") as log:
        process = start_flask(flask_env(app), log, "mail", "sweep")
    try:
        wait_for(
            lambda: log_path.read_text().count(QUEUED_LINE) >= KILL_AFTER,
            f"the sweep to queue {KILL_AFTER} reminders",
            process,
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=TIMEOUT)
    output = log_path.read_text()
    assert process.returncode == -signal.SIGKILL, output
    assert "Queued" not in output, "the sweep had finished before it was killed"
    return output.count(QUEUED_LINE)


def sweep_again(app: Flask) -> str:
    """Run `flask mail sweep` once it gets the sweep lock (on PostgreSQL the killed sweep's
    connection may hold it a moment longer); its output."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        result = run_flask(flask_env(app), "mail", "sweep")
        assert result.returncode == 0, result.stderr
        if "Another sweep is running" not in result.stdout:
            return result.stdout
        assert time.monotonic() < deadline, "the killed sweep's lock was never released"


def sweep_in_process_at(now: datetime) -> None:
    """The sweep at a given time, in this process, once it gets the sweep lock."""
    deadline = time.monotonic() + TIMEOUT
    while not sweep(now).ran:
        db.session.rollback()
        assert time.monotonic() < deadline, "the killed sweep's lock was never released"
        time.sleep(0.05)
    db.session.commit()


def test_a_sweep_killed_midway_leaves_nothing_in_the_outbox(app, ctx, tmp_path):
    due = due_within_a_day()

    queued_when_killed = kill_a_sweep_midway(app, tmp_path / "sweep.log")

    assert KILL_AFTER <= queued_when_killed < len(due.reminders())
    assert outbox() == []


def test_the_sweep_after_a_crash_queues_every_due_reminder_exactly_once(app, ctx, tmp_path):
    due = due_within_a_day()
    kill_a_sweep_midway(app, tmp_path / "sweep.log")

    output = sweep_again(app)

    assert queued_reminders() == Counter(dict.fromkeys(due.reminders(), 1))
    assert f"Queued {len(due.reminders())} messages." in output


def test_after_a_crash_each_subscriber_receives_each_reminder_exactly_once(app, ctx, tmp_path):
    due = due_within_a_day()
    kill_a_sweep_midway(app, tmp_path / "sweep.log")
    sweep_again(app)
    server = SmtpServer().start()
    try:
        result = run_flask(flask_env(app, smtp_port=server.port), "mail", "deliver", "--limit=1000")
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    assert received_reminders(server) == Counter(dict.fromkeys(due.reminders(), 1))
    assert {row.status for row in outbox()} == {OutboxStatus.sent}


def test_the_sweep_catching_up_after_a_session_started_queues_no_reminder_for_it(
    app, ctx, tmp_path
):
    due = due_within_a_day()
    first, *later = due.sessions
    kill_a_sweep_midway(app, tmp_path / "sweep.log")

    sweep_in_process_at(due.starts[first] + timedelta(minutes=1))

    assert queued_reminders() == Counter(dict.fromkeys(due.reminders(later), 1))


def test_a_reminder_left_pending_by_a_crash_is_not_sent_after_its_session_started(app, ctx):
    now = utcnow()
    due = make_due([now - timedelta(minutes=10), now + timedelta(hours=3)], subscribers=20)
    started, upcoming = due.sessions
    sweep_in_process_at(due.starts[started] - timedelta(hours=1))  # the sweep ran in time …
    assert queued_reminders() == Counter(dict.fromkeys(due.reminders(), 1))
    server = SmtpServer().start()  # … the scheduler died before delivering, and restarts now
    try:
        env = flask_env(app, smtp_port=server.port)
        swept = run_flask(env, "mail", "sweep")
        delivered = run_flask(env, "mail", "deliver")
    finally:
        server.stop()

    assert (swept.returncode, delivered.returncode) == (0, 0), swept.stderr + delivered.stderr
    assert "Queued 0 messages." in swept.stdout
    assert received_reminders(server) == Counter(dict.fromkeys(due.reminders([upcoming]), 1))
    statuses = {reminder_of(row): row.status for row in outbox()}
    assert {statuses[reminder] for reminder in due.reminders([started])} == {OutboxStatus.expired}
