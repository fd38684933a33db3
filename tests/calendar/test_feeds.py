"""The calendar feeds over HTTP, read as a subscribing client would.

Every feed is parsed with a fresh ``icalendar.Calendar.from_ical`` and expanded with
``recurring_ical_events``, independently of the objects the service built.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from dateutil.easter import easter
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar, Event
from sqlalchemy import select

from remote_groups.applications.models import ApplicationStatus, Participant
from remote_groups.calendar.service import content
from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.regions.models import Region, Role, User
from remote_groups.rotation import service as rotation_service
from tests.conftest import csrf_token, login, make_group, make_participant, make_region, make_user

HELSINKI = ZoneInfo("Europe/Helsinki")
TITLE_FI = "Mieli, keho; yhdessä – Ψυχή 心"
TITLE_SV = "Sinne och kropp; tillsammans"
DESCRIPTION_FI = "Rivi yksi.\nRivi kaksi; pilkku, ja kenoviiva \\N."
LEAD_NAME = "Liisa Lindqvist"
CO_NAME = "Sven Svensson"
PARTICIPANT_NAME = "Aino Asiakas"
PARTICIPANT_EMAIL = "aino@example.org"


def today() -> date:
    return datetime.now(HELSINKI).date()


def set_name(email: str, name: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    user.name = name
    return user


def first_session_hosted_by(group: RemoteGroup, region: Region) -> Session:
    return next(s for s in group.sessions if s.host_region_id == region.id)


@pytest.fixture(autouse=True)
def _no_built_feeds() -> Iterator[None]:
    """Every test starts with an empty feed cache, so no test sees another's bytes."""
    content.built_feeds.clear()
    yield
    content.built_feeds.clear()


@pytest.fixture
def feeds(app: Flask) -> dict[str, object]:
    """An open group and a closed course, both weekly on Thursdays for a year from today,
    hosted in turn by three regions; a participant of the course; staff with feed tokens."""
    with app.app_context():
        lu, siun, varha = (make_region(s) for s in ("lansi-uusimaa", "siun-sote", "varha"))
        lappi = make_region("lappi")
        db.session.flush()
        make_user("admin@example.org", Role.admin, None)
        make_user("coord@lu.example.org", Role.coordinator, lu)
        make_user("coord@lappi.example.org", Role.coordinator, lappi)
        make_user("fac@lu.example.org", Role.facilitator, lu)
        make_user("fac@siun.example.org", Role.facilitator, siun, language="sv")
        lead = set_name("fac@lu.example.org", LEAD_NAME)
        co = set_name("fac@siun.example.org", CO_NAME)
        now = datetime.now(UTC)
        term = {"term_start": today(), "term_end": today() + timedelta(days=365)}
        group = make_group(
            [lu, siun, varha],
            now=now,
            slug="avoin",
            title_fi=TITLE_FI,
            title_sv=TITLE_SV,
            description_fi=DESCRIPTION_FI,
            **term,
        )
        course = make_group(
            [lu, siun, varha],
            now=now,
            slug="kurssi",
            kind=GroupKind.closed,
            capacity=10,
            title_fi="Hyvinvointikurssi",
            title_sv="Välmåendekurs",
            **term,
        )
        for each in (group, course):
            session = first_session_hosted_by(each, lu)
            rotation_service.assign_facilitators(session, lead, [co], now)
        application = make_participant(
            course,
            lu,
            now,
            name=PARTICIPANT_NAME,
            email=PARTICIPANT_EMAIL,
            needs="Tarvitsen avustajan.",
        )
        db.session.commit()
        tokens = {u.email: u.feed_token for u in db.session.scalars(select(User))}
        return {
            "group": group.slug,
            "course": course.slug,
            "participant": application.participant.feed_token,
            "tokens": tokens,
        }


# --- reading feeds ------------------------------------------------------------------------


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def events(data: bytes) -> list[Event]:
    """The events a client shows, expanded by an independent reader, in time order."""
    found = recurring_ical_events.of(parse(data)).between(
        today() - timedelta(days=400), today() + timedelta(days=800)
    )
    return sorted(found, key=lambda e: (e["DTSTART"].dt, str(e["UID"])))


