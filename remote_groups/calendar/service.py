"""Calendar feeds: which sessions each feed shows, its content version, and its bytes.

A view asks for the feed its URL names (:func:`group_feed`, :func:`participant_feed`,
:func:`facilitator_feed`, :func:`region_feed`; ``None`` is every answer that must be a 404)
and gets a :class:`CurrentFeed`: the feed and its version, found with aggregate queries that
load no session, so a ``304 Not Modified`` costs about as much as any small request. Only a
client without the current version gets :func:`feed_bytes`, which builds the calendar with
the pure builder in :mod:`remote_groups.calendar.ics` once per version and process.

The version covers what the database timestamps (sessions, groups), the co-facilitator links
(which change no session row), the settings that shape the output, and the day: the window
of sessions moves at midnight in Helsinki, and the day in the version also carries names the
database keeps no timestamp for (regions, people) to subscribers within a day.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Connection, Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from remote_groups.applications.models import Application, ApplicationStatus, Participant
from remote_groups.calendar.ics import Feed, FeedEvent, build_calendar, etag_for
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup, Session, session_co_facilitators
from remote_groups.i18n import SUPPORTED
from remote_groups.regions.models import Region, Role, User
from remote_groups.types import utcnow
from remote_groups.validators import is_meeting_url

FeedKind = Literal["group", "participant", "facilitator", "region"]
Selection = Literal["group", "host_region", "facilitator"]

HELSINKI = ZoneInfo("Europe/Helsinki")
DAYS_BACK = 30
MAX_ALARM_MINUTES = 7 * 24 * 60
#: new_token() gives 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 64
BUILT_FEEDS_KEPT = 64

log = logging.getLogger(__name__)


class UnusableMeetingLink(Exception):
    """A group's stored meeting link breaks the rule calendars need (:func:`is_meeting_url`),
    as a row saved before the group form applied it may: an invitation to its sessions is
    held back until someone fixes the link (see :func:`session_invitation`)."""

    def __init__(self, group_id: int) -> None:
        super().__init__(f"group {group_id} has a meeting link calendars cannot carry")
        self.group_id = group_id


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


# --- queries -------------------------------------------------------------------------------
#
# Feeds are polled all day by every subscriber, so answering a poll costs about as much as
# the cheapest request the app serves: Core statements built once, with bound parameters, run
# on a connection of their own. Building ORM statements, loading entities and opening the
# request's ORM session would each cost more than the query itself.

_groups = RemoteGroup.__table__
_sessions = Session.__table__
_links = session_co_facilitators
_users = User.__table__
_participants = Participant.__table__
_applications = Application.__table__
_regions = Region.__table__

_USER_BY_TOKEN = select(
    _users.c.id,
    _users.c.feed_token,
    _users.c.active,
    _users.c.role,
    _users.c.region_id,
    _users.c.language,
).where(_users.c.feed_token == bindparam("token"))
_PARTICIPANT_BY_TOKEN = (
    select(
        _participants.c.id,
        _participants.c.feed_token,
        _participants.c.group_id,
        _applications.c.status,
        _applications.c.anonymized_at,
        _groups.c.language,
    )
    .join(_applications, _applications.c.id == _participants.c.application_id)
    .join(_groups, _groups.c.id == _participants.c.group_id)
    .where(_participants.c.feed_token == bindparam("token"))
)
_REGION_BY_SLUG = select(_regions.c.id).where(_regions.c.slug == bindparam("slug"))


def _in_window() -> ColumnElement[bool]:
    return and_(
        _sessions.c.starts_at >= bindparam("starts"), _sessions.c.starts_at < bindparam("ends")
    )


def _selected(selection: Selection) -> ColumnElement[bool]:
    """A feed's sessions (parameter ``selected``), before the window."""
    selected = bindparam("selected")
    if selection == "group":
        return _sessions.c.group_id == selected
    if selection == "host_region":
        return _sessions.c.host_region_id == selected
    co_led = select(_links.c.session_id).where(_links.c.user_id == selected)
    return or_(_sessions.c.lead_facilitator_id == selected, _sessions.c.id.in_(co_led))


def _session_figures(people_of: ColumnElement[bool] | None = None) -> list[ColumnElement]:
    """Aggregates that change whenever a feed's sessions do. With ``people_of`` (the feed's
    sessions), also when their facilitators do: a change of co-facilitators writes only the
    link table, so the links are summed in, weighted by session so that a swap shows."""
    figures: list[ColumnElement] = [
        func.count(_sessions.c.id),
        func.max(_sessions.c.updated_at),
        func.coalesce(func.sum(_sessions.c.sequence), 0),
    ]
    if people_of is not None:
        links = _links.c.session_id.in_(select(_sessions.c.id).where(people_of))
        figures += [
            func.coalesce(func.sum(_sessions.c.lead_facilitator_id), 0),
            select(func.count()).where(links).scalar_subquery(),
            select(func.sum(_links.c.user_id * (_links.c.session_id + 1_000_003)))
            .where(links)
            .scalar_subquery(),
        ]
    return figures


