"""iCalendar (RFC 5545 / RFC 7986) feeds for remote group sessions.

Clients and facilitators subscribe to these feeds in Google Calendar, Outlook,
Apple Calendar and Android phones, and the same serializer produces the
attachments of iMIP invitation e-mails (RFC 6047).  Everything here is pure:
the caller passes a :class:`Feed` and gets bytes back, so the HTTP layer can
cache by ETag and tests can parse the output with independent readers.

Design decisions (the *why*):

* **Byte-stable output.**  Nothing in the output depends on the time of
  generation: ``DTSTAMP`` comes from :attr:`Feed.dtstamp` (the caller's content
  version time) and the VTIMEZONE is derived only from the events' years.
  Calendar clients poll feeds often; identical bytes let the HTTP layer answer
  ``304 Not Modified`` and stop clients from rewriting every event on each poll.
* **Wall-clock times with TZID.**  Sessions are planned in Europe/Helsinki
  local time.  Emitting ``DTSTART;TZID=Europe/Helsinki`` (not UTC) keeps
  13:00 at 13:00 across the DST change even in clients that re-interpret
  times, and a matching VTIMEZONE keeps strict clients (Outlook) correct.
* **Our own TEXT escaping.**  icalendar 7's escaper turns a literal
  backslash followed by ``N`` into a line break, and it does not escape
  ``NAME`` / ``X-WR-*`` at all (they are "unknown" properties to it, and a
  newline there even raises ``AssertionError``).  User-entered text must
  round-trip exactly, so every TEXT value goes through :class:`_Text`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    vCalAddress,
    vCategory,
    vDuration,
    vText,
    vUri,
)

from remote_groups.calendar.vtimezone import vtimezone
from remote_groups.validators import is_meeting_url

__all__ = [
    "FEED_FORMAT_VERSION",
    "PRODID",
    "Feed",
    "FeedEvent",
    "build_calendar",
    "etag_for",
]

PRODID = "-//remote_groups//Remote day-activity groups//EN"

#: Bump whenever the serialized form changes for the same data (new property,
#: different escaping...).  It is mixed into :func:`etag_for` so that clients
#: holding an ETag from an older deployment get the new bytes instead of a 304.
FEED_FORMAT_VERSION = 2

#: RFC 5546 iTIP methods; anything else would make clients reject the invitation.
_ITIP_METHODS = frozenset(
    {"PUBLISH", "REQUEST", "REPLY", "ADD", "CANCEL", "REFRESH", "COUNTER", "DECLINECOUNTER"}
)

# RFC 5545 3.3.11: TEXT may not contain CONTROL characters except HTAB; line
# breaks are written as the escape "\n".  Web-form textareas submit CRLF.
_LINE_BREAKS = re.compile(r"\r\n?")
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_TEXT_ESCAPES = {"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"}
_TEXT_SPECIALS = re.compile(r"[\\;,\n]")


def _clean_text(value: str) -> str:
    """Make arbitrary user text representable as an iCalendar TEXT value.

    CR/CRLF become LF (so "\\r\\n" from a textarea is one line break, not two),
    forbidden control characters are dropped, and lone surrogates (which can
    not be encoded as UTF-8 and would crash serialization) become U+FFFD.

    U+FEFF (byte order mark, deprecated zero-width no-break space) is dropped
    too: it is invisible copy-paste junk, and icalendar 7 silently removes it
    at the start of a value only (it decodes values as "utf-8-sig"), so
    dropping it everywhere keeps the result consistent.
    """
    value = _LINE_BREAKS.sub("\n", value)
    value = _FORBIDDEN_CONTROLS.sub("", value).replace("\ufeff", "")
    return _SURROGATES.sub("\ufffd", value)


def _one_line(value: str) -> str:
    """Text for places that must stay on one line (parameter values, alarm text)."""
    return " ".join(_clean_text(value).split("\n")).strip()


class _Text(vText):
    """A TEXT value escaped exactly as RFC 5545 3.3.11 says, in one pass.

    icalendar's own ``vText`` first rewrites a literal ``\\N`` into a newline
    (so ``C:\\New`` would come back as ``C:`` + line break + ``ew``); a
    single-pass escape has no such order-dependent surprises.
    """

    __slots__ = ()

    def to_ical(self) -> bytes:
        escaped = _TEXT_SPECIALS.sub(lambda m: _TEXT_ESCAPES[m.group()], str(self))
        return escaped.encode(self.encoding)


def _text(value: str) -> _Text:
    return _Text(_clean_text(value))


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class FeedEvent:
    """One session as it appears in a calendar.

    Keyword-only, because several fields share a type (two datetimes, several
    strings) and a positional mix-up would silently publish wrong times.
    """

    uid: str
    """Stable identifier, e.g. ``0b5c6f3e-8d1a-4c2e-9f7b-2a6d4e8c1b90`` (a
    session's stored UID: a random UUID, or ``session-<id>@<host>`` for a session
    from before migration 0006); never changes for a session, otherwise clients
    show duplicates instead of updating."""
    starts_at: datetime
    """Aware datetime in any zone; written as Europe/Helsinki wall-clock time."""
    ends_at: datetime
    summary: str
    description: str
    """Already localized plain text; the meeting link is appended to it."""
    meeting_url: str | None
    """Video meeting link → ``URL``, ``CONFERENCE`` and the description (not
    every client shows ``CONFERENCE``; all of them show the description)."""
    last_modified: datetime
    """Aware; written as ``LAST-MODIFIED`` in UTC."""
    conference_label: str = ""
    """Localized ``LABEL`` for ``CONFERENCE``, also prefixed to the link in the
    description."""
    cancelled: bool = False
    """Cancelled sessions stay in the feed with ``STATUS:CANCELLED`` so that
    clients that already have them mark them cancelled instead of keeping a
    stale copy."""
    sequence: int = 0
    """Bumped by the caller on every significant change (time, cancellation);
    iTIP clients ignore updates whose SEQUENCE did not increase."""
    location: str | None = None
    categories: tuple[str, ...] = ()
    organizer: str | None = None
    """E-mail address of the organizer, for iMIP invitations (RFC 5546 requires one)."""
    attendee: str | None = None
    """E-mail address of the invited person, for iMIP invitations."""

    def __post_init__(self) -> None:
        if not self.uid or _FORBIDDEN_CONTROLS.search(self.uid) or "\n" in self.uid:
            raise ValueError(f"uid must be a non-empty single line, got {self.uid!r}")
        _require_aware("starts_at", self.starts_at)
        _require_aware("ends_at", self.ends_at)
        _require_aware("last_modified", self.last_modified)
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.sequence < 0:
            raise ValueError("sequence must not be negative")
        if self.meeting_url is not None:
            _check_meeting_url(self.meeting_url)
        if isinstance(self.categories, str):
            # A bare string would be iterated letter by letter.
            raise TypeError("categories must be a tuple of strings, not a string")


def _check_meeting_url(url: str) -> None:
    """Only web links, by the rule the group form applies too
    (:func:`remote_groups.validators.is_meeting_url`): the URL ends up clickable
    in clients, and whitespace would break the content line."""
    if not is_meeting_url(url):
        raise ValueError(f"meeting_url must be an http(s) link, got {url!r}")


@dataclass(frozen=True, kw_only=True)
class Feed:
    """A whole calendar: a subscription feed or the body of an invitation."""

    name: str
    """Shown as the calendar's name by clients (``NAME`` and ``X-WR-CALNAME``); not written
    in invitations (with :attr:`method`), nor are the description and refresh interval."""
    events: tuple[FeedEvent, ...]
    dtstamp: datetime
    """Aware; used as the ``DTSTAMP`` of every event.  The caller passes the
    feed's content version time so the same data always gives the same bytes."""
    description: str = ""
    language: str = "fi"
    """Informational for the caller (which language the texts are in).  Not
    emitted: clients ignore ``LANGUAGE`` and ``PRODID`` must stay constant."""
    refresh: timedelta = timedelta(hours=1)
    """Suggested polling interval (``REFRESH-INTERVAL`` and ``X-PUBLISHED-TTL``)."""
    alarm_before: timedelta | None = None
    """If set, each non-cancelled event gets a display reminder this long before."""
    timezone: str = "Europe/Helsinki"
    method: str | None = None
    """iTIP method (``REQUEST``, ``CANCEL``...) for e-mail invitations; ``None``
    for subscription feeds, which must not carry ``METHOD`` (Outlook would
    treat the feed as an invitation)."""

    def __post_init__(self) -> None:
        _require_aware("dtstamp", self.dtstamp)
        if self.refresh <= timedelta(0):
            raise ValueError("refresh must be positive")
        if self.alarm_before is not None and self.alarm_before <= timedelta(0):
            raise ValueError("alarm_before must be positive")
        if self.method is not None and self.method not in _ITIP_METHODS:
            raise ValueError(f"method must be one of {sorted(_ITIP_METHODS)}, got {self.method!r}")
        ZoneInfo(self.timezone)  # fail now, not in the middle of a request
        if isinstance(self.events, list):
            object.__setattr__(self, "events", tuple(self.events))