def unfolded(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


def raw_value(data: bytes, name: str) -> str:
    """A calendar-level TEXT property, unescaped here (icalendar leaves NAME/X-WR-* alone)."""
    line = next(line for line in unfolded(data) if line.startswith(f"{name}:"))
    raw = line.split(":", 1)[1]
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)


def get_feed(client: FlaskClient, url: str, **headers: str) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.data


def group_feed_url(feeds: dict[str, object], **query: str) -> str:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return f"/calendar/groups/{feeds['group']}.ics{suffix}"


def participant_url(feeds: dict[str, object]) -> str:
    return f"/calendar/p/{feeds['participant']}.ics"


def staff_url(feeds: dict[str, object], email: str) -> str:
    return f"/calendar/f/{feeds['tokens'][email]}.ics"


def local_start(event: Event) -> datetime:
    return event["DTSTART"].dt.astimezone(HELSINKI)


# --- the calendar -------------------------------------------------------------------------


def test_group_feed_is_a_utf8_calendar(client, feeds):
    response = client.get(group_feed_url(feeds))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.data.startswith(b"BEGIN:VCALENDAR\r\n")


def test_calendar_has_name_timezone_and_refresh_interval(client, feeds):
    data = get_feed(client, group_feed_url(feeds))
    calendar = parse(data)
    assert str(calendar["PRODID"]) and str(calendar["VERSION"]) == "2.0"
    assert "METHOD" not in calendar
    assert raw_value(data, "NAME") == raw_value(data, "X-WR-CALNAME") == TITLE_FI
    assert raw_value(data, "X-WR-TIMEZONE") == "Europe/Helsinki"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfolded(data)
    assert "X-PUBLISHED-TTL:PT1H" in unfolded(data)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Helsinki"]


def test_refresh_interval_follows_the_configuration(app, client, feeds, monkeypatch):
    monkeypatch.setitem(app.config, "FEED_REFRESH_MINUTES", 120)
    lines = unfolded(get_feed(client, group_feed_url(feeds)))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT2H" in lines
    assert "X-PUBLISHED-TTL:PT2H" in lines


def test_feed_shows_30_days_back_to_12_months_ahead(app, client, feeds):
    with app.app_context():
        group = group_service.group_by_slug(feeds["group"])
        for days in (-40, -20, 400):
            day = today() + timedelta(days=days)
            starts = datetime.combine(day, time(13), tzinfo=HELSINKI)
            group.sessions.append(
                Session(occurrence_date=day, starts_at=starts, ends_at=starts + timedelta(hours=1))
            )
        db.session.commit()
    shown = {local_start(e).date() for e in events(get_feed(client, group_feed_url(feeds)))}
    assert today() - timedelta(days=20) in shown
    assert today() - timedelta(days=40) not in shown
    assert today() + timedelta(days=400) not in shown
    assert max(shown) <= today() + timedelta(days=366)
    assert max(shown) >= today() + timedelta(days=330)


# --- times --------------------------------------------------------------------------------


def test_sessions_stay_at_13_local_time_across_both_dst_changes(client, feeds):
    data = get_feed(client, group_feed_url(feeds))
    found = events(data)
    assert len(found) >= 48
    assert {local_start(e).time() for e in found} == {time(13)}
    assert {(e["DTEND"].dt - e["DTSTART"].dt) for e in found} == {timedelta(hours=1)}
    offsets = [local_start(e).utcoffset() for e in found]
    assert set(offsets) == {timedelta(hours=2), timedelta(hours=3)}
    changes = sum(1 for a, b in zip(offsets, offsets[1:], strict=False) if a != b)
    assert changes >= 2  # into summer time and back, within a year of Thursdays
    starts = [line for line in unfolded(data) if line.startswith("DTSTART;")]
    assert len(starts) == len(found)
    assert all(re.fullmatch(r"DTSTART;TZID=Europe/Helsinki:\d{8}T130000", s) for s in starts)


