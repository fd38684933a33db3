"""One bad meeting link never stops the rest (issue 13): the group form and the API refuse a
link calendars cannot carry, and a bad one already stored (an old row) costs only its own
group's link in the feeds and its own invitations, never a feed, an acceptance or the sweep."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import func, select, update
from wtforms.validators import ValidationError

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.calendar.ics import FeedEvent
from remote_groups.extensions import db
from remote_groups.groups.forms import https_only
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region, Role, User
from remote_groups.validators import is_meeting_url
from tests.conftest import HELSINKI, csrf_token, login, make_group, make_region, make_user
from tests.test_api import valid_group
from tests.test_staff_pages import group_form

GOOD_LINK = "https://meet.example.org/test"
BAD_LINKS = pytest.mark.parametrize(
    "bad",
    [
        "https://meet.example.org/x ",
        "https://meet.example.org/\tx",
        "https://meet.example.org/x\r\n",
    ],
    ids=["trailing-space", "tab", "crlf"],
)
REFUSED_FI = "Kokouslinkissä ei saa olla välilyöntejä eikä rivinvaihtoja."


def store_link(slug: str, url: str) -> int:
    """Store a link the way an old row holds one: straight into the table, past the form."""
    db.session.execute(update(RemoteGroup).where(RemoteGroup.slug == slug).values(meeting_url=url))
    db.session.commit()
    return db.session.scalar(select(RemoteGroup.id).where(RemoteGroup.slug == slug))


def db_count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def held_back_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "meeting link" in r.getMessage()]


# --- the rule, at the edge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://meet.example.org/x ",
        " https://meet.example.org/x",
        "https://meet.example.org/\tx",
        "https://meet.example.org/x\r\n",
        "https://meet.example.org/x\x00",
        "https://[meet.example.org/x",
        "javascript:alert(1)",
        "https://",
    ],
)
def test_what_the_group_form_refuses_no_feed_event_could_carry_either(url):
    """One rule in two places: the form's validator and the feed builder's."""
    with pytest.raises(ValidationError):
        https_only(None, SimpleNamespace(data=url))
    assert not is_meeting_url(url)
    with pytest.raises(ValueError):
        FeedEvent(
            uid="x",
            starts_at=datetime(2027, 1, 7, 11, tzinfo=HELSINKI),
            ends_at=datetime(2027, 1, 7, 12, tzinfo=HELSINKI),
            summary="x",
            description="",
            meeting_url=url,
            last_modified=datetime(2027, 1, 1, tzinfo=HELSINKI),
        )


def test_the_group_form_refuses_a_link_ending_in_a_space_with_a_localized_message(
    client, app, world
):
    login(client, "coord@lu.example.org")
    before = db_count(app, RemoteGroup)

    data = group_form(client, meeting_url="https://meet.example.org/x ")
    response = client.post("/staff/groups/new", data=data)

    assert response.status_code == 422
    assert REFUSED_FI in response.get_data(as_text=True)
    assert db_count(app, RemoteGroup) == before


def test_the_api_refuses_a_link_ending_in_a_space_with_a_localized_message(client, app, world):
    login(client, "coord@lu.example.org")
    before = db_count(app, RemoteGroup)

    response = client.post(
        "/api/v1/groups", json=valid_group(meeting_url="https://meet.example.org/x ")
    )

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["meeting_url"] == [REFUSED_FI]
    assert db_count(app, RemoteGroup) == before


# --- feeds -------------------------------------------------------------------------------------


@pytest.fixture
def bad_beside_good(app: Flask, world: dict[str, object], now: datetime) -> dict[str, object]:
    """Beside the world's group (a good link) a second open group of the same regions."""
    today = now.astimezone(HELSINKI).date()
    with app.app_context():
        regions = db.session.get(RemoteGroup, _group_id("test-group")).regions
        make_group(
            list(regions),
            now=now,
            slug="huono",
            title_fi="Huono ryhmä",
            meeting_url="https://meet.example.org/huono",
            weekday=1,
            term_start=today,
            term_end=today + timedelta(weeks=52),
        )
        db.session.commit()
        token = db.session.scalar(
            select(User.feed_token).where(User.email == "coord@lu.example.org")
        )
    return {"token": token}


def _group_id(slug: str) -> int:
    return db.session.scalar(select(RemoteGroup.id).where(RemoteGroup.slug == slug))


def feed_events(data: bytes) -> list:
    return Calendar.from_ical(data).walk("VEVENT")


@BAD_LINKS
def test_a_groups_feed_keeps_its_sessions_without_the_bad_link(
    app, client, bad_beside_good, bad, caplog
):
    with app.app_context():
        group_id = store_link("huono", bad)
    caplog.set_level(logging.WARNING)

    response = client.get("/calendar/groups/huono.ics")

    assert response.status_code == 200
    events = feed_events(response.data)
    assert events
    assert all(name not in event for event in events for name in ("URL", "CONFERENCE"))
    assert "meet.example.org/x" not in response.get_data(as_text=True).replace("\r\n ", "")
    assert held_back_lines(caplog) == [
        f"feed built without the meeting link of group {group_id}: not a usable link"
    ]


