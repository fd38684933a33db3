"""Group and session transactions: load, call the schedule logic, save.

Each public function leaves committing to its caller (a view or a command), so a failure
anywhere rolls the whole change back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from remote_groups import events
from remote_groups.extensions import db
from remote_groups.formatting import date_full, wall_clock
from remote_groups.groups.models import (
    GroupInvitation,
    GroupKind,
    Publication,
    RemoteGroup,
    RotationPolicy,
    Session,
    SessionStatus,
)
from remote_groups.groups.schedule import (
    NonexistentLocalTime,
    Occurrence,
    holiday_lookup,
    local_datetime,
    occurrences,
    skips,
)
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import withdraw_held, withdraw_pending_notices
from remote_groups.regions.models import Region, User
from remote_groups.regions.permissions import can_change_group_structure, can_own_new_group
from remote_groups.service import ServiceError
from remote_groups.types import utcnow

GROUP_FIELDS = (
    "slug", "kind", "language", "title_fi", "title_sv", "title_en",
    "description_fi", "description_sv", "description_en",
    "audience_fi", "audience_sv", "audience_en", "theme", "meeting_url",
    "weekday", "start_time", "duration_minutes", "term_start", "term_end",
    "skip_holidays", "rotation_policy", "capacity", "application_opens", "application_closes",
    "reminder_hours",
)  # fmt: skip


# The fields of a group that only its owner region decides (``can_change_group_structure``),
# named as in ``GroupForm`` and the API.
STRUCTURE_FIELDS = ("kind", "meeting_url", "regions", "owner_region")


@dataclass(frozen=True)
class TurnChange:
    """One session whose host a plan changes: from which region to which, and the lead
    facilitator who no longer leads it (they came from the region that gave the turn up)."""

    session: Session
    before: Region | None
    after: Region | None
    lead_dropped: User | None


def regions_touched(changes: list[TurnChange]) -> dict[int, Region]:
    """The regions that give up or get a turn in ``changes`` (id → region): whose
    coordinators hear of them, and whom the preview names."""
    return {r.id: r for c in changes for r in (c.before, c.after) if r is not None}


# A change to turns applies, unless the coordinator chooses otherwise, after the next two
# weeks: those were announced (the "your turn next week" mail, published feeds).
TURN_NOTICE_DAYS = 14


def suggested_effective_day(today: date) -> date:
    """The day a change of turns applies from unless the coordinator chooses another."""
    return today + timedelta(days=TURN_NOTICE_DAYS)


@contextmanager
def turns_moved_in(group: RemoteGroup) -> Iterator[list[TurnChange]]:
    """The turn changes announced for ``group`` (``events.turns_moved``) while the block
    runs: what a look at a change shows before it is rolled back. Only this group's, since
    the signal is shared by every request."""
    moved: list[TurnChange] = []

    def collect(_group: RemoteGroup, *, changes: list[TurnChange], **_: object) -> None:
        moved.extend(changes)

    with events.turns_moved.connected_to(collect, sender=group):
        yield moved


def who_is_told(changes: list[TurnChange]) -> dict[str, Any]:
    """Whom a preview of ``changes`` names as told (the mails of ``events.turns_moved``): each
    lead facilitator who no longer leads a session, and the coordinators of every region that
    gives up or gets a turn."""
    return {
        "leads": [c.lead_dropped for c in changes if c.lead_dropped is not None],
        "regions": regions_touched(changes),
    }


class NotAllowed(ServiceError):
    """A refusal because of who asks, not of what they sent: answered with 403."""


@dataclass
class RegenerationReport:
    created: list[date] = field(default_factory=list)
    moved: list[date] = field(default_factory=list)
    removed: list[date] = field(default_factory=list)
    kept: list[date] = field(default_factory=list)


def _clock_change_refusal(gap: NonexistentLocalTime) -> ServiceError:
    """A start time that the clocks skip, refused beside the start time field, naming every
    day of the term on which it does not exist."""
    if len(gap.days) == 1:
        message = _l(
            "There is no %(time)s on %(date)s: summer time begins and the clocks jump an hour "
            "forward that night. Choose another start time.",
            time=wall_clock(gap.wall_clock),
            date=date_full(gap.day),
        )
    else:
        message = _l(
            "There is no %(time)s on these days: %(dates)s. Summer time begins and the clocks"
            " jump an hour forward those nights. Choose another start time.",
            time=wall_clock(gap.wall_clock),
            dates=", ".join(date_full(day) for day in gap.days),
        )
    return ServiceError(message, field="start_time")


def regions_by_slug(slugs: list[str]) -> list[Region]:
    found = {r.slug: r for r in db.session.scalars(select(Region).where(Region.slug.in_(slugs)))}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise ServiceError(_l("Unknown region: %(slugs)s", slugs=", ".join(missing)), "regions")
    return [found[slug] for slug in slugs]


def save_group(
    group: RemoteGroup | None,
    values: dict[str, Any],
    regions: list[Region],
    owner: Region,
    now: datetime | None = None,
    effective_from: datetime | None = None,
) -> RemoteGroup:
    """Create or update a group from validated values, then bring its sessions up to date.
    Turns move only in sessions from ``effective_from`` on, if given (``regenerate_sessions``)."""
    if not regions:
        raise ServiceError(_l("Choose at least one region."), field="regions")
    slug_owner = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == values["slug"]))
    if slug_owner is not None and slug_owner is not group:
        raise ServiceError(_l("Another group already uses this web address name."), "slug")
    group = group or RemoteGroup()
    db.session.add(group)
    for name in GROUP_FIELDS:
        if name in values:
            setattr(group, name, values[name] if values[name] != "" else None)
    group.kind = GroupKind(group.kind)
    group.rotation_policy = RotationPolicy(group.rotation_policy or RotationPolicy.round_robin)
    if group.kind == GroupKind.open:
        group.capacity = group.application_opens = group.application_closes = None
    group.owner_region = owner
    group.owner_region_id = owner.id
    group.set_regions(regions)
    db.session.flush()
    regenerate_sessions(group, now, effective_from)
    db.session.flush()
    return group


def current_structure(group: RemoteGroup) -> dict[str, Any]:
    """A group's structure as form values: what a coordinator who may not change it sends.
    The regions are those taking part, in turn order, then those invited."""
    return {
        "kind": group.kind.value,
        "meeting_url": group.meeting_url,
        "regions": [r.slug for r in group.regions]
        + [invitation.region.slug for invitation in group.pending_invitations],
        "owner_region": group.owner_region.slug,
    }


def owner_slug_for(
    user: User, group: RemoteGroup | None, requested: str | None, region_slugs: list[str]
) -> str:
    """The region that is to own a group, where nobody chose one: an existing group keeps its
    owner, a coordinator's new group is their region's, an admin's the first region taking part.
    The one place this is decided; whether ``user`` may have it so is ``save_group_as``'s."""
    if requested:
        return requested
    if group is not None:
        return group.owner_region.slug
    if user.region is not None:
        return user.region.slug
    return region_slugs[0]


