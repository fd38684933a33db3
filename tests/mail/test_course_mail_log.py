"""A course's sent-mail log (issue 15): its coordinators (and administrators) see what was
sent to whom about the course, how it went and when, a page at a time; nobody else does, and
no private link is in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from remote_groups.notifications.course_mail import LOG_PAGE
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import enqueue
from remote_groups.outbox.sender import deliver_pending
from tests.applications.conftest import apply, course, id_of  # noqa: F401  (a fixture)
from tests.conftest import csrf_token, login
from tests.mail.conftest import plain

LOG = "/staff/courses/kurssi/mail"


@pytest.fixture
def told(client, app, course, smtp, now):  # noqa: F811  (the imported fixture)
    """Aino (Finnish) and Bertil (Swedish) applied; Bertil was put on the waiting list and
    the decision sent; the mail went out over SMTP, except Bertil's still in its window."""
    apply(client)
    apply(client, name="Bertil Berg", email="bertil@example.org", language="sv")
    login(client, "coord@lu.example.org")
    bertil = id_of(app, "bertil@example.org")
    client.post(
        f"/staff/applications/{bertil}/decide",
        data={"decision": "waitlisted", "message": "", "csrf_token": csrf_token(client)},
    )
    client.post("/staff/courses/kurssi/decisions/send-now", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        deliver_pending(now=now + timedelta(minutes=1))  # the receipts; the decision is held
    return smtp


def test_the_log_lists_to_whom_what_and_how_it_went(client, app, told):
    assert len(told.messages()) == 2  # the two receipts went

    page = client.get(LOG).get_data(as_text=True)

    assert "Aino Asiakas" in page and "aino@example.org" in page
    assert "Bertil Berg" in page and "bertil@example.org" in page
    assert "Hakemus vastaanotettu" in page and "Hakemus varasijalla" in page  # the kinds
    assert "Lähetetty" in page  # the receipts' status
    assert "asti" in page.split("Hakemus varasijalla")[1]  # held: "Odottaa … asti"
    with app.app_context():
        status_tokens = db.session.scalars(
            select(Application.status_token).order_by(Application.id)
        ).all()
        for message in told.messages():
            assert message["Subject"] in page
        participant_tokens = [
            a.participant.feed_token
            for a in db.session.scalars(select(Application))
            if a.participant
        ]
    for token in [*status_tokens, *participant_tokens]:
        assert token not in page  # no private link, whole or in part


def test_the_log_is_reachable_from_the_review_page(client, told):
    review = client.get("/staff/courses/kurssi/applications").get_data(as_text=True)
    assert f'href="{LOG}"' in review


def test_another_regions_coordinator_is_refused(client, told):
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "coord@lappi.example.org")
    assert client.get(LOG).status_code == 403


def test_a_facilitator_of_the_course_region_is_refused(client, told):
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "fac@lu.example.org")
    assert client.get(LOG).status_code == 403


def test_an_administrator_reads_it(client, told):
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "admin@example.org")
    page = client.get(LOG)
    assert page.status_code == 200 and "bertil@example.org" in page.get_data(as_text=True)


def test_the_log_shows_only_the_courses_mail_a_page_at_a_time(client, app, told):
    with app.app_context():
        aino = id_of(app, "aino@example.org")
        for n in range(LOG_PAGE + 5):
            enqueue(
                kind=MessageKind.application_status_link,
                key=f"page-{n}",
                recipient="aino@example.org",
                language="fi",
                message=plain(f"Linkki {n}"),
                application_id=aino,
            )
        enqueue(  # about no course at all
            kind=MessageKind.staff_invitation,
            key="elsewhere",
            recipient="someone@example.org",
            language="fi",
            message=plain("Tunnus toisaalla"),
        )
        db.session.commit()

    first = client.get(LOG).get_data(as_text=True)
    assert f"Linkki {LOG_PAGE + 4}" in first and "Linkki 4<" not in first
    assert "Tunnus toisaalla" not in first
    older = first.split(f'href="{LOG}?before=')[1].split('"')[0]
    second = client.get(f"{LOG}?before={older}").get_data(as_text=True)
    assert "Linkki 4<" in second and "Linkki 0<" in second
    assert "Tunnus toisaalla" not in second
    assert "bertil@example.org" in second  # the oldest messages of the course


def test_the_administrators_outbox_names_recipients_subjects_and_the_hold(client, app, told):
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "admin@example.org")
    page = client.get("/staff/outbox").get_data(as_text=True)
    recent = page.split('id="recent"')[1]
    assert "bertil@example.org" in recent and "Du har en reservplats: Testgrupp" in recent
    assert "aino@example.org" in recent
    assert "Odottaa " in recent and " asti" in recent  # Bertil's, in its undo window
