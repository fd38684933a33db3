"""Tests for remote_groups.calendar.ics.

Every feed is read back with a fresh, independent parse (``Calendar.from_ical``)
and, for times, with ``recurring_ical_events`` — the way a subscribing client
would see it — rather than by inspecting the objects we built.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from remote_groups.calendar.ics import (
    PRODID,
    Feed,
    FeedEvent,
    build_calendar,
    etag_for,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
MEETING_URL = "https://meet.example.fi/room/42?pwd=a,b;c"
WINTER_START = datetime(2025, 1, 15, 13, 0, tzinfo=HELSINKI)
SUMMER_START = datetime(2025, 6, 18, 13, 0, tzinfo=HELSINKI)
LAST_MODIFIED = datetime(2025, 1, 2, 9, 30, 15, tzinfo=UTC)
DTSTAMP = datetime(2025, 1, 3, 8, 0, 0, tzinfo=UTC)


def make_event(**overrides: object) -> FeedEvent:
    values: dict[str, object] = dict(
        uid="session-42@remote-groups",
        starts_at=WINTER_START,
        ends_at=WINTER_START + timedelta(hours=1, minutes=30),
        summary="Mielen hyvinvointi",
        description="Viikoittainen ryhmä.",
        meeting_url=MEETING_URL,
        conference_label="Liity videotapaamiseen",
        last_modified=LAST_MODIFIED,
        sequence=3,
        location="Etäyhteys",
        categories=("Ryhmä",),
    )
    values.update(overrides)
    return FeedEvent(**values)  # type: ignore[arg-type]


def make_feed(*events: FeedEvent, **overrides: object) -> Feed:
    values: dict[str, object] = dict(
        name="Mielen hyvinvointi – Pirkanmaa",
        description="Etäryhmän tapaamiset",
        events=events or (make_event(),),
        dtstamp=DTSTAMP,
    )
    values.update(overrides)
    return Feed(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(data: bytes) -> Event:
    events = parse(data).events
    assert len(events) == 1
    return events[0]


def unescape_text(raw: str) -> str:
    """RFC 5545 TEXT unescaping, done here independently of icalendar
    (which does not unescape NAME / X-WR-* because it does not know them)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)


def unfolded_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")


# --- times and time zones -------------------------------------------------------------


def occurrences(data: bytes) -> list[Event]:
    return recurring_ical_events.of(parse(data)).between(date(2025, 1, 1), date(2026, 1, 1))


def test_winter_event_is_13_helsinki_and_11_utc() -> None:
    [event] = occurrences(build_calendar(make_feed(make_event(starts_at=WINTER_START))))
    start = event["DTSTART"].dt
    assert (start.hour, start.minute) == (13, 0)
    assert start.astimezone(UTC) == datetime(2025, 1, 15, 11, 0, tzinfo=UTC)


def test_summer_event_is_13_helsinki_and_10_utc() -> None:
    event = make_event(starts_at=SUMMER_START, ends_at=SUMMER_START + timedelta(hours=1))
    [occurrence] = occurrences(build_calendar(make_feed(event)))
    start = occurrence["DTSTART"].dt
    assert (start.hour, start.minute) == (13, 0)
    assert start.astimezone(UTC) == datetime(2025, 6, 18, 10, 0, tzinfo=UTC)


def test_start_and_end_are_helsinki_wall_clock_with_tzid() -> None:
    lines = unfolded_lines(build_calendar(make_feed()))
    assert "DTSTART;TZID=Europe/Helsinki:20250115T130000" in lines
    assert "DTEND;TZID=Europe/Helsinki:20250115T143000" in lines


def test_event_given_in_utc_is_written_as_helsinki_wall_clock() -> None:
    start = datetime(2025, 6, 18, 10, 0, tzinfo=UTC)
    event = make_event(starts_at=start, ends_at=start + timedelta(hours=1))
    lines = unfolded_lines(build_calendar(make_feed(event)))
    assert "DTSTART;TZID=Europe/Helsinki:20250618T130000" in lines


def test_vtimezone_has_standard_and_daylight_parts() -> None:
    summer = make_event(uid="s2@x", starts_at=SUMMER_START, ends_at=SUMMER_START + timedelta(1))
    [timezone] = parse(build_calendar(make_feed(make_event(), summer))).timezones
    assert timezone.tz_name == "Europe/Helsinki"
    assert timezone.standard and timezone.daylight


def test_winter_only_feed_still_gets_daylight_part() -> None:
    [timezone] = parse(build_calendar(make_feed(make_event()))).timezones
    assert timezone.standard and timezone.daylight


def test_vtimezone_definition_itself_gives_helsinki_offsets() -> None:
    """Clients that trust the VTIMEZONE instead of their own zone database
    (Outlook) must get the same offsets."""
    summer = make_event(uid="s2@x", starts_at=SUMMER_START, ends_at=SUMMER_START + timedelta(1))
    [timezone] = parse(build_calendar(make_feed(make_event(), summer))).timezones
    from_vtimezone = timezone.to_tz(lookup_tzid=False)
    for moment in (WINTER_START, SUMMER_START):
        wall_clock = moment.replace(tzinfo=from_vtimezone)
        assert wall_clock.utcoffset() == moment.utcoffset()


