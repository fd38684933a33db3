"""Mailed single-use links by which staff choose their password: the invitation of a new user
and "forgot password". Only a digest of the token is stored; a link works once, for 24 hours,
and only while it is the newest; using it ends every login and redacts the mail it came in."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.logs import redact_tokens
from remote_groups.outbox.models import REDACTED, OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import deliver_pending, eml_file_name
from remote_groups.regions.models import StaffLink, StaffLinkPurpose, User
from remote_groups.retention import apply_retention
from tests.conftest import PASSWORD, csrf_token, login
from tests.mail.conftest import SmtpServer, smtp, smtp_server  # noqa: F401 (fixtures)

CHOSEN = "lantern orchard velvet quarry"
NEW_EMAIL = "uusi@lu.example.org"
LINK = re.compile(r"(https?://[^/\s]+)(/staff/access/([A-Za-z0-9_-]+))")


def invite(client: FlaskClient, **overrides: str):
    """The administrator creates a user without typing a password."""
    data = {
        "email": NEW_EMAIL,
        "name": "Uusi Ohjaaja",
        "role": "facilitator",
        "region": "lansi-uusimaa",
        "language": "fi",
        "password": "",
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return client.post("/staff/users/new", data=data, follow_redirects=True)


def mails_to(app: Flask, address: str | None, kind: str | None = None) -> list[OutboxMessage]:
    """The outbox rows to ``address`` (None: to anyone, redacted ones too), oldest first."""
    with app.app_context():
        query = select(OutboxMessage)
        if address is not None:
            query = query.where(OutboxMessage.recipient == address)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        rows = list(db.session.scalars(query.order_by(OutboxMessage.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def link_path(message: OutboxMessage) -> str:
    match = LINK.search(message.text_body)
    assert match, message.text_body
    return match.group(2)


def choose(client: FlaskClient, path: str, password: str = CHOSEN, again: str | None = None):
    return client.post(
        path,
        data={
            "new_password": password,
            "new_password_again": password if again is None else again,
            "csrf_token": csrf_token(client),
        },
    )


def can_log_in(app: Flask, email: str, password: str) -> bool:
    browser = app.test_client()
    response = browser.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(browser)},
    )
    return response.status_code == 302


def forgot(client: FlaskClient, email: str):
    return client.post(
        "/staff/password/forgot", data={"email": email, "csrf_token": csrf_token(client)}
    )


# --- invitation -----------------------------------------------------------------------------


def test_a_new_user_without_a_password_is_mailed_an_invitation_link_from_base_url(
    app, client, world
):
    login(client, "admin@example.org")
    page = invite(client).get_data(as_text=True)
    assert "linkki salasanan valintaan" in page
    (mail,) = mails_to(app, NEW_EMAIL)
    assert mail.kind == "staff_invitation"
    assert mail.language == "fi"
    match = LINK.search(mail.text_body)
    assert match and match.group(1) == app.config["BASE_URL"]
    token = match.group(3)
    with app.app_context():
        link = db.session.scalar(select(StaffLink))
        assert link.purpose == StaffLinkPurpose.invitation
        assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
        assert token not in link.token_digest
        assert link.expires_at - link.created_at == timedelta(hours=24)
        user = db.session.scalar(select(User).where(User.email == NEW_EMAIL))
        assert not user.password_must_change
    # Until the link is used, nobody knows the account's password, blank included.
    assert not can_log_in(app, NEW_EMAIL, "")
    assert not can_log_in(app, NEW_EMAIL, PASSWORD)


def test_the_invited_user_chooses_their_password_once(app, client, world):
    login(client, "admin@example.org")
    invite(client)
    (mail,) = mails_to(app, NEW_EMAIL)
    path = link_path(mail)
    stranger = app.test_client()
    form = stranger.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in form.headers["Cache-Control"]
    assert "Uusi Ohjaaja" in form.get_data(as_text=True)

    answer = choose(stranger, path)
    assert answer.status_code == 302 and answer.location.endswith("/staff/login")
    assert can_log_in(app, NEW_EMAIL, CHOSEN)

    again = stranger.get(path)
    assert again.status_code == 404
    assert "/staff/password/forgot" in again.get_data(as_text=True)
    assert choose(stranger, path, "another fine long passphrase").status_code == 404
    assert can_log_in(app, NEW_EMAIL, CHOSEN)


def test_a_weak_or_mismatched_password_through_the_link_changes_nothing(app, client, world):
    login(client, "admin@example.org")
    invite(client)
    path = link_path(mails_to(app, NEW_EMAIL)[0])
    browser = app.test_client()
    weak = choose(browser, path, "password123456")
    assert weak.status_code == 422
    assert 'id="new_password-error"' in weak.get_data(as_text=True)
    mismatch = choose(browser, path, CHOSEN, "lantern orchard velvet quarrY")
    assert mismatch.status_code == 422
    assert not can_log_in(app, NEW_EMAIL, "password123456")
    assert browser.get(path).status_code == 200, "the link is still open"
    assert choose(browser, path).status_code == 302


def test_the_mail_that_carried_a_used_link_is_redacted_with_its_file(app, client, world):
    login(client, "admin@example.org")
    invite(client)
    with app.app_context():
        deliver_pending()  # the file backend: an .eml copy in MAIL_DIR
        db.session.commit()
    (mail,) = mails_to(app, NEW_EMAIL)
    copy = Path(app.config["MAIL_DIR"]) / eml_file_name(mail.message_id)
    assert copy.exists()
    choose(app.test_client(), link_path(mail))
    with app.app_context():
        row = db.session.get(OutboxMessage, mail.id)
        assert row.text_body == REDACTED and row.redacted_at is not None
        assert "/staff/access/" not in (row.html_body or "")
    assert not copy.exists()


def test_a_link_expires_after_24_hours_and_is_then_forgotten(app, client, world, now):
    login(client, "admin@example.org")
    invite(client)
    (mail,) = mails_to(app, NEW_EMAIL)
    path = link_path(mail)
    with time_machine.travel(now + timedelta(hours=23, minutes=59)):
        assert app.test_client().get(path).status_code == 200
    with time_machine.travel(now + timedelta(hours=24, minutes=1)):
        browser = app.test_client()
        assert browser.get(path).status_code == 404
        with app.app_context():
            report = apply_retention()
            db.session.commit()
            assert report.deleted_staff_links == 0, "kept a day after it expired"
            assert db.session.get(OutboxMessage, mail.id).text_body == REDACTED
    with time_machine.travel(now + timedelta(hours=48, minutes=2)):
        with app.app_context():
            assert apply_retention().deleted_staff_links == 1
            db.session.commit()
            assert db.session.scalar(select(StaffLink)) is None


def test_the_admin_sends_the_invitation_again_and_only_the_newest_link_works(app, client, world):
    login(client, "admin@example.org")
    invite(client)
    first = link_path(mails_to(app, NEW_EMAIL)[0])
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == NEW_EMAIL))
    page = client.post(
        f"/staff/users/{user_id}/send-link",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"Uusi kutsu lähetettiin osoitteeseen {NEW_EMAIL}" in page
    first_mail, second_mail = mails_to(app, None, "staff_invitation")
    assert second_mail.kind == "staff_invitation"
    assert first_mail.status == OutboxStatus.expired, "the replaced invitation is not sent"
    assert first_mail.text_body == REDACTED
    assert app.test_client().get(first).status_code == 404
    assert choose(app.test_client(), link_path(second_mail)).status_code == 302


def test_the_admin_sends_a_user_with_a_password_a_reset_link(app, client, world):
    login(client, "admin@example.org")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "fac@lu.example.org"))
    page = client.post(
        f"/staff/users/{user_id}/send-link",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Linkki uuden salasanan valintaan lähetettiin" in page
    (mail,) = mails_to(app, "fac@lu.example.org")
    assert mail.kind == "staff_password_reset"
    assert can_log_in(app, "fac@lu.example.org", PASSWORD), "the password stays until used"


def test_only_admins_send_links_and_not_to_a_deactivated_user(app, client, world):
    with app.app_context():
        fac = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        fac_id = fac.id
        fac.active = False
        db.session.commit()
    login(client, "coord@lu.example.org")
    data = {"csrf_token": csrf_token(client)}
    assert client.post(f"/staff/users/{fac_id}/send-link", data=data).status_code == 403
    admin = app.test_client()
    login(admin, "admin@example.org")
    page = admin.post(
        f"/staff/users/{fac_id}/send-link",
        data={"csrf_token": csrf_token(admin)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Ota käyttäjä ensin uudelleen käyttöön." in page
    assert mails_to(app, "fac@lu.example.org") == []


# --- forgot password ------------------------------------------------------------------------


def test_forgot_password_answers_alike_for_every_address_and_mails_only_an_account(
    app, client, world
):
    known = forgot(client, "fac@lu.example.org")
    unknown = forgot(client, "nobody@lu.example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace("fac@lu.example.org", "X") == unknown.get_data(
        as_text=True
    ).replace("nobody@lu.example.org", "X")
    assert mails_to(app, "nobody@lu.example.org") == []
    (mail,) = mails_to(app, "fac@lu.example.org", "staff_password_reset")
    assert "Jos et pyytänyt sitä" in mail.text_body


def test_a_reset_link_sets_a_new_password_and_ends_every_login(app, client, world):
    login(client, "fac@lu.example.org")
    assert client.get("/staff/").status_code == 200
    forgot(app.test_client(), "FAC@lu.example.org ")
    path = link_path(mails_to(app, "fac@lu.example.org")[0])
    assert choose(app.test_client(), path).status_code == 302
    assert client.get("/staff/").status_code == 302, "the earlier login has ended"
    assert not can_log_in(app, "fac@lu.example.org", PASSWORD)
    assert can_log_in(app, "fac@lu.example.org", CHOSEN)


def test_asking_again_within_five_minutes_sends_nothing_new(app, client, world, now):
    forgot(client, "fac@lu.example.org")
    forgot(client, "fac@lu.example.org")
    (first,) = mails_to(app, "fac@lu.example.org")
    first_path = link_path(first)
    with time_machine.travel(now + timedelta(minutes=6)):
        forgot(app.test_client(), "fac@lu.example.org")
        first, second = mails_to(app, None, "staff_password_reset")
        assert first.text_body == REDACTED
        assert app.test_client().get(first_path).status_code == 404
        assert app.test_client().get(link_path(second)).status_code == 200


def test_a_deactivated_user_gets_no_link_and_deactivation_closes_open_ones(app, client, world):
    forgot(client, "fac@lu.example.org")
    path = link_path(mails_to(app, "fac@lu.example.org")[0])
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "fac@lu.example.org"))
    admin = app.test_client()
    login(admin, "admin@example.org")
    admin.post(f"/staff/users/{user_id}/deactivate", data={"csrf_token": csrf_token(admin)})
    assert app.test_client().get(path).status_code == 404
    forgot(app.test_client(), "fac@lu.example.org")
    assert len(mails_to(app, None)) == 1, "no mail while deactivated"
    admin.post(f"/staff/users/{user_id}/reactivate", data={"csrf_token": csrf_token(admin)})
    assert app.test_client().get(path).status_code == 404, "closed, not only hidden"
    forgot(app.test_client(), "fac@lu.example.org")
    assert len(mails_to(app, None)) == 2, "active again: a new link"


def test_changing_the_password_on_my_account_closes_an_open_reset_link(app, client, world):
    forgot(app.test_client(), "fac@lu.example.org")
    path = link_path(mails_to(app, "fac@lu.example.org")[0])
    login(client, "fac@lu.example.org")
    client.post(
        "/staff/account",
        data={
            "current_password": PASSWORD,
            "new_password": CHOSEN,
            "new_password_again": CHOSEN,
            "csrf_token": csrf_token(client),
        },
    )
    assert app.test_client().get(path).status_code == 404


def test_the_login_page_links_to_forgot_password_in_each_language(client, world):
    for language, text in (("fi", "Unohditko salasanasi?"), ("sv", "Glömt ditt lösenord?")):
        client.get(f"/language/{language}?next=/")
        page = client.get("/staff/login").get_data(as_text=True)
        assert 'href="/staff/password/forgot"' in page
        assert text in page


def test_the_token_of_a_link_is_redacted_in_logs():
    line = 'GET /staff/access/AbC-123_xyz HTTP/1.1" 200'
    assert "AbC-123_xyz" not in redact_tokens(line)
    assert "/staff/access/" in redact_tokens(line)


def test_the_invitation_goes_through_a_real_mail_server_in_the_users_language(
    app,
    client,
    world,
    smtp: SmtpServer,  # noqa: F811 (the fixture imported above)
):
    login(client, "admin@example.org")
    invite(client, language="sv")
    with app.app_context():
        report = deliver_pending()
        db.session.commit()
    assert report.sent == 1
    message = smtp.only_message()
    assert message["To"] == NEW_EMAIL
    body = message.get_body(("plain",)).get_content()
    assert "Välj ditt lösenord här" in body
    match = LINK.search(body)
    assert match
    assert choose(app.test_client(), match.group(2)).status_code == 302
