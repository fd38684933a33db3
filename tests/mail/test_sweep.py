"""The reminder sweep: what is due goes into the outbox once, to the right people.

A closed course has two accepted participants (fi, sv), one still waiting for a decision,
and a session with a lead facilitator (sv) and a co-facilitator. ``sweep(now)`` is called with
times relative to that session's start. The course is set up at ``NOW`` (June 2026) for the
first half of 2027; tests about the sweep's "now" add sessions around the frozen clock, some at
instants where that now crosses a clock change, a new year or a leap day (``CROSSINGS``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from remote_groups.applications.models import ApplicationStatus
from remote_groups.applications.service.applying import ApplicationInput, submit_application
from remote_groups.applications.service.reviewing import decide
from remote_groups.applications.service.sending import send_decisions
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup, Session, SessionStatus
from remote_groups.groups.schedule import local_datetime
from remote_groups.groups.service import cancel_session, move_session
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import Role, User
from remote_groups.rotation.service import assign_facilitators
from remote_groups.scheduler import _sweep_and_deliver, make_scheduler, run_job
from remote_groups.types import utcnow
from tests.conftest import CROSSINGS, HELSINKI, NOW, make_group, make_region, make_user

REGIONS = ("lansi-uusimaa", "siun-sote", "varha")
PARTICIPANTS = {"aino@example.org": "fi", "bertil@example.org": "sv"}
EVERYONE = {"aino@example.org", "bertil@example.org", "lead@example.org", "co@example.org"}

HOUR = timedelta(hours=1)


@dataclass
class Course:
    group: RemoteGroup
    session: Session
    lead: User
    co: User


def build_course(now: datetime = NOW) -> Course:
    """A closed course in 2027: two accepted participants, one undecided, two facilitators
    on its first session. Committed."""
    regions = [make_region(slug) for slug in REGIONS]
    db.session.flush()
    coordinator = make_user("coord@lu.example.org", Role.coordinator, regions[0])
    group = make_group(
        regions,
        now=now,
        slug="kurssi",
        kind=GroupKind.closed,
        capacity=5,
        application_opens=now.date() - timedelta(days=1),
        application_closes=now.date() + timedelta(days=10),
    )
    applications = []
    for email, language in [*PARTICIPANTS.items(), ("carl@example.org", "fi")]:
        data = ApplicationInput(
            name=email.split("@")[0].title(),
            email=email,
            phone=None,
            home_region=REGIONS[0],
            language=language,
            needs=None,
            motivation="Haluan mukaan.",
        )
        applications.append(submit_application(group, data, now=now - 6 * HOUR))
    decide(applications[:2], ApplicationStatus.accepted, by=coordinator, now=now - 5 * HOUR)
    send_decisions(group, now=now - 5 * HOUR)  # told hours ago: their mail went out
    session = next(s for s in group.sessions if s.status == SessionStatus.scheduled)
    lead = make_user("lead@example.org", Role.facilitator, session.host_region, language="sv")
    co = make_user("co@example.org", Role.facilitator, regions[1])
    db.session.flush()
    assign_facilitators(session, lead, [co], now=now)
    db.session.commit()
    return Course(group, session, lead, co)


def add_session(course: Course, starts_at: datetime) -> Session:
    """A session of the course at any time (e.g. around the frozen clock), same facilitators,
    on a schedule slot of its own."""
    session = Session(
        group=course.group,
        occurrence_date=date(2020, 1, 1) + timedelta(days=len(course.group.sessions)),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        host_region=course.session.host_region,
        lead_facilitator=course.lead,
        co_facilitators=[course.co],
    )
    db.session.add(session)
    db.session.commit()
    return session


def outbox(kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def recipients(kind: str) -> list[str]:
    return sorted(row.recipient for row in outbox(kind))


def swept(now: datetime) -> int:
    report = sweep(now)
    db.session.commit()
    assert report.ran
    return report.queued


# --- who gets a reminder, and when ----------------------------------------------------------


def test_a_session_within_24_hours_reminds_each_participant_and_facilitator_once(app, ctx):
    course = build_course()
    start = course.session.starts_at

    swept(start - timedelta(hours=23))

    assert recipients("reminder") == sorted(EVERYONE)
    languages = {row.recipient: row.language for row in outbox("reminder")}
    assert languages == {
        "aino@example.org": "fi",
        "bertil@example.org": "sv",
        "lead@example.org": "sv",
        "co@example.org": "fi",
    }
    assert all(row.expires_at == start for row in outbox("reminder"))


def test_no_reminder_is_queued_before_the_offset(app, ctx):
    course = build_course()

    swept(course.session.starts_at - timedelta(hours=25))

    assert recipients("reminder") == []


def test_a_reminder_is_written_in_the_recipients_language_with_the_meeting_link(app, ctx):
    course = build_course()

    swept(course.session.starts_at - timedelta(hours=23))

    by_recipient = {row.recipient: row for row in outbox("reminder")}
    finnish, swedish = by_recipient["aino@example.org"], by_recipient["bertil@example.org"]
    assert finnish.subject.startswith("Muistutus: Testiryhmä")
    assert "Ryhmä Testiryhmä kokoontuu pian:" in finnish.text_body
    assert swedish.subject.startswith("Påminnelse: Testgrupp")
    assert "Gruppen Testgrupp träffas snart:" in swedish.text_body
    for row in by_recipient.values():
        assert "https://meet.example.org/test" in row.text_body
        assert row.unsubscribe_url is None  # participants and staff did not subscribe
    assert "/staff/my-turns" not in finnish.text_body
    assert "/staff/my-turns" in by_recipient["co@example.org"].text_body


def test_running_the_sweep_twice_queues_and_sends_once(app, ctx, smtp):
    course = build_course()
    now = course.session.starts_at - timedelta(hours=23)

    first = swept(now)
    deliver_pending()
    second = swept(now + timedelta(minutes=1))
    deliver_pending()

    assert first >= len(EVERYONE) + 1  # the reminders and the lead's turn notice
    assert second == 0
    assert len(outbox("reminder")) == len(EVERYONE)
    reminders = [m for m in smtp.messages() if m["Subject"].startswith(("Muistutus", "Påmin"))]
    assert sorted(m["To"] for m in reminders) == sorted(EVERYONE)


def test_a_moved_session_is_reminded_again_under_a_new_key(app, ctx):
    course = build_course()
    session = course.session
    swept(session.starts_at - timedelta(hours=23))
    old_keys = {row.idempotency_key for row in outbox("reminder")}
    assert all(f"reminder:{session.id}:24:0:" in key for key in old_keys)

    moved_to = session.starts_at + timedelta(hours=2)
    local = moved_to.astimezone(course.group.zone)
    move_session(
        session,
        local.date(),
        local.time(),
        60,
        topic=None,
        locked=False,
        reason="Ohjaaja sairastui",
        now=NOW,
    )
    db.session.commit()
    assert session.sequence == 1
    swept(moved_to - timedelta(hours=23))

    new_keys = {row.idempotency_key for row in outbox("reminder")} - old_keys
    assert len(new_keys) == len(EVERYONE)
    assert all(f"reminder:{session.id}:24:1:" in key for key in new_keys)
    assert all(
        row.expires_at == moved_to for row in outbox("reminder") if row.idempotency_key in new_keys
    )


def test_a_cancelled_session_gets_no_reminder(app, ctx):
    course = build_course()
    cancel_session(course.session, "Ohjaaja sairastui", now=NOW)
    db.session.commit()

    swept(course.session.starts_at - timedelta(hours=23))

    assert outbox("reminder") == []
    assert outbox("turn_next_week") == []


def test_a_reminder_queued_before_the_session_was_cancelled_is_not_sent(app, ctx, smtp, now):
    course = build_course()
    session = add_session(course, now + timedelta(hours=12))
    swept(utcnow())  # queued; the mail server is down, say, so nothing is sent yet
    cancel_session(session, "Ohjaaja sairastui")
    db.session.commit()

    deliver_pending()

    reminders = [m for m in smtp.messages() if m["Subject"].startswith(("Muistutus", "Påmin"))]
    assert reminders == []


@pytest.mark.parametrize("change", ["cancel", "move"])
def test_a_changed_sessions_waiting_reminders_and_turn_notice_are_withdrawn_not_others(
    app, ctx, now, change
):
    """Withdrawn by the typed columns (kind, session), not by key prefixes: the lead's turn
    notice goes with the reminders, and the notices of another session stay."""
    course = build_course()
    session = add_session(course, now + timedelta(hours=12))
    other = add_session(course, now + timedelta(hours=13))
    swept(utcnow())
    waiting = outbox("reminder") + outbox("turn_next_week")
    assert {m.session_id for m in waiting} == {session.id, other.id}
    assert {m.kind for m in waiting if m.session_id == session.id} == {
        "reminder",
        "turn_next_week",
    }
    if change == "cancel":
        cancel_session(session, "Ohjaaja sairastui")
    else:
        local = (session.starts_at + timedelta(hours=2)).astimezone(course.group.zone)
        move_session(
            session, local.date(), local.time(), 60, topic=None, locked=False, reason="Uusi aika"
        )
    db.session.commit()
    after = outbox("reminder") + outbox("turn_next_week")
    withdrawn = [m for m in after if m.session_id == session.id]
    kept = [m for m in after if m.session_id == other.id]
    assert withdrawn and {m.status for m in withdrawn} == {OutboxStatus.expired}
    assert {m.last_error for m in withdrawn} == {"the session changed"}
    assert kept and {m.status for m in kept} == {OutboxStatus.pending}


def test_a_reminder_delivered_after_its_session_started_expires_unsent(app, ctx, smtp, now):
    course = build_course()
    session = add_session(course, now - timedelta(minutes=30))
    swept(session.starts_at - timedelta(hours=2))  # the sweep ran in time …
    assert len(outbox("reminder")) == len(EVERYONE)

    report = deliver_pending()  # … but the mail went out only after the session started

    assert report.expired >= len(EVERYONE) + 1  # with the lead's turn notice
    assert {row.status for row in outbox("reminder")} == {OutboxStatus.expired}
    assert {row.status for row in outbox("turn_next_week")} == {OutboxStatus.expired}
    assert [m for m in smtp.messages() if m["Subject"].startswith(("Muist", "Påmin"))] == []


def test_the_lead_facilitator_hears_about_their_turn_a_week_ahead_once(app, ctx):
    course = build_course()
    start = course.session.starts_at

    swept(start - timedelta(days=8))
    assert outbox("turn_next_week") == []

    swept(start - timedelta(days=6))
    swept(start - timedelta(days=5))
    swept(start - timedelta(hours=23))

    [notice] = outbox("turn_next_week")
    assert notice.recipient == "lead@example.org"
    assert notice.language == "sv"
    assert notice.subject.startswith("Din tur närmar sig: Testgrupp")
    assert "co" in notice.text_body  # "With you:" names the co-facilitator
    assert recipients("reminder") == sorted(EVERYONE)


def test_per_group_reminder_hours_send_a_reminder_at_each_offset(app, ctx):
    course = build_course()
    course.group.reminder_hours = "24,2"
    db.session.commit()
    start = course.session.starts_at

    swept(start - timedelta(hours=23))
    assert len(outbox("reminder")) == len(EVERYONE)
    swept(start - timedelta(hours=3))
    assert len(outbox("reminder")) == len(EVERYONE)
    swept(start - timedelta(hours=1, minutes=59))

    keys = [row.idempotency_key for row in outbox("reminder")]
    assert len(keys) == 2 * len(EVERYONE)
    assert sum(f":{course.session.id}:24:0:" in key for key in keys) == len(EVERYONE)
    assert sum(f":{course.session.id}:2:0:" in key for key in keys) == len(EVERYONE)


def test_an_offset_longer_than_a_week_is_still_reached(app, ctx):
    course = build_course()
    course.group.reminder_hours = "240"
    db.session.commit()

    swept(course.session.starts_at - timedelta(hours=239))

    assert recipients("reminder") == sorted(EVERYONE)


# The same wall-clock time tomorrow is this many real hours after each crossing instant.
HOURS_TO_THIS_TIME_TOMORROW = {
    "eve-of-summer-time": 23,
    "eve-of-winter-time": 25,
    "new-years-eve": 24,
    "new-year-in-helsinki-only": 24,
    "leap-day": 24,
}


@pytest.mark.parametrize(
    ("now", "hours_away"),
    [(CROSSINGS[name], hours) for name, hours in HOURS_TO_THIS_TIME_TOMORROW.items()],
    ids=list(HOURS_TO_THIS_TIME_TOMORROW),
    indirect=["now"],
)
def test_the_24_hour_reminder_counts_real_hours_across_the_night(app, ctx, now, hours_away):
    """A session at this time tomorrow is reminded now when it is at most 24 real hours away
    (23 on the eve of summer time), and on the eve of winter time (25) an hour later."""
    course = build_course()
    local = now.astimezone(HELSINKI)
    tomorrow = local_datetime(local.date() + timedelta(days=1), local.time(), "Europe/Helsinki")
    session = add_session(course, tomorrow)
    assert session.starts_at - now == timedelta(hours=hours_away)

    swept(now)
    reminded_now = recipients("reminder")
    swept(max(now, session.starts_at - timedelta(hours=24)))

    assert reminded_now == ([] if hours_away > 24 else sorted(EVERYONE))
    assert recipients("reminder") == sorted(EVERYONE)


def test_participants_who_were_not_accepted_get_no_reminder(app, ctx):
    course = build_course()

    swept(course.session.starts_at - timedelta(hours=23))

    assert "carl@example.org" not in recipients("reminder")


def test_a_reminder_has_plain_text_and_html_bodies(app, ctx):
    course = build_course()

    swept(course.session.starts_at - timedelta(hours=23))

    assert all(row.html_body for row in outbox("reminder"))


# --- commands and the scheduler -------------------------------------------------------------


@pytest.mark.parametrize(
    "now", [NOW, *CROSSINGS.values()], ids=["default", *CROSSINGS], indirect=True
)
def test_the_mail_sweep_command_queues_what_is_due(app, smtp, now):
    """The command reads the clock itself: a session 12 hours from now is due, also when
    those hours hold a clock change, a new year or a leap day."""
    with app.app_context(), app.test_request_context():
        course = build_course()
        add_session(course, now + timedelta(hours=12))
        before = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    result = app.test_cli_runner().invoke(args=["mail", "sweep"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        assert recipients("reminder") == sorted(EVERYONE)
        assert recipients("turn_next_week") == ["lead@example.org"]
    assert f"Queued {after - before} messages." in result.output


def test_the_scheduled_job_queues_and_sends_due_reminders_every_minute(app, smtp, now):
    with app.app_context(), app.test_request_context():
        course = build_course()
        add_session(course, now + timedelta(hours=12))

    run_job(app, _sweep_and_deliver)
    run_job(app, _sweep_and_deliver)

    to = sorted(m["To"] for m in smtp.messages() if m["Subject"].startswith(("Muist", "Påmin")))
    assert to == sorted(EVERYONE)
    with app.app_context():
        assert {row.status for row in outbox("reminder")} == {OutboxStatus.sent}
        job = make_scheduler(app, background=True).get_job("mail")
    assert job.trigger.interval == timedelta(minutes=1)


# --- several schedulers at once, on PostgreSQL ----------------------------------------------


def require_postgresql(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent schedulers are tested on PostgreSQL (SQLite: one process)")


def test_a_second_sweep_skips_while_the_first_holds_the_lock(app):
    require_postgresql(app)
    with app.app_context(), app.test_request_context():
        now = build_course().session.starts_at - timedelta(hours=23)
    first_has_lock, second_done = threading.Event(), threading.Event()
    ran: dict[str, bool] = {}

    def first() -> None:
        with app.app_context(), app.test_request_context():
            try:
                ran["first"] = sweep(now).ran
                first_has_lock.set()
                second_done.wait(30)
                db.session.commit()
            finally:
                first_has_lock.set()
                db.session.remove()

    def second() -> None:
        first_has_lock.wait(30)
        with app.app_context(), app.test_request_context():
            try:
                ran["second"] = sweep(now).ran
                db.session.commit()
            finally:
                second_done.set()
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert ran == {"first": True, "second": False}
    with app.app_context():
        assert recipients("reminder") == sorted(EVERYONE)


def test_two_schedulers_at_once_queue_and_deliver_each_message_exactly_once(app, smtp, now):
    require_postgresql(app)
    with app.app_context(), app.test_request_context():
        course = build_course()
        for hours in (3, 12, 20):
            add_session(course, now + timedelta(hours=hours))
    barrier = threading.Barrier(2)

    def scheduler_process() -> None:
        barrier.wait()
        run_job(app, _sweep_and_deliver)

    threads = [threading.Thread(target=scheduler_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    run_job(app, _sweep_and_deliver)  # whatever a skipped sweep left is queued now

    with app.app_context():
        rows = outbox("reminder") + outbox("turn_next_week")
        assert len(rows) == 3 * len(EVERYONE) + 3
        assert {row.status for row in rows} == {OutboxStatus.sent}
        expected = {row.message_id for row in rows}
    counts = smtp.message_ids()
    assert {message_id: counts[message_id] for message_id in expected} == dict.fromkeys(expected, 1)
