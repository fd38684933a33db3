"""The weekly schedule → dated occurrences: wall-clock time across DST, holidays skipped."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remote_groups.groups.schedule import (
    NonexistentLocalTime,
    Occurrence,
    Skip,
    WeeklySchedule,
    finnish_holiday,
    local_datetime,
    occurrences,
    skips,
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


# --- times that do not exist or exist twice ---------------------------------------------------

SPRING_FORWARD = (date(2027, 3, 28), date(2028, 3, 26))  # 03:00 → 04:00
FALL_BACK = (date(2027, 10, 31), date(2028, 10, 29))  # 04:00 → 03:00


def instants_reading(naive: datetime, zone: str) -> list[datetime]:
    """Brute force: every UTC minute whose wall clock reads ``naive`` (offsets stay within
    ±15 hours of UTC)."""
    tz = ZoneInfo(zone)
    first = naive.replace(tzinfo=UTC) - timedelta(hours=15)
    minutes = (first + timedelta(minutes=m) for m in range(30 * 60))
    return [t for t in minutes if t.astimezone(tz).replace(tzinfo=None) == naive]


def assert_first_instant_or_refused(naive: datetime, zone: str) -> None:
    readings = instants_reading(naive, zone)
    if not readings:
        with pytest.raises(NonexistentLocalTime):
            local_datetime(naive.date(), naive.time(), zone)
    else:
        assert local_datetime(naive.date(), naive.time(), zone) == min(readings)


@pytest.mark.parametrize("minute", [0, 30, 59])
@pytest.mark.parametrize("hour", range(24))
@pytest.mark.parametrize("night", SPRING_FORWARD + FALL_BACK, ids=str)
def test_every_hour_of_the_change_nights_is_its_first_instant_or_refused(night, hour, minute):
    assert_first_instant_or_refused(datetime.combine(night, time(hour, minute)), "Europe/Helsinki")


@given(
    naive=st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 31)),
    zone=st.sampled_from(["Europe/Helsinki", "Australia/Lord_Howe", "America/St_Johns"]),
)
def test_any_wall_clock_time_is_its_first_instant_or_refused(naive, zone):
    assert_first_instant_or_refused(naive.replace(second=0, microsecond=0), zone)


@pytest.mark.parametrize("night", SPRING_FORWARD, ids=str)
def test_the_skipped_spring_hour_does_not_exist(night):
    for wall_clock in (time(3, 0), time(3, 30), time(3, 59)):
        with pytest.raises(NonexistentLocalTime) as refused:
            local_datetime(night, wall_clock, "Europe/Helsinki")
        assert (refused.value.day, refused.value.wall_clock) == (night, wall_clock)
    assert local_datetime(night, time(2, 59), "Europe/Helsinki").hour == 0  # UTC+2
    assert local_datetime(night, time(4, 0), "Europe/Helsinki").hour == 1  # UTC+3


@pytest.mark.parametrize("night", FALL_BACK, ids=str)
def test_the_repeated_autumn_hour_is_the_first_one_still_in_summer_time(night):
    starts_at = local_datetime(night, time(3, 30), "Europe/Helsinki")
    assert starts_at == datetime.combine(night, time(0, 30), tzinfo=UTC)  # UTC+3
    assert starts_at.astimezone(HELSINKI).utcoffset() == timedelta(hours=3)


def test_the_fold_of_the_given_time_does_not_change_the_rule():
    night = FALL_BACK[0]
    assert local_datetime(night, time(3, 30, fold=1), "Europe/Helsinki") == local_datetime(
        night, time(3, 30), "Europe/Helsinki"
    )


def sundays(at: time, minutes: int, start: date, end: date) -> WeeklySchedule:
    return WeeklySchedule(6, at, minutes, start, end)


def test_a_weekly_time_that_does_not_exist_on_one_day_of_the_term_is_refused_naming_it():
    schedule = sundays(time(3, 30), 60, date(2028, 3, 1), date(2028, 4, 30))
    with pytest.raises(NonexistentLocalTime) as refused:
        occurrences(schedule)
    assert refused.value.day == date(2028, 3, 26)


def test_a_weekly_time_skipped_on_several_days_of_a_long_term_names_them_all():
    schedule = sundays(time(3, 30), 60, date(2027, 1, 1), date(2029, 12, 31))
    with pytest.raises(NonexistentLocalTime) as refused:
        occurrences(schedule)
    # 2027-03-28 is Easter Sunday: skipped as a holiday, so its missing 03:30 is no problem.
    assert refused.value.days == (date(2028, 3, 26), date(2029, 3, 25))
    assert refused.value.day == date(2028, 3, 26)


def test_a_holiday_on_the_spring_forward_night_is_skipped_before_the_time_is_needed():
    schedule = sundays(time(3, 30), 60, date(2027, 3, 21), date(2027, 4, 4))
    found = occurrences(schedule)
    assert found[1] == Skip(date(2027, 3, 28), "Pääsiäispäivä")  # Easter Sunday 2027
    assert [type(o) for o in found] == [Occurrence, Skip, Occurrence]


def test_holiday_skips_are_listed_even_when_the_weekly_time_does_not_exist_on_a_day():
    schedule = sundays(time(3, 30), 60, date(2028, 3, 1), date(2028, 4, 30))
    assert skips(schedule) == [Skip(date(2028, 4, 16), "Pääsiäispäivä")]  # Easter Sunday 2028


@pytest.mark.parametrize(
    ("at", "minutes", "end_reads"),
    [
        (time(3, 30), 60, time(3, 30)),
        (time(3, 45), 30, time(3, 15)),
        (time(2, 30), 120, time(3, 30)),
    ],
)
def test_an_occurrence_in_the_repeated_hour_ends_its_length_later_in_real_time(
    at, minutes, end_reads
):
    night = FALL_BACK[0]
    [occurrence] = occurrences(sundays(at, minutes, night, night))
    assert occurrence.ends_at - occurrence.starts_at == timedelta(minutes=minutes)
    assert occurrence.ends_at.astimezone(HELSINKI).time() == end_reads
