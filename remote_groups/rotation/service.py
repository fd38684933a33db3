"""Rotation transactions: planning hosts, blackouts, facilitators and swaps.

Callers commit. Refusals raise ServiceError with a translatable message, before anything
is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update

from remote_groups import events
from remote_groups.extensions import db
from remote_groups.groups.models import (
    GroupInvitation,
    GroupRegion,
    RemoteGroup,
    Session,
    SessionStatus,
    session_co_facilitators,
)
from remote_groups.groups.service import TurnChange
from remote_groups.regions.models import Region, Role, User
from remote_groups.regions.permissions import (
    acts_for_region,
    can_answer_swap,
    can_approve_blackout,
    can_approve_swap,
    can_propose_for_region,
    can_propose_swap,
    can_withdraw_swap,
)
from remote_groups.rotation.models import (
    Blackout,
    BlackoutStatus,
    SwapKind,
    SwapRequest,
    SwapStatus,
)
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
    query = select(Blackout).where(
        Blackout.region_id.in_(region_ids), Blackout.status == BlackoutStatus.approved
    )
    return list(db.session.scalars(query.order_by(Blackout.start_date)))


@dataclass(frozen=True)
class PlanPreview:
    """What a re-plan would do: the new host per session, the sessions it changes, and turns."""

    plan: dict[int, str | None]
    changes: dict[int, tuple[str | None, str | None]]
    counts: dict[str, int]


def fixed_before(effective_from: datetime | None) -> Callable[[Session, datetime], bool]:
    """The planner's "keep this host" rule, with an "applies from" instant: a session that
    starts before it keeps its host as if it were fixed, so a change never reaches the weeks
    already published (never next week, unless the coordinator chooses so)."""

    def fixed(session: Session, now: datetime) -> bool:
        # A session with no host yet (new in the schedule) is given one whatever its day.
        early = (
            effective_from is not None
            and session.starts_at < effective_from
            and session.host_region is not None
        )
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
    """Mark dates ``region`` cannot host. Whoever acts for the region (``acts_for_region``)
    marks them at once; another of its facilitators proposes them, and nothing is planned
    around them until a coordinator approves (``answer_blackout``)."""
    if end < start:
        raise ServiceError(_l("The last day cannot be before the first day."), "end_date")
    direct = by is None or acts_for_region(by, region)
    if not direct and not can_propose_for_region(by, region.id):
        raise ServiceError(_l("You can mark dates only for your own region."))
    blackout = Blackout(
        region=region,
        start_date=start,
        end_date=end,
        reason=reason,
        created_by=by,
        status=BlackoutStatus.approved if direct else BlackoutStatus.proposed,
    )
    db.session.add(blackout)
    db.session.flush()
    return blackout


def answer_blackout(
    blackout: Blackout, *, approve: bool, by: User, now: datetime | None = None
) -> None:
    """A coordinator approves or declines a facilitator's proposed dates, once: a conditional
    update, so two answers at the same moment cannot both count. The proposer is told
    (``events.proposal_answered``)."""
    now = now or utcnow()
    if not can_approve_blackout(by, blackout):
        raise ServiceError(_l("Only the region's coordinator can answer."))
    result = db.session.execute(
        update(Blackout)
        .where(Blackout.id == blackout.id, Blackout.status == BlackoutStatus.proposed)
        .values(
            status=BlackoutStatus.approved if approve else BlackoutStatus.declined,
            answered_by_id=by.id,
            answered_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(blackout)
    if result.rowcount != 1:
        raise ServiceError(_l("This proposal has already been answered."))
    events.proposal_answered.send(blackout, approved=approve)


def region_blackouts(region_id: int, today: date) -> list[Blackout]:
    """The region's dates from today on: those in use and those waiting for approval."""
    query = (
        select(Blackout)
        .where(Blackout.region_id == region_id, Blackout.end_date >= today)
        .where(Blackout.status != BlackoutStatus.declined)
        .order_by(Blackout.start_date)
    )
    return list(db.session.scalars(query))


def blackouts_to_approve(region_id: int) -> list[Blackout]:
    """Dates the region's facilitators proposed and no coordinator has answered yet."""
    query = (
        select(Blackout)
        .where(Blackout.region_id == region_id, Blackout.status == BlackoutStatus.proposed)
        .order_by(Blackout.created_at, Blackout.id)
    )
    return list(db.session.scalars(query))


