"""The applicant's separate consent to show their needs to the sessions' facilitators (issue
15): asked on the form in plain words, stored on the application only when given and when
there are needs to show, shown to the coordinators, and forgotten with the application."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.applications.service.retention import anonymize_expired
from remote_groups.extensions import db
from remote_groups.i18n import LANGUAGE_COOKIE
from tests.applications.conftest import apply, id_of
from tests.conftest import login


def consent_of(app: Flask, email: str):
    with app.app_context():
        return db.session.scalar(
            select(Application.needs_shared_at).where(Application.email == email)
        )


def test_the_form_asks_for_the_consent_in_plain_words(client: FlaskClient, course: str) -> None:
    page = client.get("/groups/kurssi/apply").get_data(as_text=True)
    assert 'name="share_needs"' in page
    assert "Tuokioiden ohjaajat saavat nähdä, mitä kirjoitin tarpeistani" in page
    client.set_cookie(LANGUAGE_COOKIE, "sv")
    page = client.get("/groups/kurssi/apply").get_data(as_text=True)
    assert "Handledarna för träffarna får se vad jag skrev om mina behov" in page


def test_the_consent_is_stored_with_its_time_when_given(
    app: Flask, client: FlaskClient, course: str, now
) -> None:
    assert apply(client, share_needs="y").status_code == 302
    stored = consent_of(app, "aino@example.org")
    assert stored is not None and abs(stored - now) < timedelta(minutes=1)  # the clock ticks on


def test_without_the_box_the_needs_are_not_shared(
    app: Flask, client: FlaskClient, course: str
) -> None:
    assert apply(client).status_code == 302
    assert consent_of(app, "aino@example.org") is None
    with app.app_context():
        application = db.session.scalar(select(Application))
        assert application.needs == "Tarvitsen avustajan."  # the coordinators still read them


def test_a_consent_without_needs_stores_nothing(
    app: Flask, client: FlaskClient, course: str
) -> None:
    assert apply(client, needs="", share_needs="y").status_code == 302
    assert consent_of(app, "aino@example.org") is None


def test_the_coordinator_sees_whether_the_needs_are_shared(
    app: Flask, client: FlaskClient, course: str
) -> None:
    apply(client, share_needs="y")
    apply(client, name="Bertta Asiakas", email="bertta@example.org")
    login(client, "coord@lu.example.org")
    shared = client.get(f"/staff/applications/{id_of(app, 'aino@example.org')}")
    kept = client.get(f"/staff/applications/{id_of(app, 'bertta@example.org')}")
    assert "Kyllä, hakija antoi siihen luvan" in shared.get_data(as_text=True)
    assert "Kyllä, hakija antoi siihen luvan" not in kept.get_data(as_text=True)


def test_anonymizing_forgets_the_consent_with_the_needs(
    app: Flask, client: FlaskClient, course: str, now
) -> None:
    apply(client, share_needs="y")
    with app.app_context():
        course_end = db.session.scalar(select(Application)).group.term_end
        later = now + (course_end - now.date()) + timedelta(days=200)
        assert anonymize_expired(later, retention_days=90) == 1
        application = db.session.scalar(select(Application))
        assert (application.needs, application.needs_shared_at) == (None, None)