def test_ascension_day_leaves_a_gap_in_the_feed(client, feeds):
    year = today().year
    ascension = next(
        d for d in (easter(y) + timedelta(days=39) for y in (year, year + 1)) if d > today()
    )
    shown = {local_start(e).date() for e in events(get_feed(client, group_feed_url(feeds)))}
    assert ascension not in shown
    term = (today(), today() + timedelta(days=365))
    neighbours = [ascension + timedelta(days=days) for days in (-7, 7)]
    neighbours = [day for day in neighbours if term[0] < day <= term[1]]
    assert neighbours and all(day in shown for day in neighbours)


# --- events -------------------------------------------------------------------------------


def test_event_has_uid_stamps_link_and_host_region(app, client, feeds):
    found = events(get_feed(client, group_feed_url(feeds)))
    with app.app_context():
        group = group_service.group_by_slug(feeds["group"])
        first = group.sessions[0]
        expected_uid = first.uid
        host = str(first.host_region.name("fi"))
        meeting_url = group.meeting_url
    event = found[0]
    assert str(event["UID"]) == expected_uid
    assert event["DTSTAMP"].dt.tzinfo is not None
    assert event["LAST-MODIFIED"].dt.utcoffset() == timedelta(0)
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == TITLE_FI
    assert str(event["URL"]) == meeting_url
    assert str(event["CONFERENCE"]) == meeting_url
    assert meeting_url in str(event["DESCRIPTION"])
    assert f"Vuorossa oleva hyvinvointialue: {host}" in str(event["DESCRIPTION"])


def test_uids_are_unique_per_session(client, feeds):
    found = events(get_feed(client, group_feed_url(feeds)))
    assert len({str(e["UID"]) for e in found}) == len(found)


def test_an_event_uid_is_the_sessions_random_uuid_not_its_database_id(app, client, feeds):
    found = events(get_feed(client, group_feed_url(feeds)))
    with app.app_context():
        group = group_service.group_by_slug(feeds["group"])
        stored = [s.uid for s in group.sessions]
    uids = [str(e["UID"]) for e in found]
    assert uids == stored
    assert {uuid.UUID(uid).version for uid in uids} == {4}


def test_event_uids_stay_the_same_under_another_base_url(app, client, feeds, monkeypatch):
    before = events(get_feed(client, group_feed_url(feeds)))
    monkeypatch.setitem(app.config, "BASE_URL", "https://ryhmat.example.fi")
    data = get_feed(client, group_feed_url(feeds))
    assert "https://ryhmat.example.fi/groups/avoin" in raw_value(data, "X-WR-CALDESC")
    assert [str(e["UID"]) for e in events(data)] == [str(e["UID"]) for e in before]


def test_a_uid_from_before_0006_is_published_as_stored_under_any_base_url(
    app, client, feeds, monkeypatch
):
    """A session that existed before migration 0006 keeps ``session-<id>@<host>`` of the
    address it was published at, also after the site moves to another one."""
    with app.app_context():
        first = group_service.group_by_slug(feeds["group"]).sessions[0]
        legacy = f"session-{first.id}@127.0.0.1"
        first.uid = legacy
        db.session.commit()
    monkeypatch.setitem(app.config, "BASE_URL", "https://ryhmat.example.fi")
    found = events(get_feed(client, group_feed_url(feeds)))
    assert str(found[0]["UID"]) == legacy
    assert {uuid.UUID(str(e["UID"])).version for e in found[1:]} == {4}


def test_titles_and_texts_with_special_characters_round_trip(app, client, feeds):
    topic = "Uni; lepo, ja\nrentoutuminen"
    with app.app_context():
        group = group_service.group_by_slug(feeds["group"])
        group.sessions[0].topic = topic
        db.session.commit()
    data = get_feed(client, group_feed_url(feeds))
    event = events(data)[0]
    assert str(event["SUMMARY"]) == TITLE_FI
    assert f"Aihe: {topic}" in str(event["DESCRIPTION"])
    assert raw_value(data, "X-WR-CALNAME") == TITLE_FI
    assert raw_value(data, "X-WR-CALDESC").startswith(DESCRIPTION_FI + "\n\n")


