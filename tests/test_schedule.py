"""The weekly schedule → dated occurrences: wall-clock time across DST, holidays skipped."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from remote_groups.groups.schedule import (
    Occurrence,
    Skip,
    WeeklySchedule,
    finnish_holiday,
    occurrences,
)

HELSINKI = ZoneInfo("Europe/Helsinki")


def thursdays(start: date, end: date, skip_holidays: bool = True) -> WeeklySchedule:
    return WeeklySchedule(3, time(13, 0), 90, start, end, skip_holidays=skip_holidays)


def test_a_session_at_13_starts_at_13_helsinki_time_in_january_and_in_june():
    winter, summer = (
        occurrences(thursdays(day, day))[0] for day in (date(2027, 1, 14), date(2027, 6, 17))
    )
    assert winter.starts_at == datetime(2027, 1, 14, 11, 0, tzinfo=UTC)  # UTC+2
    assert summer.starts_at == datetime(2027, 6, 17, 10, 0, tzinfo=UTC)  # UTC+3 (DST)


def test_wall_clock_time_holds_across_both_dst_changes():
    found = occurrences(thursdays(date(2027, 3, 1), date(2027, 11, 30), skip_holidays=False))
    local_times = {o.starts_at.astimezone(HELSINKI).time() for o in found}
    offsets = {o.starts_at.astimezone(HELSINKI).utcoffset().total_seconds() / 3600 for o in found}
    assert local_times == {time(13, 0)}
    assert offsets == {2.0, 3.0}


def test_occurrences_end_after_their_duration():
    occurrence = occurrences(thursdays(date(2027, 1, 14), date(2027, 1, 14)))[0]
    assert (occurrence.ends_at - occurrence.starts_at).total_seconds() == 90 * 60


def test_ascension_day_is_skipped_and_explained():
    ascension = date(2027, 5, 6)  # a Thursday
    found = occurrences(thursdays(date(2027, 4, 29), date(2027, 5, 13)))
    assert [type(o) for o in found] == [Occurrence, Skip, Occurrence]
    assert found[1] == Skip(ascension, "Helatorstai")


def test_holiday_names_come_in_swedish_and_english_too():
    assert finnish_holiday(date(2027, 5, 6), "sv") == "Kristi himmelsfärdsdag"
    assert finnish_holiday(date(2027, 5, 6), "en") == "Ascension Day"
    assert finnish_holiday(date(2027, 5, 5), "fi") is None


def test_a_group_may_meet_on_holidays_when_it_chooses_to():
    found = occurrences(thursdays(date(2027, 5, 6), date(2027, 5, 6), skip_holidays=False))
    assert isinstance(found[0], Occurrence)


def test_the_term_is_inclusive_and_starts_on_the_first_matching_weekday():
    found = occurrences(thursdays(date(2027, 1, 11), date(2027, 1, 28)))  # Mon … Thu
    assert [o.day for o in found] == [date(2027, 1, 14), date(2027, 1, 21), date(2027, 1, 28)]


def test_a_term_without_its_weekday_has_no_occurrences():
    assert occurrences(thursdays(date(2027, 1, 11), date(2027, 1, 13))) == []
