"""Groups with an owner region and partner regions, and a coordinator of each."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.regions.models import Region, Role
from tests.conftest import csrf_token, make_user

OWNER = "coord@lu.example.org"  # lansi-uusimaa owns the world's test-group
PARTNER = "coord@siun.example.org"  # siun-sote takes part in it
MEETING_URL = "https://meet.example.org/test"


@pytest.fixture
def partners(app: Flask, world: dict[str, object]) -> dict[str, object]:
    """The world, with a coordinator for the partner region siun-sote."""
    with app.app_context():
        siun = db.session.scalar(select(Region).where(Region.slug == "siun-sote"))
        make_user(PARTNER, Role.coordinator, siun)
        db.session.commit()
    return world


def edit_form(client, **overrides):
    """What a browser sends from the test group's edit page, structure fields included."""
    data = {
        "slug": "test-group",
        "kind": "open",
        "language": "fi",
        "title_fi": "Uusi nimi",
        "meeting_url": MEETING_URL,
        "weekday": "3",
        "start_time": "13:00",
        "duration_minutes": "60",
        "term_start": "2026-06-01",
        "term_end": "2027-05-31",
        "skip_holidays": "y",
        "rotation_policy": "round_robin",
        "regions": ["lansi-uusimaa", "siun-sote", "varha"],
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def stored_group(app: Flask) -> dict[str, object]:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        return {
            "title_fi": group.title_fi,
            "kind": group.kind,
            "meeting_url": group.meeting_url,
            "regions": [r.slug for r in group.regions],
            "owner": group.owner_region.slug,
        }


def sessions_and_hosts(app: Flask) -> list[tuple[int, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(Session.id, Session.host_region_id).order_by(Session.id)
        ).all()
        return [tuple(row) for row in rows]


def api_group(**overrides: object) -> dict[str, object]:
    """A POST /api/v1/groups body for a group of the owner region; ``overrides`` change it."""
    payload = {
        "slug": "api-group",
        "kind": "open",
        "language": "fi",
        "title_fi": "API-ryhmä",
        "meeting_url": "https://meet.example.org/api",
        "weekday": 1,
        "start_time": "14:30",
        "duration_minutes": 60,
        "term_start": "2027-01-01",
        "term_end": "2027-03-31",
        "regions": ["lansi-uusimaa"],
    }
    payload.update(overrides)
    return payload