def test_cancelled_session_stays_in_the_feed_as_cancelled(app, client, feeds):
    with app.app_context():
        session = group_service.group_by_slug(feeds["group"]).sessions[1]
        group_service.cancel_session(session, "Ohjaaja sairastui")
        db.session.commit()
    event = events(get_feed(client, group_feed_url(feeds)))[1]
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["SUMMARY"]) == f"Peruttu: {TITLE_FI}"
    assert "Peruttu: Ohjaaja sairastui" in str(event["DESCRIPTION"])


def test_sequence_grows_when_a_session_moves(app, client, feeds):
    before = events(get_feed(client, group_feed_url(feeds)))[2]
    with app.app_context():
        session = group_service.group_by_slug(feeds["group"]).sessions[2]
        day = session.starts_at.astimezone(HELSINKI).date()
        group_service.move_session(
            session, day, time(15), 60, topic=None, locked=False, reason="Juhlat"
        )
        db.session.commit()
    after = next(
        e for e in events(get_feed(client, group_feed_url(feeds))) if e["UID"] == before["UID"]
    )
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert local_start(after).time() == time(15)
    assert after["LAST-MODIFIED"].dt >= before["LAST-MODIFIED"].dt
    assert "Aika on muuttunut: Juhlat" in str(after["DESCRIPTION"])


def test_uids_stay_when_a_blackout_changes_the_hosts(app, client, feeds):
    before = events(get_feed(client, group_feed_url(feeds)))
    with app.app_context():
        group = group_service.group_by_slug(feeds["group"])
        session = group.sessions[3]
        day = session.starts_at.astimezone(HELSINKI).date()
        old_host = session.host_region
        rotation_service.add_blackout(old_host, day, day, "Koulutuspäivä", None)
        preview = rotation_service.apply_plan(group)
        db.session.commit()
        assert session.id in preview.changes
        old_host_name = str(old_host.name("fi"))
        new_host_name = str(session.host_region.name("fi"))
    after = events(get_feed(client, group_feed_url(feeds)))
    assert [str(e["UID"]) for e in after] == [str(e["UID"]) for e in before]
    assert old_host_name in str(before[3]["DESCRIPTION"])
    assert new_host_name in str(after[3]["DESCRIPTION"])


# --- language -----------------------------------------------------------------------------


def test_group_feed_is_in_the_groups_language_by_default(client, feeds):
    event = events(get_feed(client, group_feed_url(feeds)))[0]
    assert str(event["SUMMARY"]) == TITLE_FI
    assert "Vuorossa oleva hyvinvointialue" in str(event["DESCRIPTION"])


def test_lang_chooses_the_feeds_language(client, feeds):
    data = get_feed(client, group_feed_url(feeds, lang="sv"))
    event = events(data)[0]
    assert raw_value(data, "NAME") == TITLE_SV
    assert str(event["SUMMARY"]) == TITLE_SV
    assert "Välfärdsområde i tur" in str(event["DESCRIPTION"])


def test_unknown_lang_falls_back_to_the_default(client, feeds):
    data = get_feed(client, group_feed_url(feeds, lang="xx"))
    assert str(events(data)[0]["SUMMARY"]) == TITLE_FI


def test_staff_feed_is_in_the_users_language_by_default(client, feeds):
    data = get_feed(client, staff_url(feeds, "fac@siun.example.org"))
    assert raw_value(data, "NAME").startswith("Mina turer")


# --- HTTP ---------------------------------------------------------------------------------


