"""Rotation transactions: planning hosts, blackouts, facilitators and swaps.

Callers commit. Refusals raise ServiceError with a translatable message, before anything
is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from remote_groups import events
from remote_groups.extensions import db
from remote_groups.groups.models import (
    GroupInvitation,
    RemoteGroup,
    Session,
    SessionStatus,
    session_co_facilitators,
)
from remote_groups.regions.models import Region, Role, User
from remote_groups.regions.permissions import (
    can_answer_swap,
    can_offer_session,
    can_withdraw_swap,
)
from remote_groups.rotation.models import Blackout, SwapKind, SwapRequest, SwapStatus
from remote_groups.rotation.planner import Blackout as PlannedBlackout
from remote_groups.rotation.planner import SessionSlot, changed_turns, plan_rotation, turn_counts
from remote_groups.service import ServiceError
from remote_groups.types import utcnow

UNFILLED_WARNING_DAYS = 14


# --- whose turns ---------------------------------------------------------------------------


def sessions_of_facilitator(user: User, now: datetime | None = None) -> list[Session]:
    """Upcoming sessions the user leads or co-leads, cancelled ones included so they are seen."""
    now = now or utcnow()
    co_led = select(session_co_facilitators.c.session_id).where(
        session_co_facilitators.c.user_id == user.id
    )
    query = (
        select(Session)
        .where(Session.ends_at > now)
        .where(or_(Session.lead_facilitator_id == user.id, Session.id.in_(co_led)))
        .order_by(Session.starts_at)
    )
    return list(db.session.scalars(query))


def region_turns(region_id: int, now: datetime | None = None, limit: int = 20) -> list[Session]:
    """The next sessions the region hosts across all groups."""
    now = now or utcnow()
    query = (
        select(Session)
        .where(Session.host_region_id == region_id, Session.ends_at > now)
        .where(Session.status == SessionStatus.scheduled)
        .order_by(Session.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


# --- planning ------------------------------------------------------------------------------


def is_fixed(session: Session, now: datetime) -> bool:
    """A session whose host the planner must not change: past, locked, moved by hand or
    agreed in a swap."""
    return session.starts_at <= now or session.kept_by_hand or session.host_fixed


def group_blackouts(group: RemoteGroup) -> list[Blackout]:
    region_ids = [r.id for r in group.regions]
    if not region_ids:
        return []
    query = select(Blackout).where(Blackout.region_id.in_(region_ids))
    return list(db.session.scalars(query.order_by(Blackout.start_date)))


@dataclass(frozen=True)
class PlanPreview:
    """What a re-plan would do: the new host per session, the sessions it changes, and turns."""

    plan: dict[int, str | None]
    changes: dict[int, tuple[str | None, str | None]]
    counts: dict[str, int]


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


def fixed_before(effective_from: datetime | None) -> Callable[[Session, datetime], bool]:
    """The planner's "keep this host" rule, with an "applies from" instant: a session that
    starts before it keeps its host as if it were fixed, so a change never reaches the weeks
    already published (never next week, unless the coordinator chooses so)."""

    def fixed(session: Session, now: datetime) -> bool:
        early = effective_from is not None and session.starts_at < effective_from
        return is_fixed(session, now) or early

    return fixed


def preview_plan(
    group: RemoteGroup, now: datetime | None = None, effective_from: datetime | None = None
) -> PlanPreview:
    now = now or utcnow()
    keep = fixed_before(effective_from)
    regions = [r.slug for r in group.regions]
    if not regions:
        raise ServiceError(_l("The group has no participating regions."), "regions")
    db.session.flush()  # new sessions need their ids as plan keys
    active = [s for s in group.sessions if not s.cancelled]
    zone = group.zone
    slots = [
        SessionSlot(
            key=s.id,
            day=s.starts_at.astimezone(zone).date(),
            fixed_host=(s.host_region.slug if s.host_region else None) if keep(s, now) else None,
        )
        for s in active
    ]
    blackouts = [
        PlannedBlackout(b.region.slug, b.start_date, b.end_date) for b in group_blackouts(group)
    ]
    plan = plan_rotation(slots, regions, blackouts=blackouts, policy=group.rotation_policy.value)
    current = {s.id: (s.host_region.slug if s.host_region else None) for s in active}
    return PlanPreview(plan, changed_turns(current, plan), turn_counts(plan, regions))


def turn_changes(
    group: RemoteGroup,
    preview: PlanPreview,
    now: datetime,
    effective_from: datetime | None = None,
) -> list[TurnChange]:
    """What ``preview`` would do to the group's sessions, by date: each session whose host
    changes, and the lead who would no longer lead it. Leads whose host stays are kept."""
    keep = fixed_before(effective_from)
    by_slug = {r.slug: r for r in group.regions}
    changes = []
    for session in group.sessions:
        if session.id not in preview.changes or keep(session, now):
            continue
        after = by_slug.get(preview.plan[session.id] or "")
        lead = session.lead_facilitator
        stays = lead is None or lead.region_id == (after.id if after else None)
        changes.append(TurnChange(session, session.host_region, after, None if stays else lead))
    return sorted(changes, key=lambda change: change.session.starts_at)


def preview_joining(
    invitation: GroupInvitation, effective_from: datetime, now: datetime | None = None
) -> list[TurnChange]:
    """What accepting ``invitation`` with turns from ``effective_from`` would change, planned
    on the group as it would be. It changes the session's rows to find out: the caller rolls
    the transaction back afterwards, so nothing of it is kept."""
    now = now or utcnow()
    group = invitation.group
    if not group.takes_part(invitation.region_id):
        group.set_regions([*group.regions, invitation.region])
        db.session.flush()
    return turn_changes(group, preview_plan(group, now, effective_from), now, effective_from)


def apply_plan(
    group: RemoteGroup, now: datetime | None = None, effective_from: datetime | None = None
) -> PlanPreview:
    """Give every open session the host the planner chooses; fixed sessions, and those before
    ``effective_from``, keep theirs. A lead stays where the host stays. Turns taken from a
    region that had them are announced (``events.turns_moved``), so the people they concern
    are told; a new session's first host is not news."""
    now = now or utcnow()
    if not group.regions:
        return PlanPreview({}, {}, {})
    preview = preview_plan(group, now, effective_from)
    changes = turn_changes(group, preview, now, effective_from)
    for change in changes:
        change.session.host_region = change.after
        if change.lead_dropped is not None:
            change.session.lead_facilitator = None
    if moved := [change for change in changes if change.before is not None]:
        events.turns_moved.send(group, changes=moved)
    return preview