@BAD_LINKS
def test_a_regions_feed_shows_every_group_despite_one_bad_link(app, client, bad_beside_good, bad):
    with app.app_context():
        store_link("huono", bad)

    response = client.get(f"/calendar/regions/lansi-uusimaa.ics?token={bad_beside_good['token']}")

    assert response.status_code == 200
    events = feed_events(response.data)
    by_group = {str(e["SUMMARY"]) for e in events}
    assert by_group == {"Testiryhmä", "Huono ryhmä"}
    good = [e for e in events if str(e["SUMMARY"]) == "Testiryhmä"]
    assert all(str(e["URL"]) == GOOD_LINK for e in good)
    assert client.get("/calendar/groups/test-group.ics").status_code == 200


# --- invitations: the acceptance and the sweep -------------------------------------------------


def course_meeting_soon(regions: list[Region], slug: str, now: datetime) -> RemoteGroup:
    """A closed course taking applications whose sessions start the day after tomorrow, so
    its first session is within the week of invitations."""
    today = now.astimezone(HELSINKI).date()
    first = today + timedelta(days=2)
    return make_group(
        regions,
        now=now,
        slug=slug,
        kind=GroupKind.closed,
        capacity=5,
        application_opens=today - timedelta(days=1),
        application_closes=first,
        weekday=first.weekday(),
        start_time=time(13, 0),
        term_start=first,
        term_end=first + timedelta(weeks=8),
        skip_holidays=False,
    )


def applicant(group: RemoteGroup, region: Region, email: str, status: ApplicationStatus, now):
    application = Application(
        group=group,
        name=email.split("@")[0].title(),
        email=email,
        phone=None,
        home_region=region,
        language="fi",
        needs=None,
        motivation="Haluan mukaan.",
        consent_at=now,
        status=status,
    )
    db.session.add(application)
    return application


@pytest.fixture
def two_courses(app: Flask, now: datetime) -> dict[str, int]:
    """Two courses meeting within the week, the second with a bad link (stored past the
    form), each with one applicant waiting for a decision and one already accepted."""
    with app.app_context():
        region = make_region("lansi-uusimaa")
        db.session.flush()
        make_user("coord@lu.example.org", Role.coordinator, region)
        ids = {}
        for slug in ("hyva", "huono"):
            course = course_meeting_soon([region], slug, now)
            waiting = applicant(
                course, region, f"odottaa@{slug}.example.org", ApplicationStatus.submitted, now
            )
            applicant(course, region, f"mukana@{slug}.example.org", ApplicationStatus.accepted, now)
            db.session.flush()
            ids[slug] = waiting.id
        db.session.commit()
        ids["bad_group"] = store_link("huono", "https://meet.example.org/x ")
    return ids


def invited(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.kind == "invitation")
            )
        )


def test_accepting_into_a_course_with_a_bad_link_succeeds_and_holds_back_its_invitation(
    app, client, two_courses, caplog
):
    login(client, "coord@lu.example.org")
    caplog.set_level(logging.WARNING)

    for slug in ("huono", "hyva"):
        response = client.post(
            f"/staff/applications/{two_courses[slug]}/decide",
            data={"decision": "accepted", "message": "", "csrf_token": csrf_token(client)},
        )
        assert response.status_code == 302
        sent = client.post(  # the send step mails the acceptance and the first invitations
            f"/staff/courses/{slug}/decisions/send-now", data={"csrf_token": csrf_token(client)}
        )
        assert sent.status_code == 302

    with app.app_context():
        accepted = db.session.scalars(
            select(Application.email).where(
                Application.id.in_([two_courses["huono"], two_courses["hyva"]]),
                Application.status == ApplicationStatus.accepted,
            )
        ).all()
        told = db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == "application_accepted")
        ).all()
        session_id = db.session.scalar(
            select(Session.id)
            .where(Session.group_id == two_courses["bad_group"])
            .order_by(Session.starts_at)
        )
    assert sorted(accepted) == ["odottaa@huono.example.org", "odottaa@hyva.example.org"]
    assert sorted(told) == sorted(accepted)
    assert invited(app) == ["odottaa@hyva.example.org"]
    lines = held_back_lines(caplog)
    assert lines == [
        f"invitations to session {session_id} held back: the meeting link of group "
        f"{two_courses['bad_group']} is not usable"
    ]
    assert not any("odottaa" in line or "Odottaa" in line for line in lines)


def test_the_sweep_command_invites_to_the_good_courses_and_skips_the_bad_one(
    app, two_courses, caplog
):
    caplog.set_level(logging.WARNING)

    result = app.test_cli_runner().invoke(args=["mail", "sweep"])

    assert result.exit_code == 0, result.output
    assert invited(app) == ["mukana@hyva.example.org"]
    assert "Queued 1 messages." in result.output
    assert [line for line in held_back_lines(caplog) if "held back" in line]
    assert not any("mukana" in line for line in held_back_lines(caplog))


def test_once_the_link_is_fixed_the_next_sweep_sends_the_held_back_invitation(app, two_courses):
    assert app.test_cli_runner().invoke(args=["mail", "sweep"]).exit_code == 0
    with app.app_context():
        store_link("huono", "https://meet.example.org/huono")

    assert app.test_cli_runner().invoke(args=["mail", "sweep"]).exit_code == 0

    assert invited(app) == ["mukana@huono.example.org", "mukana@hyva.example.org"]
