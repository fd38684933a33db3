"""A feed's version, and which feed a URL names.

A view asks for the feed its URL names (:func:`group_feed`, :func:`participant_feed`,
:func:`facilitator_feed`, :func:`region_feed`; ``None`` is every answer that must be a 404)
and gets a :class:`CurrentFeed`: the feed and its version, found with aggregate queries that
load no session, so a ``304 Not Modified`` costs about as much as any small request. Only a
client without the current version gets
:func:`~remote_groups.calendar.service.content.feed_bytes`.

The version covers what the database timestamps (sessions, groups), the co-facilitator links
(which change no session row), the settings that shape the output, and the day: the window
of sessions moves at midnight in Helsinki, and the day in the version also carries names the
database keeps no timestamp for (regions, people) to subscribers within a day.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import Connection, Row, Select

from remote_groups.applications.models import ApplicationStatus
from remote_groups.calendar.ics import etag_for
from remote_groups.calendar.service.queries import (
    GROUP_FEED,
    PARTICIPANT_BY_TOKEN,
    REGION_BY_SLUG,
    USER_BY_TOKEN,
    token_feed_version,
    window_parameters,
)
from remote_groups.calendar.service.specs import (
    CurrentFeed,
    FeedSpec,
    FeedVersion,
    FeedWindow,
    feed_window,
)
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind
from remote_groups.i18n import SUPPORTED
from remote_groups.regions.models import Role
from remote_groups.types import utcnow

MAX_ALARM_MINUTES = 7 * 24 * 60
#: new_token() gives 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 64


def output_settings() -> tuple[str, int]:
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
    return (*output_settings(), _catalogs_digest(directory))


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


def _current(connection: Connection, spec: FeedSpec, now: datetime | None) -> CurrentFeed:
    window = feed_window(now or utcnow())
    parameters = {"selected": spec.selected_id, **window_parameters(window)}
    groups_changed, *figures = connection.execute(
        token_feed_version(spec.selection), parameters
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
    parameters = {"slug": slug, **window_parameters(window)}
    with db.engine.connect() as connection:
        group = connection.execute(GROUP_FEED, parameters).one_or_none()
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
        participant = _by_token(connection, PARTICIPANT_BY_TOKEN, token)
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
        user = _by_token(connection, USER_BY_TOKEN, token)
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
        user = _by_token(connection, USER_BY_TOKEN, token)
        if user is None or not user.active:
            return None
        region_id = connection.execute(REGION_BY_SLUG, {"slug": slug}).scalar_one_or_none()
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
