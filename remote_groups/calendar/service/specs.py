"""What names a feed and its version: plain value types, and the window of sessions.

A feed shows the sessions of a window that moves at midnight in Helsinki
(:func:`feed_window`); the day of the window is part of every feed's version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

FeedKind = Literal["group", "participant", "facilitator", "region"]
Selection = Literal["group", "host_region", "facilitator"]

HELSINKI = ZoneInfo("Europe/Helsinki")
DAYS_BACK = 30


@dataclass(frozen=True)
class FeedSpec:
    """One feed as its URL names it: whose sessions, in which language, showing what.

    Plain values only: the spec's fields are part of the version's ETag.
    """

    kind: FeedKind
    subject_id: int
    """The group, participant, user or region the URL names."""
    selection: Selection
    """Which sessions: a group's, those a region hosts, or those a user leads or co-leads."""
    selected_id: int
    language: str
    alarm_minutes: int = 0
    """A reminder this many minutes before each session; 0 for none."""

    @property
    def private(self) -> bool:
        """Token feeds: private to their owner, and they show the facilitators' names."""
        return self.kind != "group"


@dataclass(frozen=True)
class FeedWindow:
    """The sessions a feed shows: from 30 days back to 12 months ahead, by Helsinki dates."""

    day: date
    opened_at: datetime
    """Midnight of ``day``: when the window last moved."""
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: datetime
    """For HTTP: the latest change to the data, or the window's move at midnight."""
    content_time: datetime
    """The latest change to the data: every event's DTSTAMP, so unchanged data gives the
    same bytes all day."""
    window: FeedWindow


@dataclass(frozen=True)
class CurrentFeed:
    spec: FeedSpec
    version: FeedVersion


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=HELSINKI)


def _a_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def feed_window(now: datetime) -> FeedWindow:
    return _window_of(now.astimezone(HELSINKI).date())


@lru_cache(maxsize=4)
def _window_of(today: date) -> FeedWindow:
    return FeedWindow(
        day=today,
        opened_at=_midnight(today),
        starts=_midnight(today - timedelta(days=DAYS_BACK)).astimezone(UTC),
        ends=_midnight(_a_year_later(today) + timedelta(days=1)).astimezone(UTC),
    )