def test_empty_feed_is_valid_and_has_vtimezone() -> None:
    cal = parse(build_calendar(make_feed(events=())))
    assert cal.events == []
    assert [tz.tz_name for tz in cal.timezones] == ["Europe/Helsinki"]


# --- status and identity ----------------------------------------------------------------


def test_cancelled_event_has_status_cancelled() -> None:
    event = only_event(build_calendar(make_feed(make_event(cancelled=True))))
    assert event["STATUS"] == "CANCELLED"


def test_cancelled_event_does_not_block_free_busy() -> None:
    event = only_event(build_calendar(make_feed(make_event(cancelled=True))))
    assert event["TRANSP"] == "TRANSPARENT"


def test_active_event_is_confirmed_and_opaque() -> None:
    event = only_event(build_calendar(make_feed(make_event())))
    assert (event["STATUS"], event["TRANSP"]) == ("CONFIRMED", "OPAQUE")


def test_uid_round_trips() -> None:
    event = only_event(build_calendar(make_feed(make_event(uid="session-7@remote-groups"))))
    assert event["UID"] == "session-7@remote-groups"


def test_sequence_round_trips() -> None:
    event = only_event(build_calendar(make_feed(make_event(sequence=12))))
    assert event.sequence == 12


def test_last_modified_round_trips_in_utc() -> None:
    modified = datetime(2025, 3, 1, 14, 5, 9, tzinfo=HELSINKI)
    data = build_calendar(make_feed(make_event(last_modified=modified)))
    assert "LAST-MODIFIED:20250301T120509Z" in unfolded_lines(data)
    assert only_event(data)["LAST-MODIFIED"].dt == modified


def test_dtstamp_is_the_feed_dtstamp_in_utc() -> None:
    stamp = datetime(2025, 7, 1, 12, 0, tzinfo=HELSINKI)
    data = build_calendar(make_feed(dtstamp=stamp))
    assert "DTSTAMP:20250701T090000Z" in unfolded_lines(data)
    assert only_event(data)["DTSTAMP"].dt == stamp


def test_location_and_categories_round_trip() -> None:
    event = make_event(location="Etänä, Teams", categories=("Mieli; hyvinvointi", "Ryhmä"))
    parsed = only_event(build_calendar(make_feed(event)))
    assert str(parsed["LOCATION"]) == "Etänä, Teams"
    assert [str(c) for c in parsed.categories] == ["Mieli; hyvinvointi", "Ryhmä"]


# --- meeting link -----------------------------------------------------------------------


def test_conference_is_video_uri_with_label() -> None:
    [conference] = only_event(build_calendar(make_feed())).conferences
    assert conference.uri == MEETING_URL
    assert conference.feature == "VIDEO"
    assert conference.label == "Liity videotapaamiseen"
    assert conference.uri.params["VALUE"] == "URI"


def test_conference_label_with_quotes_and_separators_round_trips() -> None:
    label = 'Liity: "Teams"; ^nyt, Присоединиться 🎥'
    data = build_calendar(make_feed(make_event(conference_label=label)))
    [conference] = only_event(data).conferences
    assert conference.label == label


def test_url_property_is_the_meeting_link() -> None:
    assert only_event(build_calendar(make_feed()))["URL"] == MEETING_URL


def test_description_contains_text_and_meeting_link() -> None:
    description = str(only_event(build_calendar(make_feed()))["DESCRIPTION"])
    assert description == f"Viikoittainen ryhmä.\n\nLiity videotapaamiseen: {MEETING_URL}"


def test_event_without_meeting_link_has_no_url_or_conference() -> None:
    event = only_event(build_calendar(make_feed(make_event(meeting_url=None))))
    assert "URL" not in event and "CONFERENCE" not in event
    assert str(event["DESCRIPTION"]) == "Viikoittainen ryhmä."


def test_non_web_meeting_link_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_event(meeting_url="javascript:alert(1)")


# --- calendar-level properties ----------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "NAME:Mielen hyvinvointi – Pirkanmaa",
        "X-WR-CALNAME:Mielen hyvinvointi – Pirkanmaa",
        "X-WR-CALDESC:Etäryhmän tapaamiset",
        "X-WR-TIMEZONE:Europe/Helsinki",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ],
)
def test_calendar_level_property(line: str) -> None:
    assert line in unfolded_lines(build_calendar(make_feed()))


def test_calendar_level_properties_parse_back() -> None:
    cal = parse(build_calendar(make_feed(refresh=timedelta(hours=6))))
    assert (cal["VERSION"], cal["PRODID"]) == ("2.0", PRODID)
    assert cal.refresh_interval == timedelta(hours=6)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT6H"


# --- alarms and method ------------------------------------------------------------------


def test_no_alarm_without_alarm_before() -> None:
    assert only_event(build_calendar(make_feed())).walk("VALARM") == []


