"""The undo window (issue 15): mail a coordinator causes by sending decisions or cancelling a
session is held for ``MAIL_UNDO_MINUTES``; within it the coordinator takes it back from the
page, after it they cannot, and the real sender (SMTP, aiosmtpd here) delivers nothing held
before its hold ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import reviewing, sending
from remote_groups.extensions import db
from remote_groups.groups import service as groups
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import MessageKind, OutboxMessage, OutboxStatus
from remote_groups.outbox.queue import enqueue
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import User
from tests.applications.conftest import apply, course, id_of  # noqa: F401  (a fixture)
from tests.conftest import csrf_token, login
from tests.mail.conftest import plain, rows

UNDO = timedelta(minutes=10)  # MAIL_UNDO_MINUTES by default
COORDINATOR = "coord@lu.example.org"


def decision_rows() -> list[OutboxMessage]:
    return [m for m in rows() if m.kind != MessageKind.application_received]


def test_a_held_message_is_not_delivered_over_smtp_before_its_hold_ends(app, ctx, smtp, now):
    enqueue(
        kind=MessageKind.application_accepted,
        key="1",
        recipient="aino@example.org",
        language="fi",
        message=plain("Sait paikan"),
        held_until=now + UNDO,
    )
    db.session.commit()

    assert deliver_pending(now=now + timedelta(minutes=1)).sent == 0
    assert deliver_pending(now=now + UNDO - timedelta(seconds=1)).sent == 0
    assert smtp.messages() == []
    [row] = rows()
    assert row.status == OutboxStatus.pending and row.attempts == 0

    assert deliver_pending(now=now + UNDO).sent == 1
    assert [m["Subject"] for m in smtp.messages()] == ["Sait paikan"]
    assert rows()[0].status == OutboxStatus.sent


@pytest.fixture
def decided(client, app, course):  # noqa: F811  (the imported fixture)
    """Aino applied and was accepted; the coordinator is logged in. Returns her id."""
    apply(client)
    login(client, COORDINATOR)
    aino = id_of(app, "aino@example.org")
    response = client.post(
        f"/staff/applications/{aino}/decide",
        data={"decision": "accepted", "message": "", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    return aino


def send_now(client):
    response = client.post(
        "/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302


def test_undoing_within_the_window_withdraws_the_mail_and_the_decision_is_unsent(
    client, app, decided, smtp, now
):
    send_now(client)
    with app.app_context():
        assert [m.kind for m in decision_rows()] == [MessageKind.application_accepted]
    page = client.get("/staff/courses/kurssi/decisions").get_data(as_text=True)
    assert "Peru lähettäminen" in page

    question = client.get("/staff/courses/kurssi/decisions/undo")
    assert question.status_code == 200
    assert "Perutaanko lähettäminen?" in question.get_data(as_text=True)
    undone = client.post(
        "/staff/courses/kurssi/decisions/undo",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert "Lähettäminen peruttiin" in undone.get_data(as_text=True)
    assert "1 päätös lähettämättä" in undone.get_data(as_text=True)

    with app.app_context():
        assert decision_rows() == []
        aino = db.session.get(Application, decided)
        assert aino.decisions[-1].unsent and aino.decisions[-1].told_at is None
        deliver_pending(now=now + UNDO + timedelta(minutes=5))
    assert [m["To"] for m in smtp.messages()] == ["aino@example.org"]  # her receipt only
    # Unsent again, so the decision may change.
    changed = client.post(
        f"/staff/applications/{decided}/decide",
        data={"decision": "waitlisted", "message": "", "csrf_token": csrf_token(client)},
    )
    assert changed.status_code == 302
    with app.app_context():
        assert db.session.get(Application, decided).status == ApplicationStatus.waitlisted


def test_after_the_window_the_sending_cannot_be_undone(client, app, decided, now):
    send_now(client)
    with time_machine.travel(now + UNDO + timedelta(minutes=1), tick=False):
        refused = client.post(
            "/staff/courses/kurssi/decisions/undo",
            data={"csrf_token": csrf_token(client)},
            follow_redirects=True,
        )
    assert "Viestit ovat jo lähteneet" in refused.get_data(as_text=True)
    with app.app_context():
        assert [m.kind for m in decision_rows()] == [MessageKind.application_accepted]
        assert not db.session.get(Application, decided).decisions[-1].unsent


def test_undo_needs_the_forms_token_and_a_coordinator_of_the_course(client, app, decided):
    send_now(client)
    assert client.post("/staff/courses/kurssi/decisions/undo").status_code == 400
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "coord@lappi.example.org")
    refused = client.post(
        "/staff/courses/kurssi/decisions/undo", data={"csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 403
    with app.app_context():
        assert [m.kind for m in decision_rows()] == [MessageKind.application_accepted]


@pytest.fixture
def invited(client, app, course, ctx, now):  # noqa: F811  (the imported fixture)
    """Aino is on the course, told, and holds an invitation to its first session."""
    apply(client)
    application = db.session.scalar(select(Application))
    coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
    reviewing.decide([application], ApplicationStatus.accepted, coordinator, now=now)
    sending.send_decisions(application.group, now=now)
    first = group_by_slug("kurssi").sessions[0]
    sweep(first.starts_at - timedelta(days=6))
    db.session.commit()
    assert [m.kind for m in decision_rows() if m.session_id == first.id] == [MessageKind.invitation]
    return first


def cancellations() -> list[OutboxMessage]:
    return [m for m in rows() if m.kind == MessageKind.cancellation]


def test_a_cancelled_sessions_mail_is_held_and_restoring_within_the_window_takes_it_back(
    app, invited, smtp
):
    at = invited.starts_at - timedelta(days=5)
    groups.cancel_session(invited, "Ohjaaja sairastui", now=at)
    db.session.commit()
    [held] = cancellations()
    assert held.recipient == "aino@example.org" and held.held_until == at + UNDO
    deliver_pending(now=at + timedelta(minutes=1))
    assert not [m for m in smtp.messages() if "METHOD:CANCEL" in m.as_string()]

    groups.restore_session(invited, now=at + timedelta(minutes=5))
    db.session.commit()
    assert cancellations() == []
    deliver_pending(now=at + UNDO + timedelta(minutes=1))
    assert not [m for m in smtp.messages() if "METHOD:CANCEL" in m.as_string()]


def test_a_cancellation_not_undone_goes_out_when_its_window_ends(app, invited, smtp):
    at = invited.starts_at - timedelta(days=5)
    groups.cancel_session(invited, "Ohjaaja sairastui", now=at)
    db.session.commit()
    deliver_pending(now=at + timedelta(minutes=1))
    assert not [m for m in smtp.messages() if "METHOD:CANCEL" in m.as_string()]

    deliver_pending(now=at + UNDO)
    cancelled = [m for m in smtp.messages() if "METHOD:CANCEL" in m.as_string()]
    assert [m["To"] for m in cancelled] == ["aino@example.org"]
    # Restored after the window: the mail had gone, nothing is taken back.
    groups.restore_session(invited, now=at + UNDO + timedelta(minutes=1))
    db.session.commit()
    assert [m.status for m in cancellations()] == [OutboxStatus.sent]
