"""A feed's content: its sessions as an iCalendar, built with the pure builder in
:mod:`remote_groups.calendar.ics` once per version and process (:func:`feed_bytes`)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import timedelta

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from remote_groups.calendar.ics import Feed, FeedEvent, build_calendar
from remote_groups.calendar.service.queries import in_window, selected, window_parameters
from remote_groups.calendar.service.specs import CurrentFeed, FeedSpec, FeedVersion
from remote_groups.calendar.service.versions import output_settings
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.regions.models import Region
from remote_groups.validators import is_meeting_url

BUILT_FEEDS_KEPT = 64

# Named after the package: the logger keeps the name it had when this was one module.
log = logging.getLogger(__package__)


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


def feed_event(session: Session, spec: FeedSpec) -> FeedEvent:
    """One session as an event. Its UID is the session's stored ``uid`` as it is: for a new
    session a random UUID, e.g. ``0b5c6f3e-8d1a-4c2e-9f7b-2a6d4e8c1b90``, with no ``@host``
    (RFC 7986, section 5.3, recommends a random UUID and nothing that names a host); for a
    session that existed before migration 0006, the UID it was published with until then,
    e.g. ``session-42@ryhmat.example.fi``, so that calendars holding it recognise updates.
    Neither is computed here, so neither changes with BASE_URL."""
    group = session.group
    title = str(group.title(spec.language)) or group.slug
    meeting_url = usable_meeting_url(group)
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


def usable_meeting_url(group: RemoteGroup) -> str | None:
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
        .where(selected(spec.selection), in_window())
        .order_by(Session.starts_at, Session.id)
        .options(
            selectinload(Session.group),
            selectinload(Session.host_region),
            selectinload(Session.lead_facilitator),
            selectinload(Session.co_facilitators),
        )
    )
    parameters = {"selected": spec.selected_id, **window_parameters(version.window)}
    sessions = db.session.scalars(query, parameters).all()
    refresh_minutes = output_settings()[1]
    with force_locale(spec.language):
        name, description = _feed_names(spec)
        events = tuple(feed_event(session, spec) for session in sessions)
    for group_id in sorted({s.group_id for s in sessions if usable_meeting_url(s.group) is None}):
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
