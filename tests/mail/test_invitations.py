"""Calendar invitations by mail (iMIP): a week ahead, updated on change, cancelled."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import reviewing, sending
from remote_groups.extensions import db
from remote_groups.groups import service as groups
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import User
from tests.applications.conftest import apply, course  # noqa: F401  (a fixture)


@pytest.fixture
def participant(client, app, course, ctx):  # noqa: F811  (the imported fixture)
    """Aino is accepted to the course; returns the course's first session's start."""
    apply(client)
    coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
    application = db.session.scalar(select(Application))
    reviewing.decide([application], ApplicationStatus.accepted, coordinator)
    sending.send_decisions(application.group)  # told: the acceptance is her first mail
    db.session.commit()
    return group_by_slug("kurssi")


def calendars(kind: str) -> list[icalendar.Calendar]:
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    )
    return [icalendar.Calendar.from_ical(row.calendar) for row in rows]


def event_of(calendar: icalendar.Calendar) -> icalendar.Event:
    (event,) = calendar.walk("VEVENT")
    return event


def a_week_before(session) -> datetime:
    return session.starts_at - timedelta(days=6)


def test_sessions_more_than_a_week_ahead_are_not_invited_yet(participant):
    assert participant.sessions[0].starts_at > datetime.now(UTC) + timedelta(days=7)
    assert calendars("invitation") == []
    sweep(datetime.now(UTC))
    assert calendars("invitation") == []


def test_a_participant_is_invited_a_week_before_the_session(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    (calendar,) = calendars("invitation")
    event = event_of(calendar)
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == str(first.uid)
    assert int(event["SEQUENCE"]) == 0
    assert str(event["ATTENDEE"]) == "mailto:aino@example.org"
    assert str(event["ORGANIZER"]).startswith("mailto:")


def test_sweeping_twice_invites_once(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    sweep(a_week_before(first) + timedelta(minutes=1))
    assert len(calendars("invitation")) == 1


def test_a_moved_session_sends_an_update_with_the_same_uid_and_a_higher_sequence(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    new_start = first.starts_at.astimezone(participant.zone) + timedelta(hours=2)
    groups.move_session(
        first,
        new_start.date(),
        new_start.time(),
        60,
        topic=None,
        locked=False,
        reason="Ohjaaja on estynyt",
        now=a_week_before(first),
    )
    sweep(a_week_before(first) + timedelta(minutes=1))
    original, update = (event_of(c) for c in calendars("invitation"))
    assert update["UID"] == original["UID"]
    assert int(update["SEQUENCE"]) == int(original["SEQUENCE"]) + 1
    assert update.decoded("DTSTART").astimezone(UTC) == first.starts_at


def test_a_cancelled_session_sends_a_cancellation(participant):
    first = participant.sessions[0]
    sweep(a_week_before(first))
    groups.cancel_session(first, "Ohjaaja sairastui", now=a_week_before(first))
    sweep(a_week_before(first) + timedelta(minutes=1))
    (calendar,) = calendars("cancellation")
    event = event_of(calendar)
    assert calendar["METHOD"] == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["UID"] == event_of(calendars("invitation")[0])["UID"]


def test_a_session_from_before_0006_is_updated_under_the_uid_it_was_published_with(participant):
    """Its participants' calendars hold ``session-<id>@<host>`` from an invitation mailed
    before the upgrade: a cancellation under any other UID would leave that event standing."""
    first = participant.sessions[0]
    first.uid = f"session-{first.id}@127.0.0.1"
    sweep(a_week_before(first))
    groups.cancel_session(first, "Ohjaaja sairastui", now=a_week_before(first))
    sweep(a_week_before(first) + timedelta(minutes=1))
    (invitation,) = calendars("invitation")
    (cancellation,) = calendars("cancellation")
    legacy = f"session-{first.id}@127.0.0.1"
    assert str(event_of(invitation)["UID"]) == str(event_of(cancellation)["UID"]) == legacy


def test_no_cancellation_for_a_session_never_invited(participant):
    last = participant.sessions[-1]
    groups.cancel_session(last, "Peruttu", now=datetime.now(UTC))
    sweep(datetime.now(UTC))
    assert calendars("cancellation") == []
