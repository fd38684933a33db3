"""Rotation news by mail, each in its recipient's language: a new lead, a swap asked for, a
swap answered, turns a re-plan moved."""

from __future__ import annotations

import hashlib

from remote_groups import events
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.groups.service import TurnChange, regions_touched
from remote_groups.notifications.staff import tell
from remote_groups.outbox.models import MessageKind
from remote_groups.regions.models import User
from remote_groups.regions.service import coordinators_of
from remote_groups.rotation.models import Blackout, SwapRequest


@events.lead_assigned.connect
def you_lead(session: Session, *, lead: User) -> None:
    tell(
        lead,
        MessageKind.lead_assigned,
        f"{session.id}:{session.sequence}",
        session_id=session.id,
        session=session,
    )


@events.swap_proposed.connect
def swap_proposed(swap: SwapRequest) -> None:
    for person in coordinators_of(swap.to_region_id):
        tell(person, MessageKind.swap_proposed, str(swap.id), swap=swap)


@events.swap_answered.connect
def swap_answered(
    swap: SwapRequest, *, affected: list[User], changes: list[TurnChange] | None = None
) -> None:
    """Tell the asking region's coordinators, whoever proposed the swap, and every facilitator
    whose turn changed (a lead who no longer leads a session reads so)."""
    recipients = {p.id: p for p in coordinators_of(swap.from_region_id)}
    if swap.proposed_by is not None and swap.proposed_by.active:
        recipients[swap.proposed_by.id] = swap.proposed_by
    recipients.update({p.id: p for p in affected})
    for person in recipients.values():
        tell(
            person,
            MessageKind.swap_answered,
            f"{swap.id}:{swap.status.value}",
            swap=swap,
            changes=changes or [],
        )


@events.proposal_answered.connect
def proposal_answered(proposal: Blackout | SwapRequest, *, approved: bool) -> None:
    """Tell the facilitator who proposed dates or a swap what their coordinator answered."""
    person = proposal.created_by if isinstance(proposal, Blackout) else proposal.proposed_by
    if person is None or not person.active:
        return
    what = "blackout" if isinstance(proposal, Blackout) else "swap"
    tell(
        person,
        MessageKind.proposal_answered,
        f"{what}:{proposal.id}:{'approved' if approved else 'declined'}",
        blackout=proposal if isinstance(proposal, Blackout) else None,
        swap=proposal if isinstance(proposal, SwapRequest) else None,
        approved=approved,
    )


@events.turns_moved.connect
def turns_moved(group: RemoteGroup, *, changes: list[TurnChange]) -> None:
    """Exactly those a re-plan concerns hear of it, once each: every lead facilitator who no
    longer leads a session (it went to another region), and the active coordinators of each
    region that gave up or got a turn, with that region's changes in one message."""
    for change in changes:
        if change.lead_dropped is not None:
            session = change.session
            tell(
                change.lead_dropped,
                MessageKind.turn_moved,
                f"{session.id}:{change.after.id if change.after else 0}",
                session_id=session.id,
                expires_at=session.starts_at,
                session=session,
                group=group,
                change=change,
            )
    regions = regions_touched(changes)
    for region_id, region in sorted(regions.items()):
        theirs = [c for c in changes if region in (c.before, c.after)]
        # One message per set of changes: the key names them by a digest (a list of every
        # session would outgrow the key's column on a long term).
        moves = ",".join(f"{c.session.id}>{c.after.id if c.after else 0}" for c in theirs)
        key = f"{group.id}:{hashlib.sha256(moves.encode()).hexdigest()[:32]}"
        for person in coordinators_of(region_id):
            tell(person, MessageKind.turns_changed, key, group=group, region=region, changes=theirs)