def _structure_changes(
    group: RemoteGroup, values: dict[str, Any], region_slugs: list[str], owner_slug: str
) -> list[str]:
    """The structure fields whose sent value differs from the group's (regions as a set: the
    form sends them in its own order)."""
    current = current_structure(group)
    sent = {
        "kind": GroupKind(values["kind"]).value,
        "meeting_url": values["meeting_url"],
        "regions": set(region_slugs),
        "owner_region": owner_slug,
    }
    current["regions"] = set(current["regions"])
    return [name for name in STRUCTURE_FIELDS if sent[name] != current[name]]


def save_group_as(
    user: User,
    group: RemoteGroup | None,
    values: dict[str, Any],
    region_slugs: list[str],
    owner_slug: str | None,
    now: datetime | None = None,
    effective_from: datetime | None = None,
) -> RemoteGroup:
    """Create or edit a group as ``user`` asked, within their authority: what the staff form
    and the API call (``save_group`` itself trusts its caller).

    A group's structure (kind, meeting link, regions taking part, owner) is its owner
    region's: from anyone else, a change to any of it is refused whole (``NotAllowed``) before
    anything is saved. A new group is owned by the creator's own region (any region for an
    admin), and its owner takes part in it, so nobody creates a group that another region
    owns or hosts alone.

    ``region_slugs`` are the regions wanted in the group, in turn order. One taking part
    already, or the owner, takes part; any other is invited (``GroupInvitation``) and takes
    part once its own coordinator accepts. A region left out is dropped, and its pending
    invitation withdrawn. The owner is chosen among the regions already taking part.
    """
    owner_slug = owner_slug_for(user, group, owner_slug, region_slugs)
    if group is not None and not can_change_group_structure(user, group):
        changed = _structure_changes(group, values, region_slugs, owner_slug)
        if changed:
            raise NotAllowed(
                _l("Only the coordinators of the organizing region can change this."),
                field=changed[0],
            )
        return save_group(group, values, group.regions, group.owner_region, now, effective_from)
    regions = regions_by_slug(region_slugs)
    owner = regions_by_slug([owner_slug])[0]
    if group is None and not can_own_new_group(user, owner.id):
        raise NotAllowed(
            _l("You can create groups for your own region only."), field="owner_region"
        )
    if owner not in regions:
        raise ServiceError(
            _l("The organizing region must be one of the participating regions."),
            field="regions",
        )
    taking_part = [r for r in regions if (group.takes_part(r.id) if group else r is owner)]
    if owner not in taking_part:
        raise ServiceError(
            _l("Only a region that already takes part in the group can organize it."),
            field="owner_region",
        )
    invited = [r for r in regions if r not in taking_part]
    saved = save_group(group, values, taking_part, owner, now, effective_from)
    _invite(saved, invited, user, now)
    return saved


