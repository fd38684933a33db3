"""Email reminders for open groups through the web pages: double opt-in, one-click
unsubscribe (RFC 8058), and the administrators' outbox page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, Session, SessionStatus
from remote_groups.notifications.sweep import sweep
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import build_email, deliver_pending
from remote_groups.regions.models import Region
from remote_groups.subscriptions.models import Subscription
from remote_groups.types import utcnow
from tests.applications.conftest import link_in
from tests.conftest import csrf_token, login, make_group
from tests.mail.conftest import queue

GROUP = "/groups/test-group"
ADDRESS = "aino@example.org"
CHECK_YOUR_EMAIL = "Kiitos! Katso nyt sähköpostisi."


def subscribe(client: FlaskClient, email: str = ADDRESS, language: str = "fi", slug="test-group"):
    return client.post(
        f"/groups/{slug}/subscribe",
        data={"email": email, "language": language, "csrf_token": csrf_token(client)},
    )


def confirm_link(app: Flask, email: str = ADDRESS) -> str:
    with app.app_context():
        text = db.session.scalar(
            select(OutboxMessage.text_body)
            .where(OutboxMessage.kind == "subscription_confirm", OutboxMessage.recipient == email)
            .order_by(OutboxMessage.id.desc())
        )
    assert text, f"a confirmation message to {email}"
    return link_in(text, "/confirm")


def confirm(client: FlaskClient, app: Flask, email: str = ADDRESS) -> None:
    link = confirm_link(app, email)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert urlsplit(response.location).path == GROUP


def subscription(app: Flask, email: str = ADDRESS) -> Subscription | None:
    with app.app_context():
        found = db.session.scalar(select(Subscription).where(Subscription.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def sweep_before_session(app: Flask, number: int = 0) -> list[OutboxMessage]:
    """Sweep 23 hours before the group's ``number``-th upcoming session; its reminders."""
    with app.app_context(), app.test_request_context():
        session = db.session.scalars(
            select(Session)
            .where(Session.status == SessionStatus.scheduled, Session.starts_at > utcnow())
            .order_by(Session.starts_at)
        ).all()[number]
        assert sweep(session.starts_at - timedelta(hours=23)).ran
        db.session.commit()
        reminders = list(
            db.session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "reminder",
                    OutboxMessage.idempotency_key.like(f"reminder:{session.id}:%"),
                )
            )
        )
        db.session.expunge_all()
        return reminders


def reminded(app: Flask, number: int = 0) -> list[str]:
    return sorted(row.recipient for row in sweep_before_session(app, number))


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- subscribing ----------------------------------------------------------------------------


def test_an_open_group_page_offers_email_reminders(client, world):
    page = client.get(GROUP).get_data(as_text=True)

    assert f'action="{GROUP}/subscribe"' in page
    assert 'name="email"' in page


def test_subscribing_sends_a_confirmation_and_no_reminders_before_confirming(app, client, world):
    response = subscribe(client)

    assert response.status_code == 200
    assert CHECK_YOUR_EMAIL in response.get_data(as_text=True)
    with app.app_context():
        [message] = db.session.scalars(select(OutboxMessage))
        assert (message.kind, message.recipient) == ("subscription_confirm", ADDRESS)
        assert message.subject == "Vahvista muistutukset: Testiryhmä"
    assert "/subscriptions/" in confirm_link(app)
    assert not subscription(app).active
    assert reminded(app) == []


def test_confirming_turns_the_reminders_on(app, client, world):
    subscribe(client)
    link = confirm_link(app)

    page = client.get(link)
    assert page.status_code == 200
    assert subscription(app).confirmed_at is None, "opening the link alone confirms nothing"
    confirm(client, app)

    assert subscription(app).active
    assert reminded(app) == [ADDRESS]


def test_confirming_needs_the_form_token(app, client, world):
    subscribe(client)

    response = client.post(confirm_link(app), data={})

    assert response.status_code == 400
    assert not subscription(app).active


