"""Times that do not exist or exist twice, through the staff pages, the API and the feed.

In Europe/Helsinki the clocks go 03:00 → 04:00 on the last Sunday of March (2027-03-28,
2028-03-26) and 04:00 → 03:00 on the last Sunday of October (2027-10-31). A start time the
clocks skip is refused beside its field, in the reader's language, and nothing is saved; one in
the repeated hour is the first of the two (summer time, UTC+3), and the session ends its length
later in real time. The database, the API and the feed show that same instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from remote_groups.calendar.service import content, versions
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.regions.models import Region
from tests.conftest import csrf_token, login, make_group

HELSINKI = ZoneInfo("Europe/Helsinki")
SLUG = "sunnuntairyhma"
FIRST_SUNDAY = date(2027, 9, 5)
AUTUMN_START = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # the first 03:30, UTC+3
SKIPPED_IN_THE_TERM = {  # 2028-03-26 03:30, named in each language
    "fi": "Kellonaikaa 3.30 ei ole päivänä sunnuntai 26. maaliskuuta 2028",
    "sv": "Klockslaget 3.30 finns inte söndag 26 mars 2028",
    "en": "There is no 3:30\u202fAM on Sunday, March 26, 2028",  # narrow no-break space,
}


@pytest.fixture
def sundays(app: Flask, world: dict[str, object]) -> dict[date, int]:
    """An open group meeting on Sundays at 13:00 from September 2027 to April 2028, across
    both clock changes; its sessions' ids by date."""
    with app.app_context():
        regions = list(
            db.session.scalars(
                select(Region).where(Region.slug.in_(["lansi-uusimaa", "siun-sote"]))
            )
        )
        group = make_group(
            regions,
            slug=SLUG,
            weekday=6,
            start_time=time(13, 0),
            term_start=FIRST_SUNDAY,
            term_end=date(2028, 4, 30),
        )
        db.session.commit()
        return {s.occurrence_date: s.id for s in group.sessions}


def stored(app: Flask, session_id: int) -> tuple[object, ...]:
    with app.app_context():
        s = db.session.get(Session, session_id)
        return (s.starts_at, s.ends_at, s.sequence, s.change_reason, s.edited_at, s.topic)


def move(client: FlaskClient, session_id: int, day: str, at: str, lang: str = "fi"):
    return client.post(
        f"/staff/sessions/{session_id}/edit?lang={lang}",
        data={
            "day": day,
            "start_time": at,
            "duration_minutes": "60",
            "reason": "Yöryhmä",
            "topic": "Uusi aihe",
            "csrf_token": csrf_token(client),
        },
    )


# --- one session ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("fi", "Kellonaikaa 3.30 ei ole päivänä sunnuntai 28. maaliskuuta 2027"),
        ("sv", "Klockslaget 3.30 finns inte söndag 28 mars 2027"),
        ("en", "There is no 3:30\u202fAM on Sunday, March 28, 2027"),
    ],
)
def test_moving_a_session_to_a_time_the_clocks_skip_is_refused_beside_the_field(
    client, app, sundays, lang, message
):
    login(client, "coord@lu.example.org")
    session_id = sundays[FIRST_SUNDAY]
    before = stored(app, session_id)
    response = move(client, session_id, "2027-03-28", "03:30", lang)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start_time-error"' in page
    assert message in page
    assert stored(app, session_id) == before


@pytest.fixture
def moved_into_the_repeated_hour(client, app, sundays) -> int:
    """The first session moved to 03:30 on 2027-10-31, for 60 minutes."""
    login(client, "coord@lu.example.org")
    session_id = sundays[FIRST_SUNDAY]
    assert move(client, session_id, "2027-10-31", "03:30").status_code == 302
    return session_id


def test_a_session_moved_into_the_repeated_hour_is_stored_at_the_first_0330(
    app, moved_into_the_repeated_hour
):
    starts_at, ends_at, *_ = stored(app, moved_into_the_repeated_hour)
    assert starts_at == AUTUMN_START
    assert ends_at == AUTUMN_START + timedelta(minutes=60)  # reads 03:30 again, UTC+2


def test_the_api_shows_the_session_in_the_repeated_hour_at_that_instant(
    client, moved_into_the_repeated_hour
):
    response = client.get(f"/api/v1/groups/{SLUG}/sessions?from=2027-10-31&to=2027-10-31")
    [item] = [i for i in response.get_json()["items"] if i["id"] == moved_into_the_repeated_hour]
    assert (item["starts_at"], item["ends_at"]) == (
        "2027-10-31T03:30:00+03:00",
        "2027-10-31T03:30:00+02:00",
    )
    assert datetime.fromisoformat(item["starts_at"]) == AUTUMN_START
    assert datetime.fromisoformat(item["ends_at"]) - AUTUMN_START == timedelta(minutes=60)


@pytest.fixture
def autumn_event(app, moved_into_the_repeated_hour) -> Iterator[dict]:
    """The moved session as the group's feed shows it (the one event on 2027-10-31 that is
    not the group's own 13:00), read back by icalendar."""
    content.built_feeds.clear()
    with app.app_context():
        feed = versions.group_feed(SLUG, "fi", now=datetime(2027, 6, 1, tzinfo=UTC))
        data = content.feed_bytes(feed)
    [event] = [
        e
        for e in Calendar.from_ical(data).walk("VEVENT")
        if e["DTSTART"].dt.astimezone(HELSINKI).date() == AUTUMN_START.date()
        and e["DTSTART"].dt.astimezone(HELSINKI).time() != time(13, 0)
    ]
    yield event
    content.built_feeds.clear()


