"""Rotation news by mail, each in its recipient's language: a new lead, a swap asked for, a
swap answered."""

from __future__ import annotations

from remote_groups import events
from remote_groups.groups.models import Session
from remote_groups.notifications.staff import coordinators_of, tell
from remote_groups.outbox.models import MessageKind
from remote_groups.regions.models import User
from remote_groups.rotation.models import SwapRequest


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
def swap_answered(swap: SwapRequest, *, affected: list[User]) -> None:
    """Tell the asking region's coordinators and every facilitator whose turn changed."""
    recipients = {p.id: p for p in coordinators_of(swap.from_region_id)}
    recipients.update({p.id: p for p in affected})
    for person in recipients.values():
        tell(person, MessageKind.swap_answered, f"{swap.id}:{swap.status.value}", swap=swap)
