"""VTIMEZONE components that every calendar reader understands: pure, no Flask, no database.

Why not icalendar's ``Timezone.from_tzinfo``: for a range of several years it writes one
observance per offset change with the later changes as ``RDATE`` values beside its
``DTSTART``, and Mozilla's ical.js (Thunderbird) ignores the ``DTSTART`` of an observance that
has ``RDATE`` lines, so a whole summer was read an hour off. It also writes the spring change
at 04:00 local time, where RFC 5545 wants the onset in the offset in force *before* it (03:00
in Finland, whose clocks jump 03:00 → 04:00).

What this module writes instead, from the zoneinfo database:

* the zone's transitions from 1 January of the year before ``first_year`` (so January events
  are covered by the previous autumn's onset) to 1 January after ``last_year``;
* per kind of change (offset from, offset to, name), one observance. When every change of
  that kind happens on the same weekday of the same month week (for the EU rule: the last
  Sunday of March / October) at the same local time, it is one ``DTSTART`` with a yearly
  ``RRULE``, the form tzurl.org, Outlook and Thunderbird publish themselves: open-ended when
  zoneinfo follows the rule for 28 more years, with an ``UNTIL`` when the rule has ended. A
  change that happened once is its ``DTSTART`` alone. Otherwise it is a ``DTSTART`` plus one
  ``RDATE`` per line for every onset, the ``DTSTART`` repeated as an ``RDATE`` (RFC 5545
  ignores the duplicate; ical.js needs it);
* a zone without changes gets one ``STANDARD`` observance.

Cost: one ``utcoffset`` per day of the range and of the 28 years after it, plus a bisection
per change (about 40 ms); callers cache.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

__all__ = ["Transition", "transitions", "vtimezone"]

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    """One change of a zone's offset."""

    at: datetime
    """The aware UTC instant of the change."""
    offset_from: timedelta
    offset_to: timedelta
    name: str
    """The zone's abbreviation after the change (EET, EEST)."""
    dst: bool
    """Whether the new offset is daylight saving time."""

    @property
    def onset(self) -> datetime:
        """The naive local time of the change in the offset before it (RFC 5545 3.6.5)."""
        return (self.at + self.offset_from).replace(tzinfo=None)


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[Transition]:
    """Every offset change of ``zone`` in [start, end), found to the second."""
    found = []
    step = timedelta(days=1)
    moment, offset = start, _offset(zone, start)
    while moment < end:
        after = min(moment + step, end)
        next_offset = _offset(zone, after)
        if next_offset != offset:
            low, high = moment, after  # offset(low) == offset, offset(high) != offset
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    break
                if _offset(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            local = high.astimezone(zone)
            found.append(
                Transition(
                    at=high,
                    offset_from=offset,
                    offset_to=_offset(zone, high),
                    name=local.tzname() or "",
                    dst=bool(local.dst()),
                )
            )
        moment, offset = after, next_offset
    return found


def _yearly_rule(onsets: list[datetime]) -> dict[str, object] | None:
    """The RRULE of onsets that all fall on the same weekday of the same week of the same
    month at the same time, one a year; None when they do not."""
    first = onsets[0]
    years = [onset.year for onset in onsets]
    if years != list(range(first.year, first.year + len(onsets))):
        return None
    if any(
        (o.month, o.weekday(), o.time()) != (first.month, first.weekday(), first.time())
        for o in onsets
    ):
        return None
    weekday = _WEEKDAYS[first.weekday()]

    def is_last(onset: datetime) -> bool:
        return onset.day + 7 > calendar.monthrange(onset.year, onset.month)[1]

    if all(is_last(o) for o in onsets):
        return {"FREQ": "YEARLY", "BYMONTH": first.month, "BYDAY": f"-1{weekday}"}
    weeks = {(o.day - 1) // 7 + 1 for o in onsets}
    if len(weeks) == 1:
        return {"FREQ": "YEARLY", "BYMONTH": first.month, "BYDAY": f"{weeks.pop()}{weekday}"}
    return None


def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``tzid`` valid for every instant of ``first_year`` … ``last_year``."""
    zone = ZoneInfo(tzid)
    start = datetime(first_year - 1, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    component = Timezone()
    component.add("TZID", tzid)
    changes = transitions(zone, start, end)
    if not changes:
        local = start.astimezone(zone)
        standard = TimezoneStandard()
        standard.add("DTSTART", datetime(1970, 1, 1))
        standard.add("TZOFFSETFROM", local.utcoffset())
        standard.add("TZOFFSETTO", local.utcoffset())
        standard.add("TZNAME", local.tzname() or tzid)
        component.add_component(standard)
        return component

    # A rule is only written as an open-ended RRULE when zoneinfo keeps following it for a
    # full 28-year weekday cycle after the range; a pattern seen for a few years only may be
    # a coincidence of the calendar (a "last Saturday" that is really "the day before the
    # last Sunday").
    ahead = transitions(zone, end, datetime(last_year + 29, 1, 1, tzinfo=UTC))
    kinds: dict[tuple[timedelta, timedelta, str, bool], list[Transition]] = {}
    for change in changes:
        kinds.setdefault((change.offset_from, change.offset_to, change.name, change.dst), [])
        kinds[(change.offset_from, change.offset_to, change.name, change.dst)].append(change)
    for kind, group in sorted(kinds.items(), key=lambda item: item[1][0].at):
        offset_from, offset_to, name, dst = kind
        observance = TimezoneDaylight() if dst else TimezoneStandard()
        onsets = [change.onset for change in group]
        later = [c.onset for c in ahead if (c.offset_from, c.offset_to, c.name, c.dst) == kind]
        observance.add("DTSTART", onsets[0])
        if later:
            rule = _yearly_rule(onsets + later)
        elif len(onsets) > 1:
            rule = _yearly_rule(onsets)
            if rule is not None:  # a rule that has ended: stop it there
                rule["UNTIL"] = group[-1].at
        else:
            rule = None
        if rule is not None:
            observance.add("RRULE", rule)
        elif len(onsets) > 1:
            for onset in onsets:
                observance.add("RDATE", onset)
        observance.add("TZOFFSETFROM", offset_from)
        observance.add("TZOFFSETTO", offset_to)
        observance.add("TZNAME", name)
        component.add_component(observance)
    return component
