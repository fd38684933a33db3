"""The Core statements behind the feeds: a feed's sessions in its window, the aggregates
that version a feed, and the lookups of feed tokens and slugs.

Feeds are polled all day by every subscriber, so answering a poll costs about as much as
the cheapest request the app serves: Core statements built once, with bound parameters, run
on a connection of their own. Building ORM statements, loading entities and opening the
request's ORM session would each cost more than the query itself.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select

from remote_groups.applications.models import Application, Participant
from remote_groups.calendar.service.specs import FeedWindow, Selection
from remote_groups.groups.models import (
    Publication,
    RemoteGroup,
    Session,
    session_co_facilitators,
)
from remote_groups.regions.models import Region, User

_groups = RemoteGroup.__table__
_sessions = Session.__table__
_links = session_co_facilitators
_users = User.__table__
_participants = Participant.__table__
_applications = Application.__table__
_regions = Region.__table__


def _is_public() -> ColumnElement[bool]:
    """A draft group has no public feed, and its participants' feeds stop while it is one."""
    return _groups.c.publication == Publication.published


USER_BY_TOKEN = select(
    _users.c.id,
    _users.c.feed_token,
    _users.c.active,
    _users.c.role,
    _users.c.region_id,
    _users.c.language,
).where(_users.c.feed_token == bindparam("token"))
PARTICIPANT_BY_TOKEN = (
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
    .where(_participants.c.feed_token == bindparam("token"), _is_public())
)
REGION_BY_SLUG = select(_regions.c.id).where(_regions.c.slug == bindparam("slug"))


def in_window() -> ColumnElement[bool]:
    return and_(
        _sessions.c.starts_at >= bindparam("starts"), _sessions.c.starts_at < bindparam("ends")
    )


def selected(selection: Selection) -> ColumnElement[bool]:
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
GROUP_FEED = (
    select(
        _groups.c.id, _groups.c.kind, _groups.c.language, _groups.c.updated_at, *_session_figures()
    )
    .select_from(
        _groups.outerjoin(_sessions, and_(_sessions.c.group_id == _groups.c.id, in_window()))
    )
    .where(_groups.c.slug == bindparam("slug"), _is_public())
    .group_by(_groups.c.id)
)


@cache
def token_feed_version(selection: Selection) -> Select:
    """The version query of a token feed: its groups' last change first, then the figures."""
    in_feed = and_(selected(selection), in_window())
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


def window_parameters(window: FeedWindow) -> dict[str, object]:
    return {"starts": window.starts, "ends": window.ends}