@events.sessions_changed.connect
def plan_turns_again(
    group: RemoteGroup,
    now: datetime | None = None,
    effective_from: datetime | None = None,
    **_: object,
) -> None:
    """A group's sessions or regions changed (:mod:`remote_groups.groups` announces it): give
    its open sessions their hosts again, from ``effective_from`` on if given."""
    apply_plan(group, now, effective_from)


def host_counts(group: RemoteGroup) -> dict[str, int]:
    """The sessions each region taking part hosts in the group (cancelled ones not counted),
    in rotation order: the counts the rotation page shows."""
    hosts = {
        s.id: s.host_region.slug if s.host_region else None
        for s in group.sessions
        if not s.cancelled
    }
    return turn_counts(hosts, [r.slug for r in group.regions])


# --- blackouts ------------------------------------------------------------------------------


def add_blackout(region: Region, start: date, end: date, reason: str, by: User | None) -> Blackout:
    if end < start:
        raise ServiceError(_l("The last day cannot be before the first day."), "end_date")
    blackout = Blackout(region=region, start_date=start, end_date=end, reason=reason, created_by=by)
    db.session.add(blackout)
    return blackout


def region_blackouts(region_id: int, today: date) -> list[Blackout]:
    query = (
        select(Blackout)
        .where(Blackout.region_id == region_id, Blackout.end_date >= today)
        .order_by(Blackout.start_date)
    )
    return list(db.session.scalars(query))


# --- facilitators ---------------------------------------------------------------------------


def _require_upcoming(session: Session, now: datetime) -> None:
    if session.starts_at <= now:
        raise ServiceError(_l("A session that has already taken place cannot be changed."))
    if session.status == SessionStatus.cancelled:
        raise ServiceError(_l("The session is cancelled."))


