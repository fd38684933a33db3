"""Weekly schedules to dated occurrences: pure logic, no Flask, no database.

A schedule is wall-clock time in its zone (13:00 stays 13:00 across daylight saving time);
occurrences carry aware UTC datetimes. Finnish public holidays skip a week by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

HolidayLookup = Callable[[date], str | None]


@dataclass(frozen=True)
class WeeklySchedule:
    weekday: int  # Monday = 0 … Sunday = 6, as date.weekday()
    start_time: time  # local wall-clock time
    duration_minutes: int
    term_start: date
    term_end: date  # inclusive
    timezone: str = "Europe/Helsinki"
    skip_holidays: bool = True


@dataclass(frozen=True)
class Occurrence:
    """A date on which the group meets."""

    day: date
    starts_at: datetime  # aware UTC
    ends_at: datetime  # aware UTC


@dataclass(frozen=True)
class Skip:
    """A scheduled date without a session, and why."""

    day: date
    reason: str


def local_datetime(day: date, wall_clock: time, zone: str) -> datetime:
    """The aware UTC instant of a wall-clock time on a day in a zone.

    A time that does not exist on the day clocks go forward resolves as zoneinfo does (fold=0),
    one hour later on the wall clock; groups do not meet at 03:30 on Sunday nights.
    """
    return datetime.combine(day, wall_clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def schedule_days(schedule: WeeklySchedule) -> Iterator[date]:
    offset = (schedule.weekday - schedule.term_start.weekday()) % 7
    day = schedule.term_start + timedelta(days=offset)
    while day <= schedule.term_end:
        yield day
        day += timedelta(days=7)


@lru_cache(maxsize=32)
def _finnish_holidays(year: int, language: str) -> holidays.HolidayBase:
    return holidays.country_holidays("FI", years=year, language=language)


# Our language codes to the `holidays` package's names for its Finnish translations.
_HOLIDAY_LANGUAGES = {"fi": "fi", "sv": "sv_FI", "en": "en_US"}


def finnish_holiday(day: date, language: str = "fi") -> str | None:
    """The name of the Finnish public holiday on ``day`` in fi, sv or en, or None."""
    return _finnish_holidays(day.year, _HOLIDAY_LANGUAGES.get(language, "fi")).get(day)


def holiday_lookup(language: str) -> HolidayLookup:
    return lambda day: finnish_holiday(day, language)


def occurrences(
    schedule: WeeklySchedule, holiday: HolidayLookup | None = None
) -> list[Occurrence | Skip]:
    """Every scheduled date of the term, each either a meeting or a skip with its reason."""
    holiday = holiday or holiday_lookup("fi")
    length = timedelta(minutes=schedule.duration_minutes)
    result: list[Occurrence | Skip] = []
    for day in schedule_days(schedule):
        name = holiday(day) if schedule.skip_holidays else None
        if name:
            result.append(Skip(day, name))
            continue
        starts_at = local_datetime(day, schedule.start_time, schedule.timezone)
        result.append(Occurrence(day, starts_at, starts_at + length))
    return result
