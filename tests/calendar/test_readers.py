"""Our iCalendar output as Thunderbird (ical.js) and GNOME (libical) read it.

The pure part: the feed builder's output for chosen instants (every week of three years,
and the hours around each clock change), compared with what we meant. The feeds and
invitations the service serves are compared with the JSON API in ``test_reader_feeds.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from remote_groups.calendar.ics import Feed, FeedEvent, build_calendar
from remote_groups.calendar.vtimezone import transitions, vtimezone
from tests.calendar.readers import READERS_BY_NAME, Reader, read_with_libical_own_zones

HELSINKI = ZoneInfo("Europe/Helsinki")
STAMP = datetime(2026, 12, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(uid: str, starts_at: datetime, minutes: int = 60) -> FeedEvent:
    return FeedEvent(
        uid=uid,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        summary="Hyvinvointiryhmä",
        description="",
        meeting_url="https://meet.example.org/a",
        last_modified=STAMP,
    )


def weekly_at_13(zone: ZoneInfo, first: datetime, weeks: int) -> list[FeedEvent]:
    """Wall-clock 13:00 every week: the times move against UTC at each clock change."""
    return [
        event(
            f"week-{n}@test",
            datetime.combine(first.date() + timedelta(weeks=n), first.time(), tzinfo=zone),
        )
        for n in range(weeks)
    ]


def around_the_changes(years: range) -> list[FeedEvent]:
    """Sessions in the hours around each Finnish clock change: before, after, and both
    occurrences of the repeated autumn hour (written in UTC by the builder)."""
    found = []
    for change in transitions(
        HELSINKI, datetime(years.start, 1, 1, tzinfo=UTC), datetime(years.stop, 1, 1, tzinfo=UTC)
    ):
        for minutes in (-90, -61, -30, 0, 30, 59, 60, 90, 150):
            moment = change.at + timedelta(minutes=minutes)
            found.append(event(f"change-{iso(moment)}@test", moment))
    return found


def meant(events: list[FeedEvent]) -> dict[str, tuple[str, str]]:
    return {e.uid: (iso(e.starts_at), iso(e.ends_at)) for e in events}


def read(reader: Reader, data: bytes, *arguments: str) -> dict[str, tuple[str, str]]:
    return {e["uid"]: (e["start"], e["end"]) for e in reader(data, *arguments)["events"]}


@pytest.fixture(params=sorted(READERS_BY_NAME))
def reader(request: pytest.FixtureRequest) -> Reader:
    return READERS_BY_NAME[request.param]


def test_weekly_13_00_is_read_as_13_00_in_summer_and_winter(reader: Reader) -> None:
    """Three years of Wednesdays at 13:00, 2027 to 2029: every summer and every winter."""
    sessions = weekly_at_13(HELSINKI, datetime(2027, 1, 6, 13, 0), weeks=156)
    data = build_calendar(Feed(name="Ryhmä", events=tuple(sessions), dtstamp=STAMP))
    assert read(reader, data) == meant(sessions)


def test_sessions_around_every_clock_change_are_read_as_written(reader: Reader) -> None:
    sessions = around_the_changes(range(2027, 2030))
    data = build_calendar(Feed(name="Ryhmä", events=tuple(sessions), dtstamp=STAMP))
    found = read(reader, data)
    assert found == meant(sessions)
    assert all(start < end for start, end in found.values())


def test_both_occurrences_of_the_repeated_autumn_hour_stay_apart(reader: Reader) -> None:
    """03:30 on 31 October 2027 happens twice: 00:30 and 01:30 UTC. Each session keeps its
    own instant, and one that ends in the second 03:30 ends an hour after it starts."""
    first = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    sessions = [event("first@test", first), event("second@test", second)]
    data = build_calendar(Feed(name="Ryhmä", events=tuple(sessions), dtstamp=STAMP))
    assert read(reader, data) == {
        "first@test": ("2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z"),
        "second@test": ("2027-10-31T01:30:00Z", "2027-10-31T02:30:00Z"),
    }


def test_libical_gives_zoneinfos_offset_at_every_change_of_five_years() -> None:
    """The VTIMEZONE alone (TZID renamed) gives the offset zoneinfo gives, a second before,
    at, and half an hour after each change: the spring onset is 03:00 local, not 04:00."""
    changes = transitions(
        HELSINKI, datetime(2026, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    )
    moments = [
        c.at + delta
        for c in changes
        for delta in (timedelta(seconds=-1), timedelta(0), timedelta(minutes=30))
    ]
    data = build_calendar(
        Feed(
            name="Ryhmä",
            events=(
                event("a@test", datetime(2026, 6, 1, 10, tzinfo=UTC)),
                event("b@test", datetime(2030, 6, 1, 10, tzinfo=UTC)),
            ),
            dtstamp=STAMP,
        )
    )
    offsets = read_with_libical_own_zones(
        data, "--offsets", "X-Remote-Groups-Test-Europe/Helsinki", *map(iso, moments)
    )["offsets"]
    expected = {iso(m): int(m.astimezone(HELSINKI).utcoffset().total_seconds()) for m in moments}
    assert len(changes) == 10
    assert offsets == expected


@pytest.mark.parametrize(
    "tzid, years",
    [
        ("America/Nuuk", range(2019, 2026)),  # rule changed in 2023: RDATE lines and UNTIL
        ("Asia/Tokyo", range(2027, 2029)),  # no clock changes at all
        ("America/Santiago", range(2027, 2029)),  # southern summer, first-Sunday rules
    ],
)
def test_zones_with_other_rules_are_read_as_written(
    reader: Reader, tzid: str, years: range
) -> None:
    zone = ZoneInfo(tzid)
    first = datetime(years.start, 1, 3, 13, 0)
    weeks = (years.stop - years.start) * 52
    sessions = weekly_at_13(zone, first, weeks)
    feed = Feed(name="Ryhmä", events=tuple(sessions), dtstamp=STAMP, timezone=tzid)
    assert read(reader, build_calendar(feed)) == meant(sessions)


def observances(tzid: str, first_year: int, last_year: int) -> list[dict[str, list[str]]]:
    lines = vtimezone(tzid, first_year, last_year).to_ical().decode().split("\r\n")
    found: list[dict[str, list[str]]] = []
    for line in lines:
        if line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            found.append({})
        elif found and ":" in line and not line.startswith("END:"):
            name, value = line.split(":", 1)
            found[-1].setdefault(name, []).append(value)
    return found


def test_finnish_vtimezone_is_the_eu_rule_with_the_right_local_onsets() -> None:
    parts = observances("Europe/Helsinki", 2027, 2028)
    assert [(p["DTSTART"], p["RRULE"], p["TZOFFSETFROM"], p["TZOFFSETTO"]) for p in parts] == [
        (["20260329T030000"], ["FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"], ["+0200"], ["+0300"]),
        (["20261025T040000"], ["FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"], ["+0300"], ["+0200"]),
    ]
    assert all("RDATE" not in p for p in parts)


def test_an_observance_with_rdates_lists_its_start_among_them_one_per_line() -> None:
    """ical.js ignores the DTSTART of an observance that has RDATE lines."""
    parts = [p for p in observances("America/Nuuk", 2019, 2020) if "RDATE" in p]
    assert parts
    for part in parts:
        assert part["DTSTART"][0] in part["RDATE"]
        assert all("," not in value for value in part["RDATE"])


def test_the_vtimezone_is_valid_for_python_readers_too() -> None:
    """icalendar's own reader, from the VTIMEZONE only, agrees with zoneinfo every hour of
    two years."""
    data = build_calendar(
        Feed(
            name="Ryhmä",
            events=(
                event("a@test", datetime(2027, 6, 1, 10, tzinfo=UTC)),
                event("b@test", datetime(2028, 6, 1, 10, tzinfo=UTC)),
            ),
            dtstamp=STAMP,
        )
    )
    [timezone] = Calendar.from_ical(data).walk("VTIMEZONE")
    own = timezone.to_tz(lookup_tzid=False)
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    while moment < datetime(2029, 1, 1, tzinfo=UTC):
        assert moment.astimezone(own).utcoffset() == moment.astimezone(HELSINKI).utcoffset()
        moment += timedelta(hours=1)
