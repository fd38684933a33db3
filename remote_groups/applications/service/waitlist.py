"""The waiting list: a freed seat is offered to the next waitlisted applicant, keeping the
regions balanced (:func:`~remote_groups.applications.selection.next_offer`); the applicant
confirms the offer before it expires, or it passes on."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.selection import next_offer
from remote_groups.applications.service.common import move, notify
from remote_groups.applications.service.seats import (
    announce_seat,
    candidates,
    lock_course,
    seat,
    seats_by_region,
    seats_taken,
)
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.service import ServiceError
from remote_groups.types import utcnow


def offer_days() -> int:
    return int(current_app.config.get("OFFER_DAYS", 3))


def offer_next_seat(group: RemoteGroup, now: datetime) -> Application | None:
    """Offer a free seat to the next waitlisted applicant, keeping regions balanced."""
    if seats_taken(group.id) >= (group.capacity or 0):
        return None
    waiting = {
        a.id: a
        for a in db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.waitlisted,
            )
        )
    }
    chosen = next_offer(
        candidates(waiting.values()), [r.slug for r in group.regions], seats_by_region(group.id)
    )
    if chosen is None:
        return None
    application = waiting[chosen.key]
    move(application, Action.offer, Actor.system, now)
    application.offer_expires_at = now + timedelta(days=offer_days())
    notify(application, "offered", version=f"offered:{now.isoformat()}")
    return application


def confirm_offer(application: Application, now: datetime | None = None) -> None:
    now = now or utcnow()
    lock_course(application.group_id)
    db.session.refresh(application)
    lifecycle.check(application.status, Action.confirm, Actor.applicant)
    if application.offer_expires_at is None or application.offer_expires_at < now:
        raise ServiceError(_l("The offer has expired."))
    seat(application, Action.confirm, Actor.applicant, now, None, None)
    announce_seat(application, now, None)


def expire_offers(now: datetime | None = None) -> int:
    """Pass unconfirmed offers on after their deadline. Returns how many expired."""
    now = now or utcnow()
    expired = list(
        db.session.scalars(
            select(Application).where(
                Application.status == ApplicationStatus.offered,
                Application.offer_expires_at < now,
            )
        )
    )
    for application in expired:
        group = lock_course(application.group_id)
        db.session.refresh(application)
        if not lifecycle.allowed(application.status, Action.expire, Actor.system):
            continue  # confirmed or withdrawn meanwhile
        move(application, Action.expire, Actor.system, now, message="offer expired")
        application.offer_expires_at = None
        notify(application, "offer_expired")
        db.session.flush()
        offer_next_seat(group, now)
    return len(expired)