def test_alarm_before_adds_display_alarm_30_minutes_before() -> None:
    data = build_calendar(make_feed(alarm_before=timedelta(minutes=30)))
    [alarm] = only_event(data).walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)
    assert str(alarm["DESCRIPTION"]) == "Mielen hyvinvointi"
    assert "TRIGGER:-PT30M" in unfolded_lines(data)


def test_cancelled_event_gets_no_alarm() -> None:
    feed = make_feed(make_event(cancelled=True), alarm_before=timedelta(minutes=30))
    assert only_event(build_calendar(feed)).walk("VALARM") == []


def test_subscription_feed_has_no_method() -> None:
    assert "METHOD" not in parse(build_calendar(make_feed()))


def test_method_is_written_when_set() -> None:
    assert parse(build_calendar(make_feed(method="CANCEL")))["METHOD"] == "CANCEL"


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_feed(method="INVITE")


# --- text encoding ----------------------------------------------------------------------

TRICKY_TEXTS = [
    'Åbo; Turku, "test"',
    "one, two; three",
    "line one\nline two\n\nline four",
    "back\\slash and trailing \\",
    "C:\\New folder \\n not a newline \\, \\;",
    "Привет, мир; ёжик",
    "Kahvi ☕ ja 👩🏽‍💻 – ÄÖÅ äöå",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_tricky_event_text_round_trips(text: str) -> None:
    event = make_event(summary=text, description=text, location=text, meeting_url=None)
    parsed = only_event(build_calendar(make_feed(event)))
    assert str(parsed["SUMMARY"]) == text
    assert str(parsed["DESCRIPTION"]) == text
    assert str(parsed["LOCATION"]) == text


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_tricky_calendar_name_round_trips(text: str) -> None:
    cal = parse(build_calendar(make_feed(name=text)))
    assert unescape_text(str(cal["NAME"])) == text
    assert unescape_text(str(cal["X-WR-CALNAME"])) == text


def test_textarea_crlf_becomes_one_line_break() -> None:
    event = make_event(description="first\r\nsecond\rthird", meeting_url=None)
    parsed = only_event(build_calendar(make_feed(event)))
    assert str(parsed["DESCRIPTION"]) == "first\nsecond\nthird"


def test_lines_are_folded_at_75_octets_without_splitting_characters() -> None:
    long_text = "Ryhmäläiset 👩🏽‍💻 Привет, " * 20
    data = build_calendar(make_feed(make_event(summary=long_text, description=long_text)))
    physical = data.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    for line in physical:
        line.decode("utf-8")  # every physical line is valid UTF-8 on its own
    assert str(only_event(data)["SUMMARY"]) == long_text


def test_lines_end_with_crlf_only() -> None:
    data = build_calendar(make_feed())
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.count(b"\r") == data.count(b"\r\n")


def test_control_characters_and_bom_are_dropped() -> None:
    event = make_event(summary="\ufeffRyhmä\x00\x1b\ufeff 1\x7f", meeting_url=None)
    assert str(only_event(build_calendar(make_feed(event)))["SUMMARY"]) == "Ryhmä 1"


# Text a person can type: no surrogates, no control characters but "\n", no BOM
# (those are cleaned on purpose, see the test above).
text_without_controls = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs", "Cc"), include_characters="\n", exclude_characters="\ufeff"
    ),
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(summary=text_without_controls, description=text_without_controls)
def test_any_summary_and_description_round_trip(summary: str, description: str) -> None:
    event = make_event(summary=summary, description=description, meeting_url=None)
    parsed = only_event(build_calendar(make_feed(event)))
    assert str(parsed["SUMMARY"]) == summary
    assert str(parsed["DESCRIPTION"]) == description


# --- determinism ------------------------------------------------------------------------


def test_same_feed_gives_identical_bytes() -> None:
    feed = make_feed(make_event(), alarm_before=timedelta(minutes=30))
    assert build_calendar(feed) == build_calendar(replace(feed, events=(make_event(),)))


def test_changed_sequence_changes_bytes() -> None:
    feed = make_feed(make_event(sequence=1))
    assert build_calendar(feed) != build_calendar(replace(feed, events=(make_event(sequence=2),)))


# --- validation -------------------------------------------------------------------------


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_event(starts_at=datetime(2025, 1, 15, 13, 0))


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_event(ends_at=WINTER_START - timedelta(minutes=1))


# --- ETag -------------------------------------------------------------------------------


def test_etag_equal_inputs_give_equal_tags() -> None:
    assert etag_for("feed", 42, DTSTAMP) == etag_for("feed", 42, DTSTAMP)


def test_etag_different_inputs_give_different_tags() -> None:
    assert etag_for("feed", 42, DTSTAMP) != etag_for("feed", 43, DTSTAMP)


def test_etag_is_quoted_strong_tag() -> None:
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag_for("feed", 42))


def test_etag_ignores_set_iteration_order() -> None:
    assert etag_for({"sv", "fi", "en"}) == etag_for(frozenset(["en", "fi", "sv"]))


def test_etag_rejects_parts_without_stable_repr() -> None:
    with pytest.raises(ValueError):
        etag_for(object())
