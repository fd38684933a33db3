"""Coordinators' decisions are saved first and mailed in a send step (issue 15): saving mails
nobody, the send page shows each applicant's mail in their own language, the mail goes when
the application window closes (or now, on an explicit and confirmed choice), and until it is
sent a decision may still change and the applicant's status page says nothing of it."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import sending
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.sender import deliver_pending
from tests.applications.conftest import apply, id_of, outbox, token_of
from tests.conftest import csrf_token, login

COORDINATOR = "coord@lu.example.org"
UNDO = timedelta(minutes=10)  # MAIL_UNDO_MINUTES by default


def applied(client: FlaskClient, app: Flask) -> dict[str, int]:
    """Aino (Finnish), Bertil (Swedish) and Cecilia (Finnish) applied."""
    for name, email, language in [
        ("Aino Asiakas", "aino@example.org", "fi"),
        ("Bertil Berg", "bertil@example.org", "sv"),
        ("Cecilia Cederholm", "cecilia@example.org", "fi"),
    ]:
        assert apply(client, name=name, email=email, language=language).status_code == 302
    return {name: id_of(app, f"{name}@example.org") for name in ("aino", "bertil", "cecilia")}


def decide(client: FlaskClient, application_id: int, decision: str, message: str = ""):
    return client.post(
        f"/staff/applications/{application_id}/decide",
        data={"decision": decision, "message": message, "csrf_token": csrf_token(client)},
    )


def decision_mail(app: Flask) -> list[tuple[str, str]]:
    """(kind, recipient) of every message but the receipts the applicants got on applying."""
    return [(kind, to) for kind, to in outbox(app) if kind != "application_received"]


def test_saving_decisions_queues_no_mail(client, app, course):
    people = applied(client, app)
    login(client, COORDINATOR)
    assert decide(client, people["aino"], "accepted", "Tervetuloa!").status_code == 302
    bulk = client.post(
        "/staff/courses/kurssi/applications/bulk",
        data={
            "applications": [str(people["bertil"])],
            "decision": "rejected",
            "csrf_token": csrf_token(client),
        },
    )
    assert bulk.status_code == 302
    selection = client.post(
        "/staff/courses/kurssi/selection",
        data={"accept": [str(people["cecilia"])], "csrf_token": csrf_token(client)},
    )
    assert selection.status_code == 302

    with app.app_context():
        statuses = [db.session.get(Application, people[n]).status for n in people]
    assert statuses == [ApplicationStatus.accepted, ApplicationStatus.rejected] + [
        ApplicationStatus.accepted
    ]
    assert decision_mail(app) == []
    review = client.get("/staff/courses/kurssi/applications").get_data(as_text=True)
    assert "3 päätöstä lähettämättä" in review
    assert 'href="/staff/courses/kurssi/decisions"' in review


def test_the_send_page_shows_each_mail_in_the_applicants_own_language(client, app, course):
    people = applied(client, app)
    login(client, COORDINATOR)
    decide(client, people["aino"], "accepted", "Tervetuloa mukaan!")
    decide(client, people["bertil"], "waitlisted", "Vi hör av oss.")

    page = client.get("/staff/courses/kurssi/decisions").get_data(as_text=True)

    assert "2 päätöstä lähettämättä" in page
    # Aino reads Finnish, Bertil Swedish: subject, greeting, the coordinator's message.
    assert "Sait paikan: Testiryhmä" in page and "Hei Aino Asiakas," in page
    assert "Tervetuloa mukaan!" in page
    assert "Du har en reservplats: Testgrupp" in page and "Hej Bertil Berg," in page
    assert "Vi hör av oss." in page
    assert 'lang="sv"' in page
    assert decision_mail(app) == []  # showing them sent nothing
    # The private links are the applicants' keys: named, their tokens not shown.
    assert "/applications/…" in page and "/calendar/p/…" in page
    with app.app_context():
        aino = db.session.get(Application, people["aino"])
        assert aino.status_token not in page and aino.participant.feed_token not in page


def test_until_sent_a_decision_can_change_and_only_the_last_one_is_mailed(client, app, course):
    people = applied(client, app)
    login(client, COORDINATOR)
    decide(client, people["aino"], "accepted")
    assert decide(client, people["aino"], "rejected").status_code == 302  # changed her mind

    with app.app_context():
        aino = db.session.get(Application, people["aino"])
        assert aino.status == ApplicationStatus.rejected
        assert aino.participant is None  # the unsent acceptance's calendar link is gone
        assert [(d.from_status, d.to_status) for d in aino.decisions] == [
            (None, ApplicationStatus.submitted),
            (ApplicationStatus.submitted, ApplicationStatus.rejected),
        ]

    sent = client.post(
        "/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)}
    )
    assert sent.status_code == 302
    assert decision_mail(app) == [("application_rejected", "aino@example.org")]
    # Sent: now the decision stands (rejected is final).
    assert decide(client, people["aino"], "accepted").status_code == 422


def test_the_applicant_sees_the_decision_only_when_its_mail_goes(client, app, course, now):
    people = applied(client, app)
    status_page = f"/applications/{token_of(app, 'aino@example.org')}"
    login(client, COORDINATOR)
    decide(client, people["aino"], "accepted")

    page = client.get(status_page).get_data(as_text=True)
    assert "Saapunut, odottaa päätöstä" in page  # what the applicant knows
    assert "/calendar/p/" not in page  # no calendar link before she is told of her place

    client.post("/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)})
    page = client.get(status_page).get_data(as_text=True)
    assert "Saapunut, odottaa päätöstä" in page  # the mail is still held for the undo

    with time_machine.travel(now + UNDO + timedelta(minutes=1), tick=False):
        page = client.get(status_page).get_data(as_text=True)
    assert "Hyväksytty" in page and "/calendar/p/" in page


def window_close(app: Flask) -> datetime:
    with app.app_context():
        closes = sending.window_closes_at(group_by_slug("kurssi"))
    assert closes is not None
    return closes


def test_sent_when_the_window_closes_nothing_goes_before_the_close_and_everything_after(
    client, app, course, now
):
    people = applied(client, app)
    login(client, COORDINATOR)
    decide(client, people["aino"], "accepted")
    decide(client, people["bertil"], "waitlisted")
    closes = window_close(app)
    assert closes > now + timedelta(days=5)  # the window is open for days yet

    page = client.get("/staff/courses/kurssi/decisions").get_data(as_text=True)
    assert "Lähetä, kun hakuaika päättyy" in page
    response = client.post(
        "/staff/courses/kurssi/decisions/send", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302

    with app.app_context():
        assert deliver_pending(now=now + timedelta(minutes=1)).sent == 3  # the 3 receipts
        held = list(
            db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind != "application_received")
            )
        )
        # Aino's acceptance with her first calendar invitation, Bertil's place on the list.
        assert sorted((m.kind, m.recipient) for m in held) == [
            ("application_accepted", "aino@example.org"),
            ("application_waitlisted", "bertil@example.org"),
            ("invitation", "aino@example.org"),
        ]
        assert {m.held_until for m in held} == {closes}
        assert deliver_pending(now=now + timedelta(days=1)).sent == 0
        assert deliver_pending(now=closes - timedelta(minutes=1)).sent == 0
        assert deliver_pending(now=closes + timedelta(minutes=1)).sent == 3
    assert "0 päätöstä lähettämättä" in client.get("/staff/courses/kurssi/decisions").get_data(
        as_text=True
    )


def test_sending_now_is_asked_once_more_and_then_goes_after_the_undo_window(
    client, app, course, now
):
    people = applied(client, app)
    login(client, COORDINATOR)
    decide(client, people["cecilia"], "rejected")

    question = client.get("/staff/courses/kurssi/decisions/send-now")
    assert question.status_code == 200
    text = question.get_data(as_text=True)
    assert "Lähetetäänkö päätökset nyt?" in text and "hakuaika on vielä auki" in text
    assert decision_mail(app) == []  # asking sent nothing

    assert (
        client.post(
            "/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)}
        ).status_code
        == 302
    )
    with app.app_context():
        row = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "application_rejected")
        )
        assert row.recipient == "cecilia@example.org"
        assert (
            now + UNDO - timedelta(seconds=5) <= row.held_until <= now + UNDO + timedelta(minutes=1)
        )
    # Without the form's token, nothing is sent.
    assert client.post("/staff/courses/kurssi/decisions/send-now").status_code == 400


def test_only_the_courses_coordinators_see_or_send_its_decisions(client, app, course):
    people = applied(client, app)
    login(client, COORDINATOR)
    decide(client, people["aino"], "accepted")
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})

    login(client, "coord@lappi.example.org")  # a region outside the course
    assert client.get("/staff/courses/kurssi/decisions").status_code == 403
    refused = client.post(
        "/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 403
    assert decision_mail(app) == []