def _invite(group: RemoteGroup, regions: list[Region], by: User, now: datetime | None) -> None:
    """Make the pending invitations of ``group`` exactly those to ``regions``."""
    wanted = {r.id for r in regions}
    pending = {invitation.region_id: invitation for invitation in group.pending_invitations}
    for region_id, invitation in pending.items():
        if region_id not in wanted:
            group.invitations.remove(invitation)
    for region in regions:
        if region.id not in pending:
            invitation = GroupInvitation(region=region, invited_by=by, created_at=now or utcnow())
            group.invitations.append(invitation)
            db.session.flush()
            events.region_invited.send(invitation)
    db.session.flush()


def pending_invitations_of(region_id: int) -> list[GroupInvitation]:
    """The invitations a region has not answered yet, oldest first."""
    return list(
        db.session.scalars(
            select(GroupInvitation)
            .where(GroupInvitation.region_id == region_id, GroupInvitation.answered_at.is_(None))
            .order_by(GroupInvitation.created_at, GroupInvitation.id)
        )
    )


def answer_invitation(
    invitation: GroupInvitation,
    accept: bool,
    now: datetime | None = None,
    effective_from: datetime | None = None,
) -> None:
    """Accept (the region joins the end of the rotation order, and the turns are planned
    again from ``effective_from`` on: sessions before it keep their hosts) or decline an
    invitation. Only a pending invitation can be answered."""
    now = now or utcnow()
    if not invitation.pending:
        raise ServiceError(_l("This invitation has already been answered."))
    invitation.answered_at = now
    invitation.accepted = accept
    group = invitation.group
    if accept and not group.takes_part(invitation.region_id):
        group.set_regions([*group.regions, invitation.region])
        db.session.flush()
        events.sessions_changed.send(group, now=now, effective_from=effective_from)
    db.session.flush()


def groups_to_join(region: Region, today: date) -> list[RemoteGroup]:
    """The groups still running (term not ended) that ``region`` does not take part in: those
    an administrator can bring a new region into, in one step."""
    query = (
        select(RemoteGroup)
        .where(RemoteGroup.term_end >= today)
        .options(selectinload(RemoteGroup.participations))
        .order_by(RemoteGroup.term_start, RemoteGroup.id)
    )
    return [g for g in db.session.scalars(query) if not g.takes_part(region.id)]


