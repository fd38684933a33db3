"""A new group is a draft: its staff see it (with a banner), nobody else finds it anywhere,
until the organizing region's coordinator publishes it; back to draft hides it again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from remote_groups.applications.models import Participant
from remote_groups.extensions import db
from remote_groups.groups.models import Publication
from remote_groups.groups.service import group_by_slug
from remote_groups.notifications.sweep import Recipient, invite, sweep
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region, Role
from remote_groups.subscriptions.models import Subscription
from tests.conftest import (
    csrf_token,
    login,
    make_course_taking_applications,
    make_participant,
    make_user,
)
from tests.groups.conftest import PARTNER, edit_form

MIGRATIONS = str(Path(__file__).parent.parent.parent / "migrations")
OWNER = "coord@lu.example.org"
BANNER = "Luonnos – ei vielä julkinen"
SUBSCRIBER = "tilaaja@example.org"
PARTICIPANT = "aino@example.org"


def set_publication(app: Flask, slug: str, publication: Publication) -> None:
    with app.app_context():
        group_by_slug(slug).publication = publication
        db.session.commit()


@pytest.fixture
def drafts(app: Flask, world: dict[str, object]) -> dict[str, object]:
    """The world's open group (with a confirmed subscriber) and a course taking applications
    (with an accepted participant), both taken back to draft."""
    with app.app_context():
        regions = list(db.session.scalars(select(Region).order_by(Region.id)))[:3]
        course = make_course_taking_applications(regions)
        make_participant(course, regions[0], course.created_at, email=PARTICIPANT)
        group = group_by_slug("test-group")
        db.session.add(
            Subscription(
                group=group, email=SUBSCRIBER, language="fi", confirmed_at=group.created_at
            )
        )
        for row in (group, course):
            row.publication = Publication.draft
        db.session.commit()
    return world


def public_surfaces(client: FlaskClient, app: Flask) -> dict[str, object]:
    """What an anonymous visitor gets of the two groups from every public place."""
    with app.app_context():
        token = db.session.scalar(select(Participant.feed_token))
    home = client.get("/").get_data(as_text=True)
    listing = client.get("/groups").get_data(as_text=True)
    api_items = client.get("/api/v1/groups").get_json()["items"]
    return {
        "home": ("/groups/test-group" in home, "/groups/kurssi" in home),
        "list": ("/groups/test-group" in listing, "/groups/kurssi" in listing),
        "api list": sorted(item["slug"] for item in api_items),
        "page": client.get("/groups/test-group").status_code,
        "course page": client.get("/groups/kurssi").status_code,
        "apply": client.get("/groups/kurssi/apply").status_code,
        "feed": client.get("/calendar/groups/test-group.ics").status_code,
        "participant feed": client.get(f"/calendar/p/{token}.ics").status_code,
        "api group": client.get("/api/v1/groups/test-group").status_code,
        "api sessions": client.get("/api/v1/groups/kurssi/sessions").status_code,
    }


HIDDEN = {
    "home": (False, False),
    "list": (False, False),
    "api list": [],
    "page": 404,
    "course page": 404,
    "apply": 404,
    "feed": 404,
    "participant feed": 404,
    "api group": 404,
    "api sessions": 404,
}
SHOWN = {
    "home": (True, True),
    "list": (True, True),
    "api list": ["kurssi", "test-group"],
    "page": 200,
    "course page": 200,
    "apply": 200,
    "feed": 200,
    "participant feed": 200,
    "api group": 200,
    "api sessions": 200,
}


def publish(client: FlaskClient, slug: str, action: str = "publish"):
    return client.post(f"/staff/groups/{slug}/{action}", data={"csrf_token": csrf_token(client)})


def test_a_draft_is_absent_from_every_public_place(client, app, drafts):
    assert public_surfaces(client, app) == HIDDEN


def test_publishing_shows_the_groups_everywhere_and_back_to_draft_hides_them_again(
    client, app, drafts
):
    login(client, OWNER)
    for slug in ("test-group", "kurssi"):
        assert publish(client, slug).status_code == 302
    anonymous = app.test_client()
    assert public_surfaces(anonymous, app) == SHOWN
    login(client, OWNER)
    for slug in ("test-group", "kurssi"):
        assert publish(client, slug, "unpublish").status_code == 302
    assert public_surfaces(app.test_client(), app) == HIDDEN


def test_subscribing_to_a_draft_is_not_found(client, app, drafts):
    response = client.post(
        "/groups/test-group/subscribe",
        data={"email": "uusi@example.org", "language": "fi", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 404


def test_a_draft_sends_its_clients_no_reminder_or_invitation_until_published(app, drafts):
    with app.app_context(), app.test_request_context():
        first = group_by_slug("test-group").sessions[0]
        course_first = group_by_slug("kurssi").sessions[0]
        sweep(first.starts_at - timedelta(hours=1))
        sweep(course_first.starts_at - timedelta(hours=1))
        db.session.commit()
        assert db.session.scalars(select(OutboxMessage.recipient)).all() == []

    set_publication(app, "test-group", Publication.published)
    set_publication(app, "kurssi", Publication.published)
    with app.app_context(), app.test_request_context():
        first = group_by_slug("test-group").sessions[0]
        course_first = group_by_slug("kurssi").sessions[0]
        sweep(first.starts_at - timedelta(hours=1))
        sweep(course_first.starts_at - timedelta(hours=1))
        db.session.commit()
        told = set(db.session.scalars(select(OutboxMessage.recipient)))
    assert {SUBSCRIBER, PARTICIPANT} <= told


def test_a_group_made_on_the_staff_form_is_a_draft_its_staff_see_with_a_banner(client, app, world):
    login(client, OWNER)
    response = client.post(
        "/staff/groups/new", data=edit_form(client, slug="uusi-ryhma", title_sv="Ny grupp")
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert group_by_slug("uusi-ryhma").publication == Publication.draft
    page = client.get("/groups/uusi-ryhma").get_data(as_text=True)
    assert "luonnoksena" in page  # the flash: created as a draft
    assert BANNER in page
    assert 'href="/staff/groups/uusi-ryhma/publish"' in page
    assert app.test_client().get("/groups/uusi-ryhma").status_code == 404


def test_a_published_group_has_no_banner(client, app, world):
    login(client, OWNER)
    page = client.get("/groups/test-group").get_data(as_text=True)
    assert BANNER not in page
    assert 'href="/staff/groups/test-group/unpublish"' in page


def test_a_group_made_through_the_api_is_a_draft(client, app, world):
    login(client, OWNER)
    payload = {key: value for key, value in edit_form(client, slug="api-ryhma").items()}
    payload["weekday"], payload["duration_minutes"] = 3, 60
    payload["skip_holidays"] = True
    headers = {"X-CSRFToken": payload.pop("csrf_token")}
    response = client.post("/api/v1/groups", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert app.test_client().get("/api/v1/groups/api-ryhma").status_code == 404
    assert client.get("/api/v1/groups/api-ryhma").status_code == 200  # its staff see it


def test_the_publish_page_asks_first_and_says_what_follows(client, app, drafts):
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/publish")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Julkaistaanko ryhmä?" in text
    with app.app_context():
        assert group_by_slug("test-group").publication == Publication.draft
    assert client.post("/staff/groups/test-group/publish").status_code == 400  # no token


def test_publishing_twice_says_it_is_public_already(client, app, world):
    login(client, OWNER)
    response = publish(client, "test-group")
    assert response.status_code == 302
    assert "Ryhmä on jo julkinen." in client.get("/groups/test-group").get_data(as_text=True)


def test_only_the_organizing_regions_coordinators_publish(client, app, drafts):
    with app.app_context():
        siun = db.session.scalar(select(Region).where(Region.slug == "siun-sote"))
        make_user(PARTNER, Role.coordinator, siun)
        db.session.commit()
    login(client, PARTNER)
    page = client.get("/groups/test-group")
    assert page.status_code == 200  # a partner region's coordinator sees the draft
    assert "/staff/groups/test-group/publish" not in page.get_data(as_text=True)
    assert client.get("/staff/groups/test-group/publish").status_code == 403
    assert publish(client, "test-group").status_code == 403
    with app.app_context():
        assert group_by_slug("test-group").publication == Publication.draft


def test_a_coordinator_of_a_region_outside_the_group_does_not_find_the_draft(client, app, drafts):
    login(client, "coord@lappi.example.org")
    assert client.get("/groups/test-group").status_code == 404


def test_staff_home_lists_the_drafts_with_a_marker(client, app, drafts):
    login(client, OWNER)
    page = client.get("/staff/").get_data(as_text=True)
    assert "/groups/test-group" in page
    assert 'class="tag tag--draft">Luonnos<' in page


@pytest.fixture
def draft_before_0017(app: Flask, world: dict[str, object]) -> Iterator[None]:
    """The world's group as a draft; the schema is then taken back to before 0017 and brought
    up to the newest afterwards whatever happens."""
    set_publication(app, "test-group", Publication.draft)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="0016_decision_sending")
    try:
        yield
    finally:
        with app.app_context():
            upgrade(directory=MIGRATIONS)


def test_upgrading_to_0017_publishes_every_group_that_existed(app, draft_before_0017):
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0017_course_drafts")
        db.session.remove()
        assert group_by_slug("test-group").publication == Publication.published


def test_a_participant_accepted_on_a_draft_course_gets_no_invitation_until_it_is_published(
    app, drafts
):
    with app.app_context(), app.test_request_context():
        course = group_by_slug("kurssi")
        application = db.session.scalar(select(Participant)).application
        first = course.sessions[0]
        assert invite(first, Recipient.participant(application)) is False
        db.session.commit()
        assert db.session.scalars(select(OutboxMessage.recipient)).all() == []
        course.publication = Publication.published
        assert invite(first, Recipient.participant(application)) is True
