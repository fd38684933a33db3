"""Rotation news by mail, each in its recipient's language: a new lead, a swap asked for, a
swap answered."""

from __future__ import annotations

from sqlalchemy import select

from remote_groups import events
from remote_groups.extensions import db
from remote_groups.groups.models import Session
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import enqueue, render_message
from remote_groups.regions.models import Role, User
from remote_groups.rotation.models import SwapRequest


def coordinators_of(region_id: int) -> list[User]:
    """The active coordinators of a region, who hear of what concerns their region."""
    query = select(User).where(
        User.region_id == region_id, User.role == Role.coordinator, User.active.is_(True)
    )
    return list(db.session.scalars(query.order_by(User.id)))


def _send(
    kind: MessageKind, key: str, person: User, session_id: int | None = None, **context: object
) -> None:
    message = render_message(kind.value, person.language, person=person, **context)
    enqueue(
        kind=kind,
        key=key,
        recipient=person.email,
        language=person.language,
        message=message,
        session_id=session_id,
    )


@events.lead_assigned.connect
def you_lead(session: Session, *, lead: User) -> None:
    _send(
        MessageKind.lead_assigned,
        f"{session.id}:{session.sequence}",
        lead,
        session_id=session.id,
        session=session,
    )


@events.swap_proposed.connect
def swap_proposed(swap: SwapRequest) -> None:
    for person in coordinators_of(swap.to_region_id):
        _send(MessageKind.swap_proposed, str(swap.id), person, swap=swap)


@events.swap_answered.connect
def swap_answered(swap: SwapRequest, *, affected: list[User]) -> None:
    """Tell the asking region's coordinators and every facilitator whose turn changed."""
    recipients = {p.id: p for p in coordinators_of(swap.from_region_id)}
    recipients.update({p.id: p for p in affected})
    for person in recipients.values():
        _send(MessageKind.swap_answered, f"{swap.id}:{swap.status.value}", person, swap=swap)