def test_the_feed_shows_the_session_in_the_repeated_hour_at_that_instant(autumn_event):
    assert autumn_event["DTSTART"].dt.astimezone(UTC) == AUTUMN_START


def test_the_feed_ends_the_session_in_the_repeated_hour_60_minutes_later(autumn_event):
    assert autumn_event["DTEND"].dt.astimezone(UTC) == AUTUMN_START + timedelta(minutes=60)


# --- the weekly schedule ----------------------------------------------------------------------


def group_form(client: FlaskClient, **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "slug": "yoryhma",
        "kind": "open",
        "language": "fi",
        "title_fi": "Yöryhmä",
        "meeting_url": "https://meet.example.org/yo",
        "weekday": "6",
        "start_time": "03:30",
        "duration_minutes": "60",
        "term_start": "2028-03-01",
        "term_end": "2028-04-30",
        "skip_holidays": "y",
        "rotation_policy": "round_robin",
        "regions": ["lansi-uusimaa", "siun-sote"],
        "csrf_token": csrf_token(client),
    }
    return {**data, **overrides}


def stored_rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(RemoteGroup)),
            db.session.scalar(select(func.count()).select_from(Session)),
        )


def weekly_times(app: Flask) -> tuple[time, list[datetime]]:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == SLUG))
        return group.start_time, [s.starts_at for s in group.sessions]


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_a_weekly_time_the_clocks_skip_on_a_day_of_the_term_is_refused_naming_that_day(
    client, app, world, lang
):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    response = client.post(f"/staff/groups/new?lang={lang}", data=group_form(client))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start_time-error"' in page
    assert SKIPPED_IN_THE_TERM[lang] in page
    assert stored_rows(app) == before


def test_changing_a_groups_weekly_time_to_one_the_clocks_skip_changes_nothing(client, app, sundays):
    login(client, "coord@lu.example.org")
    before = weekly_times(app)
    data = group_form(client, slug=SLUG, term_start=FIRST_SUNDAY.isoformat(), term_end="2028-04-30")
    response = client.post(f"/staff/groups/{SLUG}/edit", data=data)
    assert response.status_code == 422
    assert SKIPPED_IN_THE_TERM["fi"] in response.get_data(as_text=True)
    assert weekly_times(app) == before


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        (
            "fi",
            "Kellonaikaa 3.30 ei ole näinä päivinä: sunnuntai 26. maaliskuuta 2028,"
            " sunnuntai 25. maaliskuuta 2029.",
        ),
        (
            "sv",
            "Klockslaget 3.30 finns inte dessa dagar: söndag 26 mars 2028, söndag 25 mars 2029.",
        ),
    ],
)
def test_a_weekly_time_the_clocks_skip_on_several_days_is_refused_naming_each(
    client, app, world, lang, message
):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    data = group_form(client, term_start="2028-03-01", term_end="2029-04-30")
    response = client.post(f"/staff/groups/new?lang={lang}", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_rows(app) == before


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_the_api_refuses_a_weekly_time_the_clocks_skip_with_the_same_localized_message(
    client, app, world, lang
):
    login(client, "coord@lu.example.org")
    before = stored_rows(app)
    payload = {
        "slug": "yoryhma",
        "kind": "open",
        "language": "fi",
        "title_fi": "Yöryhmä",
        "meeting_url": "https://meet.example.org/yo",
        "weekday": 6,
        "start_time": "03:30",
        "duration_minutes": 60,
        "term_start": "2028-03-01",
        "term_end": "2028-04-30",
        "regions": ["lansi-uusimaa", "siun-sote"],
    }
    response = client.post(f"/api/v1/groups?lang={lang}", json=payload)
    assert response.status_code == 422
    [message] = response.get_json()["error"]["fields"]["start_time"]
    assert message.startswith(SKIPPED_IN_THE_TERM[lang])
    assert stored_rows(app) == before


def test_a_weekly_time_in_the_repeated_hour_meets_at_the_first_one(client, app, world):
    login(client, "coord@lu.example.org")
    data = group_form(client, term_start="2027-10-01", term_end="2027-11-30")
    assert client.post("/staff/groups/new", data=data).status_code == 302
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "yoryhma"))
        night = next(s for s in group.sessions if s.occurrence_date == date(2027, 10, 31))
        assert (night.starts_at, night.ends_at) == (
            AUTUMN_START,
            AUTUMN_START + timedelta(minutes=60),
        )


@pytest.fixture
def stored_before_the_rule(app, sundays) -> None:
    """The Sunday group as an older version could have stored it: 03:30, never refused."""
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == SLUG))
        group.start_time = time(3, 30)
        db.session.commit()


def test_a_stored_group_whose_weekly_time_the_clocks_skip_still_shows_its_pages(
    client, stored_before_the_rule
):
    assert client.get(f"/groups/{SLUG}").status_code == 200
    login(client, "coord@lu.example.org")
    assert client.get(f"/staff/groups/{SLUG}/rotation").status_code == 200


def test_regenerating_such_a_group_is_refused_with_the_message_and_changes_nothing(
    client, app, stored_before_the_rule
):
    login(client, "coord@lu.example.org")
    before = weekly_times(app)
    response = client.post(
        f"/staff/groups/{SLUG}/regenerate",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert SKIPPED_IN_THE_TERM["fi"] in response.get_data(as_text=True)
    assert weekly_times(app) == before
