"""Rotation messages into the mail outbox, each in its recipient's language."""

from __future__ import annotations

from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import Session
from remote_groups.mail.service import enqueue, render_message
from remote_groups.regions.models import Role, User
from remote_groups.rotation.models import SwapRequest


def _coordinators(region_id: int) -> list[User]:
    query = select(User).where(
        User.region_id == region_id, User.role == Role.coordinator, User.active.is_(True)
    )
    return list(db.session.scalars(query))


def _send(kind: str, key: str, person: User, template: str, **context: object) -> None:
    message = render_message(template, person.language, person=person, **context)
    enqueue(kind=kind, key=key, recipient=person.email, language=person.language, message=message)


def you_lead(session: Session, person: User) -> None:
    _send(
        "lead_assigned",
        f"{session.id}:{session.sequence}",
        person,
        "lead_assigned",
        session=session,
    )


def swap_proposed(swap: SwapRequest) -> None:
    for person in _coordinators(swap.to_region_id):
        _send("swap_proposed", str(swap.id), person, "swap_proposed", swap=swap)


def swap_answered(swap: SwapRequest, affected: list[User]) -> None:
    """Tell the asking region's coordinators and every facilitator whose turn changed."""
    recipients = {p.id: p for p in _coordinators(swap.from_region_id)}
    recipients.update({p.id: p for p in affected})
    for person in recipients.values():
        _send("swap_answered", f"{swap.id}:{swap.status.value}", person, "swap_answered", swap=swap)
