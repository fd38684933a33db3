"""A closed course open for applications, with coordinators inside and outside it."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Role
from tests.conftest import csrf_token, make_course_taking_applications, make_region, make_user

REGIONS = ("lansi-uusimaa", "siun-sote", "varha")


@pytest.fixture
def course(app: Flask) -> str:
    with app.app_context():
        regions = [make_region(slug) for slug in REGIONS]
        outside = make_region("lappi")
        db.session.flush()
        make_user("coord@lu.example.org", Role.coordinator, regions[0])
        make_user("coord@siun.example.org", Role.coordinator, regions[1])
        make_user("coord@lappi.example.org", Role.coordinator, outside)
        make_user("fac@lu.example.org", Role.facilitator, regions[0])
        make_user("admin@example.org", Role.admin, None)
        make_course_taking_applications(regions)
        db.session.commit()
    return "kurssi"


def application_form(client: FlaskClient, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Aino Asiakas",
        "email": "aino@example.org",
        "phone": "+358 40 123 4567",
        "home_region": "lansi-uusimaa",
        "language": "fi",
        "needs": "Tarvitsen avustajan.",
        "motivation": "Haluan oppia uutta.",
        "consent": "y",
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def apply(client: FlaskClient, **overrides: object):
    return client.post("/groups/kurssi/apply", data=application_form(client, **overrides))


def token_of(app: Flask, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Application.status_token).where(Application.email == email))


def id_of(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.email == email))


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.kind, m.recipient) for m in rows]


def mail_text(app: Flask, kind: str, recipient: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(OutboxMessage.text_body).where(
                OutboxMessage.kind == kind, OutboxMessage.recipient == recipient
            )
        )


def link_in(text: str, path_part: str) -> str:
    match = re.search(r"https?://\S*" + re.escape(path_part) + r"\S*", text)
    assert match, f"a link containing {path_part} in the mail"
    return "/" + match.group(0).split("://", 1)[1].split("/", 1)[1]