def assign_facilitators(
    session: Session, lead: User | None, co_facilitators: list[User], now: datetime | None = None
) -> None:
    """The lead comes from the host region; co-facilitators from any participating region.
    A new lead is told (``events.lead_assigned``)."""
    now = now or utcnow()
    _require_upcoming(session, now)
    if lead is not None and lead.region_id != session.host_region_id:
        raise ServiceError(_l("The lead facilitator must come from the host region."), "lead")
    for person in co_facilitators:
        if not session.group.takes_part(person.region_id):
            raise ServiceError(
                _l("Co-facilitators must come from a participating region."), "co_facilitators"
            )
    before = session.lead_facilitator
    session.lead_facilitator = lead
    session.co_facilitators = [p for p in co_facilitators if p != lead]
    if lead is not None and lead != before:
        events.lead_assigned.send(session, lead=lead)


def volunteer(session: Session, user: User, now: datetime | None = None) -> None:
    """A facilitator takes an unfilled turn of their own region.

    The update only succeeds while the session still has no lead, so two volunteers at the
    same moment cannot both win.
    """
    now = now or utcnow()
    _require_upcoming(session, now)
    if user.region_id is None or user.region_id != session.host_region_id:
        raise ServiceError(_l("You can volunteer only for your own region's turns."))
    result = db.session.execute(
        update(Session)
        .where(Session.id == session.id, Session.lead_facilitator_id.is_(None))
        .values(lead_facilitator_id=user.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError(_l("Someone else already leads this session."))
    db.session.expire(session)


def unfilled_turns(region_id: int, now: datetime | None = None, days: int = 14) -> list[Session]:
    """The region's sessions in the next ``days`` days that still have no lead facilitator."""
    now = now or utcnow()
    query = (
        select(Session)
        .where(
            Session.host_region_id == region_id,
            Session.status == SessionStatus.scheduled,
            Session.lead_facilitator_id.is_(None),
            Session.starts_at > now,
            Session.starts_at <= now + timedelta(days=days),
        )
        .order_by(Session.starts_at)
    )
    return list(db.session.scalars(query))


def region_facilitators(region_ids: list[int]) -> list[User]:
    query = (
        select(User)
        .where(User.region_id.in_(region_ids), User.active.is_(True))
        .where(User.role.in_([Role.facilitator, Role.coordinator]))
        .order_by(User.name)
    )
    return list(db.session.scalars(query))


# --- swaps ----------------------------------------------------------------------------------


def propose_swap(
    session: Session,
    *,
    by: User,
    to_region: Region,
    other_session: Session | None = None,
    message: str | None = None,
    now: datetime | None = None,
) -> SwapRequest:
    """Offer another region either a swap of two sessions' hosts or one session to host."""
    now = now or utcnow()
    _require_upcoming(session, now)
    if not can_offer_session(by, session):
        raise ServiceError(_l("Only the host region's coordinator can offer this session."))
    if not session.group.takes_part(to_region.id) or to_region.id == session.host_region_id:
        raise ServiceError(_l("Choose another region that takes part in the group."), "to_region")
    if other_session is not None:
        _require_upcoming(other_session, now)
        if other_session.group_id != session.group_id:
            raise ServiceError(_l("Both sessions must belong to the same group."), "other_session")
        if other_session.host_region_id != to_region.id:
            raise ServiceError(
                _l("The other session must be hosted by the region you ask."), "other_session"
            )
    pending = db.session.scalar(
        select(SwapRequest.id).where(
            SwapRequest.status == SwapStatus.pending,
            or_(
                SwapRequest.session_id == session.id,
                SwapRequest.other_session_id == session.id,
            ),
        )
    )
    if pending:
        raise ServiceError(_l("This session already has an open swap request."))
    swap = SwapRequest(
        kind=SwapKind.swap if other_session else SwapKind.handover,
        status=SwapStatus.pending,
        session=session,
        other_session=other_session,
        from_region_id=session.host_region_id,
        to_region=to_region,
        proposed_by=by,
        message=message or None,
        created_at=now,
    )
    db.session.add(swap)
    db.session.flush()
    events.swap_proposed.send(swap)
    return swap


def swap_candidates(session: Session, now: datetime | None = None) -> list[Session]:
    """The sessions ``session`` could be exchanged for: upcoming, not cancelled, of the same
    group, hosted by another region."""
    now = now or utcnow()
    return [
        s
        for s in session.group.sessions
        if s.starts_at > now
        and not s.cancelled
        and s.id != session.id
        and s.host_region_id
        and s.host_region_id != session.host_region_id
    ]


def _decide(swap: SwapRequest, status: SwapStatus, by: User, now: datetime) -> None:
    """Record the answer only if the request is still open: a conditional update, so of two
    answers given at the same moment exactly one wins."""
    result = db.session.execute(
        update(SwapRequest)
        .where(SwapRequest.id == swap.id, SwapRequest.status == SwapStatus.pending)
        .values(status=status, answered_by_id=by.id, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(swap)
        raise ServiceError(_l("This request has already been answered."))
    db.session.expire(swap)


def answer_swap(
    swap: SwapRequest, *, accept: bool, by: User, now: datetime | None = None
) -> list[User]:
    """Accept or decline. On acceptance both sessions change hosts together, their calendar
    sequence rises, and leads who no longer belong to the host region are released.

    Returns the facilitators affected; they and the asking region's coordinators are told
    (``events.swap_answered``).
    """
    now = now or utcnow()
    if not can_answer_swap(by, swap):
        raise ServiceError(_l("Only the asked region's coordinator can answer."))
    if swap.status != SwapStatus.pending:
        raise ServiceError(_l("This request has already been answered."))
    if not accept:
        _decide(swap, SwapStatus.declined, by, now)
        events.swap_answered.send(swap, affected=[])
        return []
    sessions = [swap.session] + ([swap.other_session] if swap.other_session else [])
    for session in sessions:
        _require_upcoming(session, now)
    if swap.session.host_region_id != swap.from_region_id or (
        swap.other_session and swap.other_session.host_region_id != swap.to_region_id
    ):
        raise ServiceError(_l("The hosts have changed since the request was made."))
    _decide(swap, SwapStatus.accepted, by, now)
    affected = {p for s in sessions for p in [s.lead_facilitator, *s.co_facilitators] if p}
    from_region, to_region = swap.from_region, swap.to_region
    swap.session.host_region = to_region
    if swap.other_session is not None:
        swap.other_session.host_region = from_region
    for session in sessions:
        session.host_fixed = True
        session.sequence += 1
        lead = session.lead_facilitator
        if lead is not None and lead.region_id != session.host_region.id:
            session.lead_facilitator = None
    people = sorted(affected, key=lambda p: p.id)
    events.swap_answered.send(swap, affected=people)
    return people


def withdraw_swap(swap: SwapRequest, *, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not can_withdraw_swap(by, swap):
        raise ServiceError(_l("Only the region that asked can withdraw the request."))
    _decide(swap, SwapStatus.withdrawn, by, now)


def open_swaps_for_group(group_id: int) -> list[SwapRequest]:
    query = (
        select(SwapRequest)
        .join(Session, SwapRequest.session_id == Session.id)
        .where(Session.group_id == group_id, SwapRequest.status == SwapStatus.pending)
        .order_by(SwapRequest.created_at)
    )
    return list(db.session.scalars(query))


def swaps_of_region(region_id: int) -> list[SwapRequest]:
    query = (
        select(SwapRequest)
        .where(or_(SwapRequest.to_region_id == region_id, SwapRequest.from_region_id == region_id))
        .order_by(SwapRequest.created_at.desc())
        .limit(50)
    )
    return list(db.session.scalars(query))


def swaps_waiting_for(region_id: int) -> list[SwapRequest]:
    """Swap requests that another region asked this region and nobody has answered yet."""
    query = (
        select(SwapRequest)
        .where(SwapRequest.to_region_id == region_id, SwapRequest.status == SwapStatus.pending)
        .order_by(SwapRequest.created_at)
    )
    return list(db.session.scalars(query))