def proposals_waiting_count(region_id: int) -> int:
    """How many of the region's facilitators' proposals (dates and swaps) wait for its
    coordinator: one statement, whatever their number (the staff home counts it)."""
    blackouts = (
        select(func.count())
        .select_from(Blackout)
        .where(Blackout.region_id == region_id, Blackout.status == BlackoutStatus.proposed)
        .scalar_subquery()
    )
    swaps = (
        select(func.count())
        .select_from(SwapRequest)
        .where(SwapRequest.from_region_id == region_id, SwapRequest.status == SwapStatus.proposed)
        .scalar_subquery()
    )
    return int(db.session.scalar(select(blackouts + swaps)) or 0)


@dataclass(frozen=True)
class BlackoutReplan:
    """One group that meets on a blackout's days, and what planning it again from the chosen
    day changes: ``on_the_days`` its sessions within the dates, ``changes`` every session
    whose host would change (by date), ``kept`` the sessions on the dates that the region
    would still host (before the chosen day, fixed, or no other region free)."""

    group: RemoteGroup
    on_the_days: list[Session]
    changes: list[TurnChange]
    kept: list[Session]


def _on_the_days(blackout: Blackout, session: Session) -> bool:
    day = session.starts_at.astimezone(session.group.zone).date()
    return not session.cancelled and blackout.start_date <= day <= blackout.end_date


def groups_touched(blackout: Blackout) -> list[RemoteGroup]:
    """The groups the region takes part in that meet on the blackout's days, by start."""
    # A day in Helsinki lies within a UTC window a day wider: the exact day is checked after.
    start = datetime.combine(blackout.start_date - timedelta(days=1), time(0), tzinfo=UTC)
    end = datetime.combine(blackout.end_date + timedelta(days=2), time(0), tzinfo=UTC)
    meeting = select(Session.group_id).where(
        Session.starts_at >= start,
        Session.starts_at < end,
        Session.status == SessionStatus.scheduled,
    )
    taking_part = select(GroupRegion.group_id).where(GroupRegion.region_id == blackout.region_id)
    query = (
        select(RemoteGroup)
        .where(RemoteGroup.id.in_(meeting), RemoteGroup.id.in_(taking_part))
        .order_by(RemoteGroup.term_start, RemoteGroup.id)
    )
    return [
        group
        for group in db.session.scalars(query)
        if any(_on_the_days(blackout, s) for s in group.sessions)
    ]


def _require_approved(blackout: Blackout) -> None:
    if blackout.status != BlackoutStatus.approved:
        raise ServiceError(
            _l("These dates are not in use: they wait for approval or were declined.")
        )


def preview_blackout_replan(
    blackout: Blackout, effective_from: datetime, now: datetime | None = None
) -> list[BlackoutReplan]:
    """What planning every group the blackout touches again from ``effective_from`` would
    change. Nothing is changed (the plan is only computed; the page rolls back anyway)."""
    now = now or utcnow()
    _require_approved(blackout)
    replans = []
    for group in groups_touched(blackout):
        changes = turn_changes(group, preview_plan(group, now, effective_from), now, effective_from)
        moving = {change.session.id for change in changes}
        days = [s for s in group.sessions if _on_the_days(blackout, s)]
        kept = [s for s in days if s.host_region_id == blackout.region_id and s.id not in moving]
        replans.append(BlackoutReplan(group, days, changes, kept))
    return replans


def replan_for_blackout(
    blackout: Blackout, effective_from: datetime, now: datetime | None = None
) -> int:
    """Plan every group the blackout touches again, from ``effective_from`` on
    (``apply_plan``: leads stay where the host stays; those whose turns moved are told).
    Returns how many turns changed."""
    now = now or utcnow()
    _require_approved(blackout)
    return sum(
        len(apply_plan(group, now, effective_from).changes) for group in groups_touched(blackout)
    )


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
    """Offer another region either a swap of two sessions' hosts or one session to host.

    Whoever acts for the host region (``acts_for_region``) sends it to the other region at
    once; another of its facilitators proposes it, and it waits for a coordinator of their
    region (``answer_swap_proposal``) before the other region hears of it."""
    now = now or utcnow()
    _require_upcoming(session, now)
    if not can_propose_swap(by, session):
        raise ServiceError(_l("Only the host region's staff can offer this session."))
    direct = session.host_region is not None and acts_for_region(by, session.host_region)
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
            SwapRequest.status.in_(OPEN_SWAP_STATUSES),
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
        status=SwapStatus.pending if direct else SwapStatus.proposed,
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
    if direct:
        events.swap_proposed.send(swap)
    return swap


def _require_hosts_unchanged(swap: SwapRequest, now: datetime) -> None:
    for session in [swap.session] + ([swap.other_session] if swap.other_session else []):
        _require_upcoming(session, now)
    if swap.session.host_region_id != swap.from_region_id or (
        swap.other_session and swap.other_session.host_region_id != swap.to_region_id
    ):
        raise ServiceError(_l("The hosts have changed since the request was made."))