def join_groups(
    region: Region,
    groups: list[RemoteGroup],
    effective_from: datetime,
    now: datetime | None = None,
) -> None:
    """Bring ``region`` into each of ``groups`` (an administrator's step for a new region):
    it joins the end of each one's turn order, a pending invitation of it is answered as
    accepted, and each group's turns are planned again from ``effective_from`` on, so the
    sessions before it keep their hosts and leads (``events.sessions_changed``)."""
    now = now or utcnow()
    for group in groups:
        if group.takes_part(region.id):
            continue
        for invitation in group.pending_invitations:
            if invitation.region_id == region.id:
                invitation.answered_at, invitation.accepted = now, True
        group.set_regions([*group.regions, region])
        db.session.flush()
        events.sessions_changed.send(group, now=now, effective_from=effective_from)
    db.session.flush()


def regenerate_sessions(
    group: RemoteGroup, now: datetime | None = None, effective_from: datetime | None = None
) -> RegenerationReport:
    """Bring future sessions in line with the weekly schedule, then have the turns planned
    again: from ``effective_from`` on, if given (sessions before it keep their hosts).

    Past sessions and sessions kept by hand (locked or edited by a coordinator) are never
    touched. A future session whose date left the schedule is cancelled rather than deleted,
    so subscribed calendars learn that it is gone.

    A weekly start time that does not exist on one of the term's days (the night summer time
    begins) is refused, naming that day, before any session changes: the coordinator chooses
    another time or term rather than finding that week moved an hour or silently missing.
    """
    now = now or utcnow()
    report = RegenerationReport()
    try:
        planned = occurrences(group.schedule)
    except NonexistentLocalTime as gap:
        raise _clock_change_refusal(gap) from gap
    wanted = {o.day: o for o in planned if isinstance(o, Occurrence)}
    existing = {s.occurrence_date: s for s in group.sessions}

    for day, occurrence in sorted(wanted.items()):
        session = existing.get(day)
        if session is None:
            if occurrence.starts_at > now:
                group.sessions.append(
                    Session(
                        occurrence_date=day,
                        starts_at=occurrence.starts_at,
                        ends_at=occurrence.ends_at,
                        status=SessionStatus.scheduled,
                        sequence=0,
                        locked=False,
                        host_fixed=False,
                    )
                )
                report.created.append(day)
            continue
        if session.starts_at <= now or session.kept_by_hand:
            report.kept.append(day)
            continue
        revived = session.cancelled and session.cancel_reason is None
        if (session.starts_at, session.ends_at) != (
            occurrence.starts_at,
            occurrence.ends_at,
        ) or revived:
            session.starts_at, session.ends_at = occurrence.starts_at, occurrence.ends_at
            session.status = SessionStatus.scheduled
            session.sequence += 1
            report.moved.append(day)

    for day, session in existing.items():
        if day in wanted or session.starts_at <= now or session.kept_by_hand:
            continue
        if not session.cancelled:
            session.status = SessionStatus.cancelled
            session.cancel_reason = None  # shown as "no longer in the schedule"
            session.sequence += 1
            report.removed.append(day)

    # rotation plans the turns again
    events.sessions_changed.send(group, now=now, effective_from=effective_from)
    return report


def move_session(
    session: Session,
    day: date,
    start_time: time,
    duration_minutes: int,
    *,
    topic: str | None,
    locked: bool,
    reason: str | None,
    now: datetime | None = None,
) -> None:
    """Move one session to a wall-clock date and time of its group's zone, or change its topic.

    A start time that does not exist is refused; one in the repeated autumn hour is the first
    of the two (``local_datetime``). The end is the start plus the length in real time, so it is
    always after the start, even when its wall-clock reading is not.
    """
    now = now or utcnow()
    if session.ends_at <= now:
        raise ServiceError(_l("A session that has already taken place cannot be changed."))
    try:
        starts_at = local_datetime(day, start_time, session.group.timezone)
    except NonexistentLocalTime as gap:
        raise _clock_change_refusal(gap) from gap
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    time_changed = (starts_at, ends_at) != (session.starts_at, session.ends_at)
    if time_changed:
        if session.cancelled:
            raise ServiceError(_l("Restore the cancelled session before moving it."))
        if starts_at <= now:
            raise ServiceError(_l("Choose a time in the future."), field="day")
        if not reason:
            raise ServiceError(_l("Tell participants why the time changes."), field="reason")
        previous_start = session.starts_at
        session.starts_at, session.ends_at = starts_at, ends_at
        session.change_reason = reason
        session.edited_at = now
        session.sequence += 1
        withdraw_pending_notices(session.id)
        events.session_moved.send(session, previous_start=previous_start)
    elif (topic or None) != session.topic and not session.cancelled:
        # A new topic is news too: a higher SEQUENCE sends participants an update.
        session.edited_at = now
        session.sequence += 1
    session.topic = topic or None
    session.locked = locked


