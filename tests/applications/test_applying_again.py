"""Applying again, people sharing an address, and a form sent after its session was lost.

The answer to an application never tells whether a person has applied before: a repeat gets
exactly the answer a new application gets, and only the mail (to the address the applicant
owns) says which it was.
"""

from __future__ import annotations

import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from tests.applications.conftest import application_form, apply, mail_text, outbox
from tests.conftest import CSRF_PATTERN, csrf_token

# What differs between two answers to the same request anyway: the session cookie and the
# request id.
VARYING_HEADERS = {"Set-Cookie", "X-Request-ID"}


def applications(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Application.name, Application.email, Application.status_token).order_by(
                Application.id
            )
        )
        return [tuple(row) for row in rows]


def answer(client: FlaskClient, **overrides: object) -> tuple[int, dict[str, str], bytes, str]:
    """One application sent from a browser of its own, and the page its redirect leads to,
    with the CSRF tokens blanked."""
    response = apply(client, **overrides)
    headers = {k: v for k, v in response.headers.items() if k not in VARYING_HEADERS}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, headers, response.get_data(), CSRF_PATTERN.sub("", page)


def test_the_same_person_again_gets_exactly_the_answer_of_a_new_application(app, course):
    new = answer(app.test_client())
    again = answer(app.test_client(), name="AINO  asiakas", email="Aino@Example.org")
    assert again == new
    assert new[0] == 302
    assert len(applications(app)) == 1


def test_the_same_person_again_is_mailed_the_link_of_the_existing_application(app, course):
    apply(app.test_client())
    apply(app.test_client())
    [(_, _, token)] = applications(app)
    assert outbox(app) == [
        ("application_received", "aino@example.org"),
        ("application_status_link", "aino@example.org"),
    ]
    assert f"/applications/{token}" in mail_text(app, "application_status_link", "aino@example.org")


def test_people_sharing_an_address_apply_each_with_the_same_answer(app, course):
    """A group home's residents share one address: another name is another applicant."""
    first = answer(app.test_client(), name="Aino Asiakas", email="koti@example.org")
    second = answer(app.test_client(), name="Bertta Asukas", email="koti@example.org")
    assert second == first
    stored = applications(app)
    assert [(name, email) for name, email, _ in stored] == [
        ("Aino Asiakas", "koti@example.org"),
        ("Bertta Asukas", "koti@example.org"),
    ]
    assert outbox(app) == [("application_received", "koti@example.org")] * 2
    with app.app_context():
        from remote_groups.outbox.models import OutboxMessage

        receipts = db.session.scalars(select(OutboxMessage.text_body).order_by(OutboxMessage.id))
        for (name, _, token), text in zip(stored, receipts, strict=True):
            assert name in text and f"/applications/{token}" in text


def test_contact_details_cannot_become_another_applicants_name_and_address(app, client, course):
    apply(client, name="Aino Asiakas", email="koti@example.org")
    apply(client, name="Bertta Asukas", email="bertta@example.org")
    bertta = applications(app)[1][2]

    def correct(name: str, email: str) -> int:
        data = {"name": name, "email": email, "phone": "", "csrf_token": csrf_token(client)}
        return client.post(f"/applications/{bertta}/contact", data=data).status_code

    assert correct("aino asiakas", "koti@example.org") == 422
    assert correct("Bertta Asukas", "koti@example.org") == 302  # moved in with Aino
    assert [email for _, email, _ in applications(app)] == ["koti@example.org"] * 2


# --- a lost session --------------------------------------------------------------------------

TYPED = {
    "name": "Aino Åkerlund",
    "email": "aino@example.org",
    "phone": "+358 40 123 4567",
    "home_region": "siun-sote",
    "language": "sv",
    "needs": "Tarvitsen avustajan.\nJa tauon.",
    "motivation": "Haluan oppia uutta & tavata muita.",
}


def test_a_form_sent_without_its_session_comes_back_with_everything_typed(app, course):
    """The token was issued to another session (the cookie expired or was cleared)."""
    other_browser = app.test_client()
    client = app.test_client()
    response = client.post(
        "/groups/kurssi/apply?lang=fi", data=application_form(other_browser, **TYPED)
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Lomake ehti vanhentua. Lähetä se uudelleen." in page
    for name in ("name", "email", "phone"):
        assert re.search(rf'id="{name}"[^>]*value="{re.escape(TYPED[name])}"', page), name
    assert "Tarvitsen avustajan.\nJa tauon.</textarea>" in page
    assert "Haluan oppia uutta &amp; tavata muita.</textarea>" in page
    assert re.search(r'<input checked[^>]*id="consent"|id="consent"[^>]*checked', page)
    assert re.search(r'<input checked[^>]*value="siun-sote"|value="siun-sote"[^>]*checked', page)
    assert applications(app) == [] and outbox(app) == []

    fresh_token = CSRF_PATTERN.search(page).group(1)
    again = client.post(
        "/groups/kurssi/apply", data={**TYPED, "consent": "y", "csrf_token": fresh_token}
    )
    assert again.status_code == 302
    assert [name for name, _, _ in applications(app)] == ["Aino Åkerlund"]


def test_an_application_over_https_needs_no_referer(app, client, course):
    """Browsers send none from a page whose policy forbids it; the token is the check."""
    response = client.post(
        "/groups/kurssi/apply", data=application_form(client), base_url="https://localhost"
    )
    assert response.status_code == 302
    assert len(applications(app)) == 1


def test_the_status_pages_buttons_work_over_https(app, client, course):
    """The applicant's pages tell browsers to send their address to this site only, so the
    Referer that the CSRF check wants over HTTPS comes with the page's own forms."""
    apply(client)
    [(_, _, token)] = applications(app)
    page = client.get(f"/applications/{token}", base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "same-origin"
    response = client.post(
        f"/applications/{token}/withdraw",
        data={"csrf_token": csrf_token(client)},
        base_url="https://localhost",
        headers={"Referer": f"https://localhost/applications/{token}"},
    )
    assert response.status_code == 302


def test_the_same_person_sending_twice_at_once_is_stored_once(app, course):
    """Two submissions meet at the course's row lock; the second then finds the first. Real
    concurrent transactions: PostgreSQL only."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("real concurrent transactions are tested on PostgreSQL")
    clients = [app.test_client() for _ in range(8)]
    forms = [application_form(client) for client in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client: FlaskClient, form: dict[str, object]) -> None:
        barrier.wait()
        statuses.append(client.post("/groups/kurssi/apply", data=form).status_code)

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302] * len(clients)
    assert len(applications(app)) == 1
    assert [kind for kind, _ in outbox(app)].count("application_received") == 1