def answer_swap_proposal(
    swap: SwapRequest, *, approve: bool, by: User, now: datetime | None = None
) -> None:
    """A coordinator of the offering region answers a facilitator's swap proposal, once.
    Approved, it is sent to the other region as if the coordinator had made it
    (``events.swap_proposed``); either way the proposer is told
    (``events.proposal_answered``)."""
    now = now or utcnow()
    if not can_approve_swap(by, swap):
        raise ServiceError(_l("Only your region's coordinator can answer."))
    if approve:
        _require_hosts_unchanged(swap, now)
        values = {"status": SwapStatus.pending, "approved_by_id": by.id, "approved_at": now}
    else:
        values = {"status": SwapStatus.declined, "answered_by_id": by.id, "answered_at": now}
    _move(swap, (SwapStatus.proposed,), values)
    events.proposal_answered.send(swap, approved=approve)
    if approve:
        events.swap_proposed.send(swap)


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


OPEN_SWAP_STATUSES = (SwapStatus.proposed, SwapStatus.pending)


def _move(swap: SwapRequest, open_in: tuple[SwapStatus, ...], values: dict[str, object]) -> None:
    """Record an answer only if the request is still in one of ``open_in``: a conditional
    update, so of two answers given at the same moment exactly one wins."""
    result = db.session.execute(
        update(SwapRequest)
        .where(SwapRequest.id == swap.id, SwapRequest.status.in_(open_in))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(swap)
    if result.rowcount != 1:
        raise ServiceError(_l("This request has already been answered."))


def _decide(
    swap: SwapRequest,
    status: SwapStatus,
    by: User,
    now: datetime,
    open_in: tuple[SwapStatus, ...] = (SwapStatus.pending,),
) -> None:
    _move(swap, open_in, {"status": status, "answered_by_id": by.id, "answered_at": now})


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
    if swap.status == SwapStatus.proposed:
        raise ServiceError(_l("The asking region's coordinator has not approved this request yet."))
    if swap.status != SwapStatus.pending:
        raise ServiceError(_l("This request has already been answered."))
    if not accept:
        _decide(swap, SwapStatus.declined, by, now)
        events.swap_answered.send(swap, affected=[], changes=[])
        return []
    _require_hosts_unchanged(swap, now)
    _decide(swap, SwapStatus.accepted, by, now)
    moves = [(swap.session, swap.to_region)]
    if swap.other_session is not None:
        moves.append((swap.other_session, swap.from_region))
    affected = {p for s, _ in moves for p in [s.lead_facilitator, *s.co_facilitators] if p}
    changes = []
    for session, host in moves:
        lead = session.lead_facilitator
        dropped = lead if lead is not None and lead.region_id != host.id else None
        changes.append(TurnChange(session, session.host_region, host, dropped))
        session.host_region = host
        session.host_fixed = True
        session.sequence += 1
        if dropped is not None:
            session.lead_facilitator = None
    people = sorted(affected, key=lambda p: p.id)
    events.swap_answered.send(swap, affected=people, changes=changes)
    return people


def withdraw_swap(swap: SwapRequest, *, by: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not can_withdraw_swap(by, swap):
        raise ServiceError(_l("Only the region that asked can withdraw the request."))
    _decide(swap, SwapStatus.withdrawn, by, now, OPEN_SWAP_STATUSES)


def open_swaps_for_group(group_id: int) -> list[SwapRequest]:
    query = (
        select(SwapRequest)
        .join(Session, SwapRequest.session_id == Session.id)
        .where(Session.group_id == group_id, SwapRequest.status == SwapStatus.pending)
        .order_by(SwapRequest.created_at)
    )
    return list(db.session.scalars(query))


def swaps_of_region(region_id: int) -> list[SwapRequest]:
    """The region's recent requests, asked and asking; another region's proposals that its
    coordinator has not sent on yet are not this region's to see."""
    asked = and_(SwapRequest.to_region_id == region_id, SwapRequest.status != SwapStatus.proposed)
    query = (
        select(SwapRequest)
        .where(or_(asked, SwapRequest.from_region_id == region_id))
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


def swaps_to_approve(region_id: int) -> list[SwapRequest]:
    """Swaps the region's facilitators proposed that wait for its coordinator's approval."""
    query = (
        select(SwapRequest)
        .where(SwapRequest.from_region_id == region_id, SwapRequest.status == SwapStatus.proposed)
        .order_by(SwapRequest.created_at, SwapRequest.id)
    )
    return list(db.session.scalars(query))