# The public feed names its group by slug: one query finds the group and versions its feed.
_GROUP_FEED = (
    select(
        _groups.c.id, _groups.c.kind, _groups.c.language, _groups.c.updated_at, *_session_figures()
    )
    .select_from(
        _groups.outerjoin(_sessions, and_(_sessions.c.group_id == _groups.c.id, _in_window()))
    )
    .where(_groups.c.slug == bindparam("slug"))
    .group_by(_groups.c.id)
)


@cache
def _token_feed_version(selection: Selection) -> Select:
    """The version query of a token feed: its groups' last change first, then the figures."""
    in_feed = and_(_selected(selection), _in_window())
    if selection == "group":
        groups_changed = (
            select(_groups.c.updated_at).where(_groups.c.id == bindparam("selected"))
        ).scalar_subquery()
    else:
        groups_changed = func.max(_groups.c.updated_at)
    return (
        select(groups_changed, *_session_figures(people_of=in_feed))
        .select_from(_sessions.join(_groups, _groups.c.id == _sessions.c.group_id))
        .where(in_feed)
    )


def _output_settings() -> tuple[str, int]:
    config = current_app.config
    return str(config["BASE_URL"]), int(config["FEED_REFRESH_MINUTES"])


@lru_cache(maxsize=4)
def _catalogs_digest(directory: str) -> str:
    """A digest of the compiled catalogs: a deployment that changes a translation changes
    the feeds' texts, so it must change their versions too (read once per process)."""
    digest = hashlib.sha256()
    for path in sorted(Path(directory).glob("*/LC_MESSAGES/*.mo")):
        name = path.relative_to(directory).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _version_settings() -> tuple[str, int, str]:
    """Everything outside the database that shapes a feed's bytes, for its ETag: the base
    URL (links), the refresh interval and the translations."""
    directory = str(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    return (*_output_settings(), _catalogs_digest(directory))


def _version(
    spec: FeedSpec, window: FeedWindow, groups_changed: datetime | None, figures: tuple
) -> FeedVersion:
    sessions_changed = figures[1]
    changed = [t for t in (groups_changed, sessions_changed) if t is not None]
    content_time = max(changed, default=window.opened_at)
    # One flat string of plain values: every poll computes the ETag, so its parts are kept
    # cheap to hash (no datetimes, no nesting).
    parts = (
        *(spec.kind, spec.subject_id, spec.selection, spec.selected_id, spec.language),
        spec.alarm_minutes,
        window.day.toordinal(),
        groups_changed.timestamp() if groups_changed else None,
        *(f.timestamp() if isinstance(f, datetime) else f for f in figures),
        *_version_settings(),
    )
    return FeedVersion(
        etag=etag_for("|".join(map(str, parts))),
        last_modified=max(content_time, window.opened_at),
        content_time=content_time,
        window=window,
    )


def _window_parameters(window: FeedWindow) -> dict[str, object]:
    return {"starts": window.starts, "ends": window.ends}


def _current(connection: Connection, spec: FeedSpec, now: datetime | None) -> CurrentFeed:
    window = feed_window(now or utcnow())
    parameters = {"selected": spec.selected_id, **_window_parameters(window)}
    groups_changed, *figures = connection.execute(
        _token_feed_version(spec.selection), parameters
    ).one()
    return CurrentFeed(spec, _version(spec, window, groups_changed, tuple(figures)))


# --- which feed a URL names -------------------------------------------------------------


def _language(requested: str | None, default: str) -> str:
    """``?lang`` when it is one we speak; anything else falls back to the feed's default."""
    return requested if requested in SUPPORTED else default


def _by_token(connection: Connection, statement: Select, token: str | None) -> Row | None:
    """The row of a feed token's owner, or None.

    The lookup uses the unique index; the constant-time comparison after it makes sure that
    only the exact stored token matches (a database collation could be case-insensitive).
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    owner = connection.execute(statement, {"token": token}).one_or_none()
    if owner is None or not hmac.compare_digest(owner.feed_token.encode(), token.encode()):
        return None
    return owner


def group_feed(
    slug: str, language: str | None = None, now: datetime | None = None
) -> CurrentFeed | None:
    """The public feed of an open group. Closed courses have none: participants get theirs."""
    window = feed_window(now or utcnow())
    parameters = {"slug": slug, **_window_parameters(window)}
    with db.engine.connect() as connection:
        group = connection.execute(_GROUP_FEED, parameters).one_or_none()
    if group is None or group.kind != GroupKind.open:
        return None
    spec = FeedSpec(
        kind="group",
        subject_id=group.id,
        selection="group",
        selected_id=group.id,
        language=_language(language, group.language),
    )
    figures = tuple(group)[4:]
    return CurrentFeed(spec, _version(spec, window, group.updated_at, figures))


def participant_feed(
    token: str,
    language: str | None = None,
    alarm_minutes: int | None = None,
    now: datetime | None = None,
) -> CurrentFeed | None:
    """A participant's private feed of their course, with a reminder before each session.

    ``alarm_minutes`` None means the configured default, 0 means no reminder. The feed ends
    when the place does (withdrawn, anonymized).
    """
    with db.engine.connect() as connection:
        participant = _by_token(connection, _PARTICIPANT_BY_TOKEN, token)
        if participant is None:
            return None
        if participant.status != ApplicationStatus.accepted or participant.anonymized_at:
            return None
        if alarm_minutes is None:
            alarm_minutes = int(current_app.config["FEED_ALARM_MINUTES"])
        spec = FeedSpec(
            kind="participant",
            subject_id=participant.id,
            selection="group",
            selected_id=participant.group_id,
            language=_language(language, participant.language),
            alarm_minutes=max(0, min(alarm_minutes, MAX_ALARM_MINUTES)),
        )
        return _current(connection, spec, now)


def facilitator_feed(
    token: str, language: str | None = None, scope: str | None = None, now: datetime | None = None
) -> CurrentFeed | None:
    """A staff member's own turns (lead or co-lead), or with ``scope="region"`` every session
    their region hosts."""
    with db.engine.connect() as connection:
        user = _by_token(connection, _USER_BY_TOKEN, token)
        if user is None or not user.active:
            return None
        by_region = scope == "region" and user.region_id is not None
        spec = FeedSpec(
            kind="facilitator",
            subject_id=user.id,
            selection="host_region" if by_region else "facilitator",
            selected_id=user.region_id if by_region else user.id,
            language=_language(language, user.language),
        )
        return _current(connection, spec, now)


def region_feed(
    slug: str, token: str | None, language: str | None = None, now: datetime | None = None
) -> CurrentFeed | None:
    """Every session a region hosts, for its staff: the token is the feed token of an active
    staff member of that region, or of an administrator."""
    with db.engine.connect() as connection:
        user = _by_token(connection, _USER_BY_TOKEN, token)
        if user is None or not user.active:
            return None
        region_id = connection.execute(_REGION_BY_SLUG, {"slug": slug}).scalar_one_or_none()
        if region_id is None or (user.role != Role.admin and user.region_id != region_id):
            return None
        spec = FeedSpec(
            kind="region",
            subject_id=region_id,
            selection="host_region",
            selected_id=region_id,
            language=_language(language, user.language),
        )
        return _current(connection, spec, now)


# --- building -----------------------------------------------------------------------------


def _feed_names(spec: FeedSpec) -> tuple[str, str]:
    """The calendar's name and description, in the current (forced) locale."""
    language = spec.language
    if spec.selection == "group":
        group = db.session.get(RemoteGroup, spec.selected_id)
        assert group is not None
        page = url_for("groups.group_page", slug=group.slug, _external=True)
        description = str(group.description(language))
        return str(group.title(language)) or group.slug, "\n\n".join(
            part for part in (description, page) if part
        )
    if spec.selection == "facilitator":
        return f"{_('My turns')} – {_('Remote groups')}", _("Sessions I lead or co-lead")
    region = db.session.get(Region, spec.selected_id)
    assert region is not None
    return f"{_('Our turns')} – {region.name(language)}", ""


def _event_description(session: Session, spec: FeedSpec) -> str:
    language = spec.language
    lines = []
    if session.cancelled:
        lines.append(f"{_('Cancelled')}: {session.cancel_reason or _('no longer in the schedule')}")
    elif session.change_reason:
        lines.append(f"{_('Time changed:')} {session.change_reason}")
    if session.topic:
        lines.append(f"{_('Topic:')} {session.topic}")
    if session.host_region is not None:
        lines.append(f"{_('Host region')}: {session.host_region.name(language)}")
    if spec.private:
        lead = session.lead_facilitator
        lead_name = lead.name if lead else _("no lead facilitator yet")
        lines.append(f"{_('Lead facilitator')}: {lead_name}")
        others = [person.name for person in session.co_facilitators if person != lead]
        if others:
            lines.append(f"{_('Co-facilitators')}: {', '.join(sorted(others))}")
    return "\n".join(lines)


def _feed_event(session: Session, spec: FeedSpec) -> FeedEvent:
    """One session as an event. Its UID is the session's stored ``uid`` as it is: for a new
    session a random UUID, e.g. ``0b5c6f3e-8d1a-4c2e-9f7b-2a6d4e8c1b90``, with no ``@host``
    (RFC 7986, section 5.3, recommends a random UUID and nothing that names a host); for a
    session that existed before migration 0006, the UID it was published with until then,
    e.g. ``session-42@ryhmat.example.fi``, so that calendars holding it recognise updates.
    Neither is computed here, so neither changes with BASE_URL."""
    group = session.group
    title = str(group.title(spec.language)) or group.slug
    meeting_url = _meeting_url(group)
    return FeedEvent(
        uid=session.uid,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        summary=f"{_('Cancelled')}: {title}" if session.cancelled else title,
        description=_event_description(session, spec),
        meeting_url=meeting_url,
        conference_label=_("Open the meeting link"),
        location=meeting_url,
        last_modified=max(session.updated_at, group.updated_at),
        cancelled=session.cancelled,
        sequence=session.sequence,
    )


def _meeting_url(group: RemoteGroup) -> str | None:
    """The group's meeting link, or None when calendars cannot carry it (a row saved before
    the group form applied :func:`is_meeting_url`)."""
    return group.meeting_url if is_meeting_url(group.meeting_url) else None


def build_feed(spec: FeedSpec, version: FeedVersion) -> bytes:
    """Load the feed's sessions and serialize them in the feed's language.

    A session whose group has a meeting link calendars cannot carry stays in the feed, without
    the link: the session still takes place, a calendar that holds it would delete it if it
    went missing, and one bad row must not take the feed, or a region's feed of every group,
    down with it. The group is logged (its id only) once per build, that is once per version.
    """
    query = (
        select(Session)
        .where(_selected(spec.selection), _in_window())
        .order_by(Session.starts_at, Session.id)
        .options(
            selectinload(Session.group),
            selectinload(Session.host_region),
            selectinload(Session.lead_facilitator),
            selectinload(Session.co_facilitators),
        )
    )
    parameters = {"selected": spec.selected_id, **_window_parameters(version.window)}
    sessions = db.session.scalars(query, parameters).all()
    refresh_minutes = _output_settings()[1]
    with force_locale(spec.language):
        name, description = _feed_names(spec)
        events = tuple(_feed_event(session, spec) for session in sessions)
    for group_id in sorted({s.group_id for s in sessions if _meeting_url(s.group) is None}):
        log.warning("feed built without the meeting link of group %d: not a usable link", group_id)
    feed = Feed(
        name=name,
        description=description,
        events=events,
        dtstamp=version.content_time,
        language=spec.language,
        refresh=timedelta(minutes=refresh_minutes),
        alarm_before=timedelta(minutes=spec.alarm_minutes) if spec.alarm_minutes else None,
    )
    return build_calendar(feed)


class _BuiltFeeds:
    """A small thread-safe LRU of built feeds keyed by ETag. An ETag names one version of one
    feed, so an entry never goes stale: a change makes a new key, and the old one ages out."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._entries.get(key)
            if data is not None:
                self._entries.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._entries[key] = data
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


built_feeds = _BuiltFeeds(BUILT_FEEDS_KEPT)


def feed_bytes(feed: CurrentFeed) -> bytes:
    """The feed at its current version, built on the first request for it in this process."""
    data = built_feeds.get(feed.version.etag)
    if data is None:
        data = build_feed(feed.spec, feed.version)
        built_feeds.put(feed.version.etag, data)
    return data


def session_invitation(session: Session, recipient: str, language: str, method: str) -> str:
    """An iMIP calendar (RFC 6047) for one session, with the same UID and SEQUENCE as the
    feeds, so an update or a cancellation by mail changes the same calendar entry.

    A ``CANCEL`` always says ``STATUS:CANCELLED``: it also removes a session that goes on
    from the calendar of a participant who left the course.

    When the group's meeting link is one calendars cannot carry, a ``CANCEL`` goes without
    it, and anything else raises :class:`UnusableMeetingLink`: an invitation is how the link
    gets into the participant's calendar, and one sent without it could not be followed by
    one with it (the same SEQUENCE), so the caller holds it back until the link is fixed."""
    if method != "CANCEL" and _meeting_url(session.group) is None:
        raise UnusableMeetingLink(session.group_id)
    spec = FeedSpec("participant", 0, "group", session.group_id, language)
    with force_locale(language):
        event = replace(
            _feed_event(session, spec),
            organizer=current_app.config["MAIL_FROM"],
            attendee=recipient,
            cancelled=session.cancelled or method == "CANCEL",
        )
        name = str(session.group.title(language)) or session.group.slug
    feed = Feed(
        name=name,
        events=(event,),
        dtstamp=max(session.updated_at, session.group.updated_at),
        language=language,
        method=method,
    )
    return build_calendar(feed).decode("utf-8")
