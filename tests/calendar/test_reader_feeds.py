"""Every kind of feed, and an invitation, as Thunderbird (ical.js) and GNOME (libical) read
them, in summer and in winter, compared start by start with the JSON API.

The clock is set to a summer day (20 August 2027, when ical.js once read every 13:00 session
of the summer as 14:00) and to a winter day (5 January 2027); the feeds then hold sessions on
both sides of both clock changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.calendar.service import content, invitations, specs
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, Session
from remote_groups.regions.models import Role, User
from remote_groups.rotation import service as rotation_service
from tests.calendar.readers import READERS_BY_NAME, Reader
from tests.conftest import login, make_group, make_participant, make_region, make_user

HELSINKI = ZoneInfo("Europe/Helsinki")
CLOCKS = {
    "summer": datetime(2027, 8, 20, 12, 0, tzinfo=HELSINKI),
    "winter": datetime(2027, 1, 5, 12, 0, tzinfo=HELSINKI),
}
TERM = {"term_start": date(2026, 9, 1), "term_end": date(2028, 8, 31)}


@pytest.fixture(params=sorted(CLOCKS))
def clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    with time_machine.travel(CLOCKS[request.param], tick=False):
        content.built_feeds.clear()
        yield CLOCKS[request.param]
    content.built_feeds.clear()


@pytest.fixture(params=sorted(READERS_BY_NAME))
def reader(request: pytest.FixtureRequest) -> Reader:
    return READERS_BY_NAME[request.param]


@pytest.fixture
def network(app: Flask, clock: datetime) -> dict[str, str]:
    """An open group and a closed course meeting on Thursdays at 13:00 for two years, hosted
    in turn by three regions; a facilitator of Länsi-Uusimaa leading every session their
    region hosts from now on; a participant of the course."""
    now = clock.astimezone(UTC)
    with app.app_context():
        regions = [make_region(slug) for slug in ("lansi-uusimaa", "siun-sote", "varha")]
        db.session.flush()
        lead = make_user("fac@lu.example.org", Role.facilitator, regions[0])
        make_user("coord@lu.example.org", Role.coordinator, regions[0])
        group = make_group(regions, now=now, slug="avoin", start_time=time(13, 0), **TERM)
        course = make_group(
            regions, now=now, slug="kurssi", kind=GroupKind.closed, capacity=10, **TERM
        )
        for session in [*group.sessions, *course.sessions]:
            if session.host_region_id == regions[0].id and session.starts_at > now:
                rotation_service.assign_facilitators(session, lead, [], now)
        application = make_participant(course, regions[0], now)
        db.session.commit()
        tokens = {u.email: u.feed_token for u in db.session.scalars(select(User))}
        return {
            "participant": application.participant.feed_token,
            "facilitator": tokens["fac@lu.example.org"],
            "coordinator": tokens["coord@lu.example.org"],
        }


def api_sessions(client: FlaskClient, slug: str) -> list[dict]:
    response = client.get(f"/api/v1/groups/{slug}/sessions")
    assert response.status_code == 200
    return response.get_json()["items"]


def instants(items: list[dict], now: datetime) -> list[tuple[datetime, datetime]]:
    """The API's sessions that a feed shows today (30 days back, 12 months ahead)."""
    window = specs.feed_window(now)
    found = []
    for item in items:
        starts_at = datetime.fromisoformat(item["starts_at"])
        if window.starts <= starts_at < window.ends:
            found.append((starts_at, datetime.fromisoformat(item["ends_at"])))
    return sorted(found)


def read(reader: Reader, data: bytes) -> list[tuple[datetime, datetime]]:
    found = []
    for event in reader(data)["events"]:
        starts_at = datetime.fromisoformat(event["start"].replace("Z", "+00:00"))
        ends_at = datetime.fromisoformat(event["end"].replace("Z", "+00:00"))
        found.append((starts_at, ends_at))
    return sorted(found)


def feed(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.data


def summer_and_winter(found: list[tuple[datetime, datetime]]) -> set[bool]:
    return {bool(start.astimezone(HELSINKI).dst()) for start, _ in found}


def test_public_group_feed_gives_the_apis_instants(client, network, clock, reader):
    expected = instants(api_sessions(client, "avoin"), clock)
    found = read(reader, feed(client, "/calendar/groups/avoin.ics"))
    assert summer_and_winter(found) == {True, False}
    assert found == expected


def test_participant_feed_gives_the_apis_instants(client, network, clock, reader):
    expected = instants(api_sessions(client, "kurssi"), clock)
    found = read(reader, feed(client, f"/calendar/p/{network['participant']}.ics"))
    assert summer_and_winter(found) == {True, False}
    assert found == expected


def test_facilitator_feed_gives_the_apis_instants(client, network, clock, reader):
    login(client, "coord@lu.example.org")
    led = [
        item
        for slug in ("avoin", "kurssi")
        for item in api_sessions(client, slug)
        if (item["lead_facilitator"] or {}).get("name") == "fac"
    ]
    found = read(reader, feed(client, f"/calendar/f/{network['facilitator']}.ics"))
    assert summer_and_winter(found) == {True, False}
    assert found == instants(led, clock)


def test_region_feed_gives_the_apis_instants(client, network, clock, reader):
    hosted = [
        item
        for slug in ("avoin", "kurssi")
        for item in api_sessions(client, slug)
        if item["host_region"] == "lansi-uusimaa"
    ]
    url = f"/calendar/regions/lansi-uusimaa.ics?token={network['coordinator']}"
    found = read(reader, feed(client, url))
    assert summer_and_winter(found) == {True, False}
    assert found == instants(hosted, clock)


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invitations_give_the_apis_instant_in_summer_and_winter(
    app, client, network, clock, reader, method
):
    items = {item["id"]: item for item in api_sessions(client, "kurssi")}
    with app.app_context(), app.test_request_context():
        upcoming = db.session.scalars(
            select(Session)
            .where(Session.group.has(slug="kurssi"), Session.starts_at > clock)
            .order_by(Session.starts_at)
        ).all()
        summer = next(s for s in upcoming if s.starts_at.astimezone(HELSINKI).dst())
        winter = next(s for s in upcoming if not s.starts_at.astimezone(HELSINKI).dst())
        for session in (summer, winter):
            data = invitations.session_invitation(session, "aino@example.org", "fi", method)
            read_back = reader(data.encode("utf-8"))
            assert read_back["method"] == method
            item = items[session.id]
            assert read(reader, data.encode("utf-8")) == [
                (
                    datetime.fromisoformat(item["starts_at"]),
                    datetime.fromisoformat(item["ends_at"]),
                )
            ]