def test_an_unknown_subscription_token_is_not_found(client, world):
    assert client.get("/subscriptions/nope/confirm").status_code == 404
    assert client.post("/subscriptions/nope/unsubscribe").status_code == 404


def test_a_subscribers_reminder_carries_one_click_list_unsubscribe(app, client, world, smtp):
    subscribe(client, language="sv")
    confirm(client, app)

    [reminder] = sweep_before_session(app)
    with app.app_context(), app.test_request_context():
        deliver_pending()

    [received] = [m for m in smtp.messages() if m["To"] == ADDRESS and "Påmin" in m["Subject"]]
    token = subscription(app).token
    unsubscribe_url = f"{app.config['BASE_URL']}/subscriptions/{token}/unsubscribe"
    assert received["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url in received.get_body(("plain",)).get_content()
    assert reminder.language == "sv"
    assert reminder.unsubscribe_url == unsubscribe_url


def test_one_click_unsubscribe_without_a_form_token_stops_the_reminders(app, client, world):
    subscribe(client)
    confirm(client, app)
    [reminder] = sweep_before_session(app)
    with app.app_context():
        header = build_email(reminder, app.config)["List-Unsubscribe"]
    url = header.strip("<>")

    response = app.test_client().post(  # a mail program: no cookies, no CSRF token
        urlsplit(url).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not subscription(app).active
    assert reminded(app, 1) == []


def test_opening_the_unsubscribe_link_asks_before_stopping(app, client, world):
    subscribe(client)
    confirm(client, app)
    token = subscription(app).token

    page = client.get(f"/subscriptions/{token}/unsubscribe")

    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert subscription(app).active, "a link checker opening the URL must not unsubscribe"


def test_subscribing_to_a_closed_course_is_not_found(app, client, world):
    with app.app_context():
        regions = list(db.session.scalars(select(Region)))
        make_group(regions, slug="kurssi", kind=GroupKind.closed, capacity=5)
        db.session.commit()

    assert subscribe(client, slug="kurssi").status_code == 404
    assert subscribe(client, slug="no-such-group").status_code == 404
    assert count(app, Subscription) == 0


@pytest.mark.parametrize(
    "email",
    [
        "",
        "not-an-address",
        "two@at@example.org",
        "aino@example.org\r\nBcc: evil@example.org",
        "aino@example.org, evil@example.org",
    ],
)
def test_an_invalid_email_is_refused_and_nothing_is_stored(app, client, world, email):
    response = subscribe(client, email=email)

    assert response.status_code == 422
    assert count(app, Subscription) == 0
    assert count(app, OutboxMessage) == 0


def test_an_already_subscribed_address_gets_the_same_answer(app, client, world):
    first = subscribe(client, email="someone@example.org")
    subscribe(client)
    confirm(client, app)

    again = subscribe(client)

    assert again.status_code == first.status_code == 200
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert count(app, Subscription) == 2
    with app.app_context():
        sent_to_me = db.session.scalar(
            select(func.count()).where(OutboxMessage.recipient == ADDRESS)
        )
    assert sent_to_me == 1, "no second confirmation for an active subscription"


def test_an_address_in_another_case_is_the_same_subscription(app, client, world):
    subscribe(client, email="Aino@Example.ORG")
    subscribe(client, email="aino@example.org")

    assert count(app, Subscription) == 1
    assert subscription(app) is not None


def test_subscribing_again_after_unsubscribing_needs_a_new_confirmation(app, client, world):
    subscribe(client)
    confirm(client, app)
    client.post(f"/subscriptions/{subscription(app).token}/unsubscribe")

    subscribe(app.test_client())  # anyone can type the address in again

    assert not subscription(app).active
    assert reminded(app) == []


def test_subscribing_again_after_unsubscribing_sends_a_new_confirmation(app, client, world):
    subscribe(client)
    confirm(client, app)
    client.post(f"/subscriptions/{subscription(app).token}/unsubscribe")

    subscribe(client)
    confirm(client, app)

    assert subscription(app).active
    assert reminded(app) == [ADDRESS]


# --- the administrators' outbox page --------------------------------------------------------


def failed_message(app: Flask, smtp) -> int:
    smtp.handler.refuse["nobody@example.org"] = "550 5.1.1 no such user"
    with app.app_context(), app.test_request_context():
        queue(2, recipient="ok{}@example.org")
        [failed] = queue(1, recipient="nobody@example.org", kind="swap_answered")
        report = deliver_pending()
        assert (report.sent, report.failed) == (2, 1)
        return failed


def test_admins_see_counts_and_failures(app, client, world, smtp):
    failed = failed_message(app, smtp)
    login(client, "admin@example.org")

    page = client.get("/staff/outbox")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<td>2</td>" in text and "<td>1</td>" in text
    assert f"Vuoronvaihtoon vastattu #{failed}" in text
    assert "550" in text
    assert f"/staff/outbox/{failed}/resend" in text


def test_resend_puts_a_failed_message_back_in_the_queue(app, client, world, smtp):
    failed = failed_message(app, smtp)
    login(client, "admin@example.org")

    response = client.post(
        f"/staff/outbox/{failed}/resend", data={"csrf_token": csrf_token(client)}
    )

    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(OutboxMessage, failed)
        assert (row.status, row.attempts) == (OutboxStatus.pending, 0)
    del smtp.handler.refuse["nobody@example.org"]
    with app.app_context(), app.test_request_context():
        assert deliver_pending().sent == 1
    assert [m["To"] for m in smtp.messages()].count("nobody@example.org") == 1


def test_a_resent_reminder_keeps_its_expiry_and_one_too_late_is_refused(
    app, client, world, smtp, now
):
    """A failed reminder sent again is still never sent after its session began."""
    smtp.handler.refuse["nobody@example.org"] = "550 5.1.1 no such user"
    starts = now + timedelta(hours=2)
    with app.app_context(), app.test_request_context():
        [soon] = queue(1, recipient="nobody@example.org", kind="reminder", expires_at=starts)
        [late] = queue(
            1,
            recipient="nobody@example.org",
            kind="turn_next_week",
            expires_at=now + timedelta(minutes=1),
        )
        assert deliver_pending().failed == 2
    login(client, "admin@example.org")
    with time_machine.travel(now + timedelta(minutes=5)):
        token = csrf_token(client)
        kept = client.post(f"/staff/outbox/{soon}/resend", data={"csrf_token": token})
        refused = client.post(f"/staff/outbox/{late}/resend", data={"csrf_token": token})
    assert kept.status_code == 302
    assert refused.status_code == 409
    with app.app_context():
        assert db.session.get(OutboxMessage, soon).expires_at == starts
        assert db.session.get(OutboxMessage, soon).status == OutboxStatus.pending
        assert db.session.get(OutboxMessage, late).status == OutboxStatus.failed
    del smtp.handler.refuse["nobody@example.org"]
    with time_machine.travel(starts + timedelta(minutes=1)):
        with app.app_context(), app.test_request_context():
            report = deliver_pending()
    assert (report.sent, report.expired) == (0, 1), "the session has begun: dropped, not sent"
    assert [m["To"] for m in smtp.messages()].count("nobody@example.org") == 0


def test_resend_needs_the_form_token(app, client, world, smtp):
    failed = failed_message(app, smtp)
    login(client, "admin@example.org")

    assert client.post(f"/staff/outbox/{failed}/resend", data={}).status_code == 400


@pytest.mark.parametrize("email", ["coord@lu.example.org", "fac@lu.example.org"])
def test_only_admins_may_see_the_outbox_or_resend(app, client, world, smtp, email):
    failed = failed_message(app, smtp)
    login(client, email)

    assert client.get("/staff/outbox").status_code == 403
    resend = client.post(f"/staff/outbox/{failed}/resend", data={"csrf_token": csrf_token(client)})
    assert resend.status_code == 403
    with app.app_context():
        assert db.session.get(OutboxMessage, failed).status == OutboxStatus.failed


def test_the_outbox_asks_anonymous_visitors_to_log_in(client, world):
    response = client.get("/staff/outbox")

    assert response.status_code == 302
    assert "/staff/login" in response.location
