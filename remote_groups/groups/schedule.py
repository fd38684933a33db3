"""Weekly schedules to dated occurrences: pure logic, no Flask, no database.

A schedule is wall-clock time in its zone (13:00 stays 13:00 across daylight saving time);
occurrences carry aware UTC datetimes. Finnish public holidays skip a week by default.
``local_datetime`` is the one place where a wall-clock time becomes an instant; its docstring
states what happens to the times that the clock changes skip or repeat.
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


class NonexistentLocalTime(ValueError):
    """A wall-clock time that the clocks skip on that day, when summer time begins."""

    def __init__(self, day: date, wall_clock: time, zone: str, days: tuple[date, ...] = ()):
        self.days = days or (day,)
        listed = ", ".join(str(d) for d in self.days)
        super().__init__(f"{wall_clock:%H:%M} does not exist on {listed} in {zone}")
        self.day = day
        self.wall_clock = wall_clock
        self.zone = zone


def local_datetime(day: date, wall_clock: time, zone: str) -> datetime:
    """The one aware UTC instant that a wall-clock time on a day in a zone stands for.

    In Europe/Helsinki the clocks go 03:00 → 04:00 on the last Sunday of March and
    04:00 → 03:00 on the last Sunday of October, so:

    * a time in the skipped hour (03:30 in March) does not exist: ``NonexistentLocalTime``.
      Nobody is moved silently to 04:30; the caller refuses and asks for another time.
    * a time in the repeated hour (03:30 in October) is the first of the two, still summer
      time (``fold=0``, 00:30 UTC): what someone booking before the change means, the reading
      RFC 5545 gives a local time with a TZID, and what every session stored so far already is.

    Nonexistence is found by a round trip: a real time reads back as itself. The ``fold`` of
    ``wall_clock`` is ignored, so the rule above holds for every caller.
    """
    naive = datetime.combine(day, wall_clock.replace(tzinfo=None, fold=0))
    tz = ZoneInfo(zone)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(day, wall_clock, zone)
    return instant


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


def skips(schedule: WeeklySchedule, holiday: HolidayLookup | None = None) -> list[Skip]:
    """The scheduled dates without a session, and why. Computes no instants, so it never
    raises, even for a schedule whose start time does not exist on one of its days."""
    if not schedule.skip_holidays:
        return []
    holiday = holiday or holiday_lookup("fi")
    return [Skip(day, name) for day in schedule_days(schedule) if (name := holiday(day))]


def occurrences(
    schedule: WeeklySchedule, holiday: HolidayLookup | None = None
) -> list[Occurrence | Skip]:
    """Every scheduled date of the term, each either a meeting or a skip with its reason.

    Raises ``NonexistentLocalTime`` naming every meeting day whose start time the clocks
    skip (``days``; ``day`` is the first): a weekly time that cannot be kept on one of its
    days is refused, not moved, and the coordinator learns of all such days at once.
    """
    skipped = {skip.day: skip for skip in skips(schedule, holiday)}
    length = timedelta(minutes=schedule.duration_minutes)
    result: list[Occurrence | Skip] = []
    gaps: list[date] = []
    for day in schedule_days(schedule):
        if day in skipped:
            result.append(skipped[day])
            continue
        try:
            starts_at = local_datetime(day, schedule.start_time, schedule.timezone)
        except NonexistentLocalTime:
            gaps.append(day)
            continue
        result.append(Occurrence(day, starts_at, starts_at + length))
    if gaps:
        raise NonexistentLocalTime(gaps[0], schedule.start_time, schedule.timezone, tuple(gaps))
    return result