@lru_cache(maxsize=16)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``tzid`` valid from 1 January ``first_year`` up to
    1 January ``last_year + 1``, generated from the zoneinfo database
    (:mod:`remote_groups.calendar.vtimezone` says why not icalendar's own).

    Whole years give both STANDARD and DAYLIGHT observances even if all
    events are in winter, and keep the component unchanged while a feed's
    events move within a year.  Generation walks the zone's transitions, so
    the result is cached; the component is never mutated after creation,
    which makes sharing it between calendars safe.
    """
    return vtimezone(tzid, first_year, last_year)


def _duration(value: timedelta) -> vDuration:
    return vDuration(value, params={"VALUE": "DURATION"})


def _event_description(event: FeedEvent) -> str:
    description = _clean_text(event.description)
    if event.meeting_url is None:
        return description
    description = description.rstrip()
    label = _one_line(event.conference_label)
    link = f"{label}: {event.meeting_url}" if label else event.meeting_url
    return f"{description}\n\n{link}" if description else link


def _definite(moment: datetime, tz: ZoneInfo) -> datetime:
    """``moment`` as wall-clock time in ``tz`` when that names it unambiguously, else in UTC.

    A local time that occurs twice (the repeated hour when clocks go back) is read as its
    first occurrence by RFC 5545 3.3.5, but as the second by libical and ical.js: written
    as local time, one of the two would move by an hour, and an end there could fall on
    its start. UTC names the instant for every reader.
    """
    local = moment.astimezone(tz)
    if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
        return moment.astimezone(UTC)
    return local


def _build_event(item: FeedEvent, feed: Feed, tz: ZoneInfo, dtstamp: datetime) -> Event:
    event = Event()
    event.add("UID", item.uid)
    event.add("DTSTAMP", dtstamp)
    event.add("DTSTART", _definite(item.starts_at, tz))
    event.add("DTEND", _definite(item.ends_at, tz))
    event.add("SUMMARY", _text(item.summary))
    event.add("DESCRIPTION", _text(_event_description(item)))
    if item.location:
        event.add("LOCATION", _text(item.location))
    if item.categories:
        categories = vCategory([])
        categories.cats = [_text(category) for category in item.categories]
        event.add("CATEGORIES", categories)
    if item.meeting_url is not None:
        event.add("URL", vUri(item.meeting_url))
        params = {"VALUE": "URI", "FEATURE": "VIDEO"}
        label = _one_line(item.conference_label)
        if label:
            params["LABEL"] = label
        event.add("CONFERENCE", vUri(item.meeting_url, params=params))
    if item.organizer:
        event.add("ORGANIZER", vCalAddress(f"mailto:{_one_line(item.organizer)}"))
    if item.attendee:
        attendee = vCalAddress(f"mailto:{_one_line(item.attendee)}")
        attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION"})
        attendee.params["RSVP"] = "FALSE"
        event.add("ATTENDEE", attendee)
    event.add("STATUS", "CANCELLED" if item.cancelled else "CONFIRMED")
    # A cancelled session no longer occupies the time: keep it out of free/busy.
    event.add("TRANSP", "TRANSPARENT" if item.cancelled else "OPAQUE")
    event.add("SEQUENCE", item.sequence)
    event.add("LAST-MODIFIED", item.last_modified.astimezone(UTC))
    if feed.alarm_before is not None and not item.cancelled:
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("TRIGGER", -feed.alarm_before)
        # DESCRIPTION is required for DISPLAY alarms; clients show it in the popup.
        alarm.add("DESCRIPTION", _text(_one_line(item.summary) or "Reminder"))
        event.add_component(alarm)
    return event


def build_calendar(feed: Feed) -> bytes:
    """Serialize ``feed`` as a VCALENDAR: UTF-8, CRLF line endings, lines
    folded at 75 octets (never inside a multi-byte character).

    The same ``feed`` always gives the same bytes.
    """
    tz = ZoneInfo(feed.timezone)
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if feed.method is not None:
        # An invitation is one event, not a calendar: with a calendar name or a refresh
        # interval, Outlook offers to open it as a new calendar instead of adding the event.
        cal.add("METHOD", feed.method)
    else:
        # NAME is RFC 7986; X-WR-* are what Google, Outlook and Apple actually read.
        cal.add("NAME", _text(feed.name))
        cal.add("X-WR-CALNAME", _text(feed.name))
        if feed.description:
            cal.add("DESCRIPTION", _text(feed.description))
            cal.add("X-WR-CALDESC", _text(feed.description))
        cal.add("X-WR-TIMEZONE", feed.timezone)
        # RFC 7986 makes VALUE=DURATION mandatory here; icalendar omits it.
        cal.add("REFRESH-INTERVAL", _duration(feed.refresh))
        cal.add("X-PUBLISHED-TTL", vDuration(feed.refresh))

    # Always include the VTIMEZONE: it documents the zone even for a feed with
    # no sessions yet, and RFC 5545 requires at least one component.
    local_times = [e.starts_at.astimezone(tz) for e in feed.events]
    local_times += [e.ends_at.astimezone(tz) for e in feed.events]
    years = [t.year for t in local_times] or [feed.dtstamp.astimezone(tz).year]
    cal.add_component(_vtimezone(feed.timezone, min(years), max(years)))

    dtstamp = feed.dtstamp.astimezone(UTC)
    for item in feed.events:
        cal.add_component(_build_event(item, feed, tz, dtstamp))
    return cal.to_ical()


def _canonical(value: object) -> object:
    """Replace sets by sorted tuples: the iteration order of a set of strings
    depends on PYTHONHASHSEED, which differs between worker processes, and
    would make the same data produce different ETags per worker."""
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_canonical(v) for v in value), key=repr)))
    if isinstance(value, (list, tuple)):
        return type(value)(_canonical(v) for v in value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def etag_for(*parts: object) -> str:
    """A strong ETag (quoted hex SHA-256 prefix) for ``parts``.

    Lets the HTTP layer answer conditional requests from cheap version data
    (ids, update timestamps, locale...) without building the feed.  The parts
    must have a deterministic ``repr``; default object reprs contain memory
    addresses and are rejected.  :data:`FEED_FORMAT_VERSION` is mixed in so a
    deployment that changes the serialization invalidates clients' copies.
    """
    text = repr((FEED_FORMAT_VERSION, _canonical(parts)))
    if " at 0x" in text:
        raise ValueError("etag_for parts must have a stable repr (no default object reprs)")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f'"{digest[:32]}"'