def test_if_none_match_gets_304(client, feeds):
    first = client.get(group_feed_url(feeds))
    again = client.get(group_feed_url(feeds), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_if_modified_since_gets_304(client, feeds):
    first = client.get(group_feed_url(feeds))
    since = first.headers["Last-Modified"]
    again = client.get(group_feed_url(feeds), headers={"If-Modified-Since": since})
    assert again.status_code == 304
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_change_gives_a_new_version(app, client, feeds):
    first = client.get(group_feed_url(feeds))
    with app.app_context():
        session = group_service.group_by_slug(feeds["group"]).sessions[0]
        group_service.cancel_session(session, "Myrsky")
        db.session.commit()
    again = client.get(group_feed_url(feeds), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert again.headers["ETag"] != first.headers["ETag"]
    assert b"STATUS:CANCELLED" in again.data


def test_a_304_does_not_build_the_feed(client, feeds, monkeypatch):
    etag = client.get(group_feed_url(feeds)).headers["ETag"]
    content.built_feeds.clear()

    def refuse(*args: object) -> bytes:
        raise AssertionError("the feed was built for a conditional request")

    monkeypatch.setattr(content, "build_feed", refuse)
    answer = client.get(group_feed_url(feeds), headers={"If-None-Match": etag})
    assert answer.status_code == 304


def test_same_version_is_built_once(client, feeds, monkeypatch):
    built = []
    real_build = content.build_feed
    monkeypatch.setattr(content, "build_feed", lambda *a: built.append(1) or real_build(*a))
    first = client.get(group_feed_url(feeds)).data
    second = client.get(group_feed_url(feeds)).data
    assert first == second
    assert len(built) == 1


def test_head_answers_headers_without_a_body(client, feeds):
    full = client.get(group_feed_url(feeds))
    head = client.head(group_feed_url(feeds))
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert int(head.headers["Content-Length"]) == len(full.data)


def test_public_feed_may_be_cached_publicly(client, feeds):
    assert "public" in client.get(group_feed_url(feeds)).headers["Cache-Control"]


def test_token_feeds_are_cached_privately(client, feeds):
    for url in (participant_url(feeds), staff_url(feeds, "fac@lu.example.org")):
        cache_control = client.get(url).headers["Cache-Control"]
        assert "private" in cache_control
        assert "public" not in cache_control


# --- what each feed shows -----------------------------------------------------------------


def test_public_feed_has_no_personal_data(client, feeds):
    text = get_feed(client, group_feed_url(feeds)).decode("utf-8")
    staff_addresses = list(feeds["tokens"])
    for personal in (LEAD_NAME, CO_NAME, *staff_addresses, PARTICIPANT_NAME, PARTICIPANT_EMAIL):
        assert personal not in text
    assert "+358" not in text and "avustaja" not in text  # the applicant's phone and needs
    assert re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text) == []  # not even in a UID


def test_participant_feed_shows_the_course_with_its_facilitators(client, feeds):
    data = get_feed(client, participant_url(feeds))
    found = events(data)
    assert raw_value(data, "NAME") == "Hyvinvointikurssi"
    assert {str(e["SUMMARY"]) for e in found} == {"Hyvinvointikurssi"}
    led = [e for e in found if LEAD_NAME in str(e["DESCRIPTION"])]
    assert len(led) == 1
    assert f"Vastuuohjaaja: {LEAD_NAME}" in str(led[0]["DESCRIPTION"])
    assert f"Muut ohjaajat: {CO_NAME}" in str(led[0]["DESCRIPTION"])
    text = data.decode("utf-8")
    assert PARTICIPANT_NAME not in text and PARTICIPANT_EMAIL not in text and "@example" not in text


def test_participant_feed_reminds_30_minutes_before(client, feeds):
    event = events(get_feed(client, participant_url(feeds)))[0]
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)


def test_alarm_0_turns_the_reminder_off(client, feeds):
    data = get_feed(client, participant_url(feeds) + "?alarm=0")
    assert b"BEGIN:VALARM" not in data


def test_reminder_follows_the_configuration(app, client, feeds, monkeypatch):
    monkeypatch.setitem(app.config, "FEED_ALARM_MINUTES", 15)
    [alarm] = events(get_feed(client, participant_url(feeds)))[0].walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)


def test_public_and_staff_feeds_have_no_reminder(client, feeds):
    assert b"BEGIN:VALARM" not in get_feed(client, group_feed_url(feeds))
    assert b"BEGIN:VALARM" not in get_feed(client, staff_url(feeds, "fac@lu.example.org"))


def test_cancelled_session_has_no_reminder(app, client, feeds):
    with app.app_context():
        course = group_service.group_by_slug(feeds["course"])
        group_service.cancel_session(course.sessions[0], "Peruttu")
        db.session.commit()
    first = events(get_feed(client, participant_url(feeds)))[0]
    assert str(first["STATUS"]) == "CANCELLED"
    assert first.walk("VALARM") == []