def cancel_session(session: Session, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    if session.ends_at <= now:
        raise ServiceError(_l("A session that has already taken place cannot be changed."))
    if session.cancelled:
        raise ServiceError(_l("This session is already cancelled."))
    session.status = SessionStatus.cancelled
    session.cancel_reason = reason
    session.edited_at = now
    session.sequence += 1
    withdraw_pending_notices(session.id)
    events.session_cancelled.send(session, now=now)


def restore_session(session: Session, now: datetime | None = None) -> None:
    """Undo a cancellation. Within the undo window its cancellation mail, still held, is taken
    back: nobody hears of a cancellation that was undone."""
    now = now or utcnow()
    if session.ends_at <= now:
        raise ServiceError(_l("A session that has already taken place cannot be changed."))
    if not session.cancelled:
        raise ServiceError(_l("This session is not cancelled."))
    session.status = SessionStatus.scheduled
    session.cancel_reason = None
    session.edited_at = now
    session.sequence += 1
    withdraw_held(now, session_id=session.id, kinds=[MessageKind.cancellation])


@dataclass(frozen=True)
class ScheduleEntry:
    """One line of a group's schedule: a session, or a date without one and why."""

    day: date
    session: Session | None = None
    skip_reason: str | None = None


def upcoming_schedule(
    group: RemoteGroup, locale: str, now: datetime | None = None, limit: int | None = None
) -> list[ScheduleEntry]:
    """Future sessions (cancelled ones included) merged with holiday gaps, in date order.

    Days are the group's own (Helsinki) days: for two or three hours after midnight, UTC is
    still on the day before."""
    now = now or utcnow()
    entries = [
        ScheduleEntry(s.starts_at.astimezone(group.zone).date(), session=s)
        for s in group.sessions
        if s.ends_at > now
    ]
    today = now.astimezone(group.zone).date()
    entries += [
        ScheduleEntry(skip.day, skip_reason=skip.reason)
        for skip in skips(group.schedule, holiday_lookup(locale))
        if skip.day >= today
    ]
    entries.sort(key=lambda e: (e.day, e.session.starts_at if e.session else now))
    return entries[:limit] if limit else entries


def groups_for_listing(
    kind: str | None = None, language: str | None = None, *, include_drafts: bool = False
) -> list[RemoteGroup]:
    """The published groups (every public list and the API), or with ``include_drafts`` the
    drafts too (staff pages, which filter by permission themselves)."""
    # Who takes part is read for every group (permissions, the list's region names): loaded
    # in one more query, not one per group.
    query = (
        select(RemoteGroup)
        .options(selectinload(RemoteGroup.participations))
        .order_by(RemoteGroup.term_start, RemoteGroup.slug)
    )
    if not include_drafts:
        query = query.where(RemoteGroup.publication == Publication.published)
    if kind:
        query = query.where(RemoteGroup.kind == GroupKind(kind))
    if language:
        query = query.where(RemoteGroup.language == language)
    return list(db.session.scalars(query))


def group_by_slug(slug: str) -> RemoteGroup | None:
    return db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == slug))


def set_publication(group: RemoteGroup, publication: Publication) -> None:
    """Publish a draft or take a published group back to draft. Its feed's version follows
    ``updated_at``; a draft's public pages, feed and client mail stop (each public surface
    asks ``RemoteGroup.published``). Asking for the state it is in is refused, so a second
    press of the button says so instead of silently doing nothing."""
    if group.publication == publication:
        raise ServiceError(
            _l("The group is already public.")
            if publication == Publication.published
            else _l("The group is already a draft.")
        )
    group.publication = publication
    group.updated_at = utcnow()
    db.session.flush()
