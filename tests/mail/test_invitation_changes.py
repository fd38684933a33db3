"""Invitations that read right: no calendar-feed properties, the first one worded as an
invitation, updates for a new topic, cancellations for people who leave the course, a
notice to facilitators of a moved session, and mail that every relay accepts."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import applying, reviewing, sending
from remote_groups.extensions import db
from remote_groups.groups import service as groups
from remote_groups.groups.models import Session
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications import sweep as sweep_module
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import User
from remote_groups.rotation import service as rotation
from tests.applications.conftest import apply, course  # noqa: F401  (a fixture)

FEED_ONLY = (
    "NAME",
    "X-WR-CALNAME",
    "X-WR-CALDESC",
    "X-WR-TIMEZONE",
    "REFRESH-INTERVAL",
    "X-PUBLISHED-TTL",
)


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def participant(client, app, course, ctx):  # noqa: F811  (the imported fixture)
    """Aino is accepted to the course (no session within a week yet); returns the course."""
    apply(client)
    application = db.session.scalar(select(Application))
    reviewing.decide([application], ApplicationStatus.accepted, user("coord@lu.example.org"))
    sending.send_decisions(application.group)  # told: the acceptance is her first mail
    db.session.commit()
    return group_by_slug("kurssi")


def messages(kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def event_of(row: OutboxMessage) -> icalendar.Event:
    (event,) = icalendar.Calendar.from_ical(row.calendar).walk("VEVENT")
    return event


def a_week_before(session: Session) -> datetime:
    return session.starts_at - timedelta(days=6)


def move(session: Session, now: datetime, *, hours: int = 0, topic: str | None = None) -> None:
    new_start = session.starts_at.astimezone(session.group.zone) + timedelta(hours=hours)
    groups.move_session(
        session,
        new_start.date(),
        new_start.time(),
        int((session.ends_at - session.starts_at).total_seconds() // 60),
        topic=topic,
        locked=False,
        reason="Ohjaaja on estynyt" if hours else None,
        now=now,
    )


def test_an_invitation_carries_no_calendar_feed_properties(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    (row,) = messages("invitation")
    calendar = icalendar.Calendar.from_ical(row.calendar)
    assert calendar["METHOD"] == "REQUEST"
    assert [name for name in FEED_ONLY if name in calendar] == []
    assert "DESCRIPTION" not in calendar  # the calendar's; the event keeps its own
    assert "DESCRIPTION" in event_of(row)


def test_the_first_invitation_to_a_session_moved_earlier_is_worded_as_an_invitation(
    participant,
):
    first = participant.sessions[0]
    move(first, now=a_week_before(first) - timedelta(days=7), hours=1)
    assert first.sequence == 1
    sweep(a_week_before(first))
    (row,) = messages("invitation")
    assert row.subject.startswith("Kutsu:"), row.subject
    assert "Tervetuloa" in row.text_body
    assert "muuttunut" not in row.text_body.lower()
    assert int(event_of(row)["SEQUENCE"]) == 1


def test_an_update_is_worded_as_a_change(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    move(first, now=a_week_before(first), hours=2)
    sweep(a_week_before(first) + timedelta(minutes=1))
    invitation, update = messages("invitation")
    assert update.subject.startswith("Muutos:"), update.subject
    assert "Ohjaaja on estynyt" in update.text_body


def test_a_new_topic_sends_participants_an_update(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    move(first, now=a_week_before(first), topic="Uni ja lepo")
    sweep(a_week_before(first) + timedelta(minutes=1))
    original, update = messages("invitation")
    assert update.recipient == "aino@example.org"
    assert event_of(update)["UID"] == event_of(original)["UID"]
    assert int(event_of(update)["SEQUENCE"]) == int(event_of(original)["SEQUENCE"]) + 1
    assert "Uni ja lepo" in update.text_body
    assert "Uni ja lepo" in str(event_of(update)["DESCRIPTION"])


def test_saving_the_same_topic_again_sends_nothing(participant):
    first = participant.sessions[0]
    move(first, now=a_week_before(first) - timedelta(days=1), topic="Uni")
    sweep(a_week_before(first))
    move(first, now=a_week_before(first), topic="Uni")
    sweep(a_week_before(first) + timedelta(minutes=1))
    assert len(messages("invitation")) == 1


def test_a_participant_who_withdraws_gets_a_cancellation_for_every_invitation(
    participant, monkeypatch
):
    """Two sessions are in Aino's calendar when she leaves: both are taken out of it, once;
    the sessions themselves go on."""
    first, second = participant.sessions[:2]
    ahead = second.starts_at - first.starts_at + timedelta(days=7)
    monkeypatch.setattr(sweep_module, "INVITE_AHEAD", ahead)
    now = a_week_before(first)
    sweep(now)
    invitations = messages("invitation")
    assert len(invitations) == 2
    application = db.session.scalar(select(Application))
    applying.withdraw(application, now=now)
    sweep(now + timedelta(minutes=1))
    sweep(now + timedelta(minutes=2))
    cancellations = messages("cancellation")
    assert [row.recipient for row in cancellations] == ["aino@example.org"] * 2
    assert {str(event_of(c)["UID"]) for c in cancellations} == {
        str(event_of(i)["UID"]) for i in invitations
    }
    for row in cancellations:
        calendar = icalendar.Calendar.from_ical(row.calendar)
        assert calendar["METHOD"] == "CANCEL"
        assert str(event_of(row)["STATUS"]) == "CANCELLED"
        assert str(event_of(row)["ATTENDEE"]) == "mailto:aino@example.org"
        assert row.subject.startswith("Poistettu kalenteristasi:"), row.subject
        assert "peruttu" not in row.text_body.lower()
    assert not first.cancelled and not second.cancelled


def test_no_cancellation_for_someone_who_never_had_an_invitation(participant):
    first = participant.sessions[0]
    application = db.session.scalar(select(Application))
    applying.withdraw(application, now=a_week_before(first) - timedelta(days=1))
    sweep(a_week_before(first))
    assert messages("cancellation") == []
    assert messages("invitation") == []


def test_a_restored_session_is_sent_again_after_its_cancellation(participant):
    first = participant.sessions[0]
    now = a_week_before(first)
    sweep(now)
    groups.cancel_session(first, "Ohjaaja sairastui", now=now)
    sweep(now + timedelta(minutes=1))
    # Restored after the cancellation's undo window: its mail had gone (within the window the
    # cancellation is taken back instead: tests/mail/test_undo_window.py).
    groups.restore_session(first, now=now + timedelta(minutes=12))
    sweep(now + timedelta(minutes=13))
    sweep(now + timedelta(minutes=14))
    kinds = [
        row.kind
        for row in db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.in_(("invitation", "cancellation")))
            .order_by(OutboxMessage.id)
        )
    ]
    assert kinds == ["invitation", "cancellation", "invitation"]
    assert int(event_of(messages("invitation")[-1])["SEQUENCE"]) == first.sequence


def test_facilitators_are_told_when_a_session_they_lead_is_moved(participant):
    first = participant.sessions[0]
    now = a_week_before(first) - timedelta(days=3)
    lead = user("fac@lu.example.org")
    host = first.host_region
    if lead.region_id != host.id:  # the lead comes from the host region
        lead.region_id = host.id
    co = user("coord@siun.example.org")
    co.language = "sv"
    rotation.assign_facilitators(first, lead, [co], now)
    old_start = first.starts_at
    move(first, now=now, hours=2)
    db.session.commit()
    notices = messages("session_moved")
    assert sorted(row.recipient for row in notices) == sorted([lead.email, co.email])
    by_recipient = {row.recipient: row for row in notices}
    assert by_recipient[co.email].language == "sv"
    assert "Ohjaaja on estynyt" in by_recipient[lead.email].text_body
    assert by_recipient[lead.email].subject.startswith("Siirretty:")
    assert by_recipient[co.email].subject.startswith("Flyttad:")
    # the old and the new time both appear, in Helsinki wall-clock time
    local = first.group.zone
    for when in (old_start, first.starts_at):
        assert when.astimezone(local).strftime("%H.%M") in by_recipient[lead.email].text_body


def test_a_topic_change_alone_does_not_tell_facilitators_of_a_move(participant):
    first = participant.sessions[0]
    now = a_week_before(first)
    rotation.assign_facilitators(first, None, [user("fac@lu.example.org")], now)
    move(first, now=now, topic="Liikunta")
    assert messages("session_moved") == []


def test_finnish_and_swedish_mail_is_ascii_on_the_wire(participant, smtp, app):
    """Quoted-printable, not 8bit: a relay without 8BITMIME accepts it unchanged, and the
    text and the invitation read back exactly."""
    first = participant.sessions[0]
    move(first, now=a_week_before(first) - timedelta(days=1), topic="Hyvä olo – Välmående")
    sweep(a_week_before(first))
    db.session.commit()
    deliver_pending(now=first.starts_at)
    received = [r for r in smtp.received if "text/calendar" in r.message.as_string()]
    assert len(received) == 1 and len(smtp.received) > 1
    assert all(r.content.isascii() for r in smtp.received)
    message = received[0].message
    encodings = {
        part.get_content_type(): part["Content-Transfer-Encoding"]
        for part in message.walk()
        if not part.is_multipart()
    }
    assert "8bit" not in encodings.values() and "binary" not in encodings.values()
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert "Hyvä olo – Välmående" in text.get_content()
    calendar = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    (event,) = icalendar.Calendar.from_ical(calendar.get_content()).walk("VEVENT")
    assert "Hyvä olo – Välmående" in str(event["DESCRIPTION"])