def test_new_co_facilitator_gives_a_new_version(app, client, feeds):
    first = client.get(participant_url(feeds))
    with app.app_context():
        course = group_service.group_by_slug(feeds["course"])
        lead = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        session = first_session_hosted_by(course, lead.region)
        coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
        coordinator.name = "Kaisa Koordinaattori"
        rotation_service.assign_facilitators(session, lead, [coordinator])
        db.session.commit()
    again = client.get(participant_url(feeds), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    assert "Kaisa Koordinaattori" in again.get_data(as_text=True)


def test_facilitator_feed_shows_the_sessions_they_lead_or_co_lead(client, feeds):
    for email, name in (("fac@lu.example.org", LEAD_NAME), ("fac@siun.example.org", CO_NAME)):
        found = events(get_feed(client, staff_url(feeds, email) + "?lang=fi"))
        assert {str(e["SUMMARY"]) for e in found} == {TITLE_FI, "Hyvinvointikurssi"}
        assert len(found) == 2
        assert all(name in str(e["DESCRIPTION"]) for e in found)


def test_facilitator_feed_with_scope_region_shows_all_their_regions_turns(app, client, feeds):
    url = staff_url(feeds, "fac@lu.example.org") + "?scope=region"
    found = events(get_feed(client, url))
    with app.app_context():
        region = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        hosted = db.session.scalars(
            select(Session.id).where(Session.host_region_id == region.id)
        ).all()
    assert len(found) == len(hosted) > 2
    assert all("lansi-uusimaa fi" in str(e["DESCRIPTION"]) for e in found)


def test_region_feed_for_the_regions_staff_and_admins(client, feeds):
    for email in ("coord@lu.example.org", "fac@lu.example.org", "admin@example.org"):
        token = feeds["tokens"][email]
        data = get_feed(client, f"/calendar/regions/lansi-uusimaa.ics?token={token}")
        found = events(data)
        assert found and all("lansi-uusimaa fi" in str(e["DESCRIPTION"]) for e in found)
    assert raw_value(data, "NAME") == "Alueen vuorot – lansi-uusimaa fi"


# --- answers that must be 404 -------------------------------------------------------------


def main_content(html: str) -> str:
    """The page's own content (the header's language links repeat the address)."""
    return html[html.index("<main") : html.index("</main>")]


def not_found_page(client: FlaskClient) -> str:
    response = client.get("/calendar/groups/no-such-group.ics")
    assert response.status_code == 404
    return main_content(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "url",
    [
        "/calendar/groups/kurssi.ics",
        "/calendar/p/not-a-token.ics",
        "/calendar/f/not-a-token.ics",
        "/calendar/regions/lansi-uusimaa.ics",
        "/calendar/regions/lansi-uusimaa.ics?token=not-a-token",
        "/calendar/regions/no-such-region.ics?token={admin}",
        "/calendar/regions/lansi-uusimaa.ics?token={outsider}",
        "/calendar/regions/lansi-uusimaa.ics?token={other_region}",
        "/calendar/f/{participant}.ics",
        "/calendar/p/{admin}.ics",
    ],
)
def test_feeds_that_cannot_be_shown_are_the_same_404(client, feeds, url):
    url = url.format(
        admin=feeds["tokens"]["admin@example.org"],
        outsider=feeds["tokens"]["coord@lappi.example.org"],
        other_region=feeds["tokens"]["fac@siun.example.org"],
        participant=feeds["participant"],
    )
    response = client.get(url)
    assert response.status_code == 404
    assert main_content(response.get_data(as_text=True)) == not_found_page(client)


def test_inactive_staff_members_feed_is_404(app, client, feeds):
    with app.app_context():
        set_name("fac@lu.example.org", LEAD_NAME).active = False
        db.session.commit()
    assert client.get(staff_url(feeds, "fac@lu.example.org")).status_code == 404


def test_participant_feed_ends_when_the_place_does(app, client, feeds):
    with app.app_context():
        participant = db.session.scalar(select(Participant))
        participant.application.status = ApplicationStatus.withdrawn
        db.session.commit()
    assert client.get(participant_url(feeds)).status_code == 404


# --- tokens -------------------------------------------------------------------------------


def test_feed_tokens_have_at_least_32_random_bytes(feeds):
    for token in [feeds["participant"], *feeds["tokens"].values()]:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32


def test_rotated_participant_token_stops_at_once(app, client, feeds):
    old_url = participant_url(feeds)
    assert client.get(old_url).status_code == 200
    with app.app_context():
        participant = db.session.scalar(select(Participant))
        new_token = participant.rotate_feed_token()
        db.session.commit()
    assert new_token != feeds["participant"]
    assert client.get(old_url).status_code == 404
    assert client.get(f"/calendar/p/{new_token}.ics").status_code == 200


def test_staff_rotate_their_feed_token(app, client, feeds):
    old_url = staff_url(feeds, "fac@lu.example.org")
    login(client, "fac@lu.example.org")
    response = client.post("/staff/feed-token/rotate", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/my-turns")
    with app.app_context():
        new_token = set_name("fac@lu.example.org", LEAD_NAME).feed_token
    assert client.get(old_url).status_code == 404
    assert client.get(f"/calendar/f/{new_token}.ics").status_code == 200
    page = client.get("/staff/my-turns").get_data(as_text=True)
    assert f"/calendar/f/{new_token}.ics" in page
    assert old_url not in page


def test_rotating_needs_the_csrf_token(client, feeds):
    login(client, "fac@lu.example.org")
    assert client.post("/staff/feed-token/rotate").status_code == 400
    assert client.get(staff_url(feeds, "fac@lu.example.org")).status_code == 200


def test_rotating_needs_a_login(client, feeds):
    response = client.post("/staff/feed-token/rotate", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    assert client.get(staff_url(feeds, "fac@lu.example.org")).status_code == 200


def test_request_log_lines_do_not_show_tokens(app, feeds, caplog):
    participant, staff = feeds["participant"], feeds["tokens"]["fac@lu.example.org"]
    log = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in (
            f"/calendar/p/{participant}.ics?lang=fi",
            f"/calendar/f/{staff}.ics?scope=region",
            f"/calendar/regions/lansi-uusimaa.ics?token={staff}&lang=sv",
        ):
            log.info('%s - - [%s] "%s" %s %s', "127.0.0.1", "now", f"GET {path} HTTP/1.1", 200, 9)
    assert participant not in caplog.text and staff not in caplog.text
    assert "/calendar/p/….ics?lang=fi" in caplog.text
    assert "/calendar/f/….ics?scope=region" in caplog.text
    assert "token=…&lang=sv" in caplog.text


# --- subscribe links on pages -------------------------------------------------------------


def test_open_group_page_offers_subscribing(app, client, feeds):
    page = client.get(f"/groups/{feeds['group']}").get_data(as_text=True)
    site = app.config["BASE_URL"].split("://", 1)[1]  # BASE_URL's, not the request's host
    feed = f"{site}/calendar/groups/{feeds['group']}.ics"
    assert f'href="webcal://{feed}"' in page
    assert '<label for="subscribe-url">' in page
    link_to_copy = rf'<input type="url" id="subscribe-url" value="https?://{feed}" readonly'
    assert re.search(link_to_copy, page)
    assert page.count("<details>") == 4
    assert all(app_name in page for app_name in ("Google", "Outlook", "Apple", "Android"))


def test_closed_course_page_has_no_public_feed(client, feeds):
    page = client.get(f"/groups/{feeds['course']}").get_data(as_text=True)
    assert "/calendar/" not in page
    assert "webcal:" not in page


def test_my_turns_offers_the_facilitator_feed_and_a_new_link(app, client, feeds):
    login(client, "fac@lu.example.org")
    page = client.get("/staff/my-turns").get_data(as_text=True)
    token = feeds["tokens"]["fac@lu.example.org"]
    site = app.config["BASE_URL"].split("://", 1)[1]
    assert f'href="webcal://{site}/calendar/f/{token}.ics"' in page
    assert f"/calendar/f/{token}.ics?scope=region" in page
    assert 'action="/staff/feed-token/rotate"' in page
