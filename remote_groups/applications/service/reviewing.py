"""Coordinators' review: decisions on one application or many of one course (all or nothing;
saved unsent, mailed in the send step of :mod:`.sending`),
the proposed selection balancing regions' seats and its confirmation, and the applications
listed for review. Who may read or decide is the views' to check
(:mod:`remote_groups.regions.permissions`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import SEAT_TAKING, Application, ApplicationStatus
from remote_groups.applications.selection import Suggestion, suggest_selection
from remote_groups.applications.service.common import known_status, move, unsent_decision
from remote_groups.applications.service.seats import (
    candidates,
    lock_course,
    seat,
    seats_by_region,
    seats_taken,
)
from remote_groups.extensions import db
from remote_groups.groups.models import GroupRegion, RemoteGroup
from remote_groups.regions.models import Region, User
from remote_groups.service import ServiceError
from remote_groups.types import utcnow


def decide(
    applications: Iterable[Application],
    decision: ApplicationStatus,
    by: User,
    message: str | None = None,
    now: datetime | None = None,
) -> None:
    """Save one coordinator decision on one or more applications of the same course, all or
    nothing: a bulk acceptance that would not fit in the free seats is refused whole.

    Nothing is mailed: each decision waits, unsent, for the course's send step
    (:mod:`.sending`). An unsent decision may change: deciding again replaces it, as if it had
    never been made (nobody was told of it)."""
    now = now or utcnow()
    action = lifecycle.decision_action(decision)
    chosen = list(applications)
    if not chosen:
        raise ServiceError(_l("Choose at least one application."))
    group_ids = {a.group_id for a in chosen}
    if len(group_ids) != 1:
        raise ServiceError(_l("Decide on one course at a time."))
    group = lock_course(group_ids.pop())
    for application in chosen:
        db.session.refresh(application)  # the state as of the lock, not as first read
        lifecycle.check(known_status(application), action, Actor.coordinator, name=application.name)
    if action == Action.accept:
        newly_seated = [a for a in chosen if a.status not in SEAT_TAKING]
        free = (group.capacity or 0) - seats_taken(group.id)
        if len(newly_seated) > free:
            raise ServiceError(
                _l(
                    "The course has %(free)d free places, not enough for %(count)d.",
                    free=max(free, 0),
                    count=len(newly_seated),
                )
            )
    for application in chosen:
        if action == Action.accept:
            seat(application, action, Actor.coordinator, now, by, message)
        else:
            unsent = unsent_decision(application)
            if unsent is not None and unsent.to_status == ApplicationStatus.accepted:
                application.participant = None  # an unsent acceptance's: never given out
            move(application, action, Actor.coordinator, now, by, message)
            application.offer_expires_at = None
        application.decisions[-1].unsent = True


def suggestion_for(group: RemoteGroup) -> Suggestion:
    """The proposed acceptances among undecided applications, balancing regions' seats."""
    pending = db.session.scalars(
        select(Application).where(
            Application.group_id == group.id,
            Application.status.in_([ApplicationStatus.submitted, ApplicationStatus.waitlisted]),
        )
    )
    return suggest_selection(
        candidates(pending),
        [r.slug for r in group.regions],
        group.capacity or 1,
        taken=seats_by_region(group.id),
    )


def confirm_selection(
    group: RemoteGroup, accept_ids: list[int], by: User, now: datetime | None = None
) -> tuple[int, int]:
    """Accept the chosen applications and put the other undecided ones on the waiting list."""
    now = now or utcnow()
    pending = list(
        db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.submitted,
            )
        )
    )
    waiting = list(
        db.session.scalars(
            select(Application).where(
                Application.group_id == group.id,
                Application.status == ApplicationStatus.waitlisted,
            )
        )
    )
    chosen = [a for a in pending + waiting if a.id in set(accept_ids)]
    if len(chosen) != len(set(accept_ids)):
        raise ServiceError(_l("Some of the chosen applications cannot be accepted any more."))
    if chosen:
        decide(chosen, ApplicationStatus.accepted, by, now=now)
    rest = [a for a in pending if a.id not in set(accept_ids)]
    if rest:
        decide(rest, ApplicationStatus.waitlisted, by, now=now)
    return len(chosen), len(rest)


def applications_for_review(
    group: RemoteGroup, status: str | None, region: str | None, language: str | None
) -> list[Application]:
    query = select(Application).where(
        Application.group_id == group.id, Application.anonymized_at.is_(None)
    )
    if status in ApplicationStatus.__members__:
        query = query.where(Application.status == ApplicationStatus(status))
    if region:
        query = query.join(Region, Application.home_region_id == Region.id).where(
            Region.slug == region
        )
    if language in ("fi", "sv"):
        query = query.where(Application.language == language)
    return list(db.session.scalars(query.order_by(Application.created_at, Application.id)))


def undecided_by_course(region_id: int) -> dict[int, int]:
    """Per course the region takes part in (group id → count): the applications still waiting
    for a first decision, which the region's coordinators review together with the others."""
    query = (
        select(Application.group_id, func.count(Application.id))
        .join(GroupRegion, GroupRegion.group_id == Application.group_id)
        .where(
            GroupRegion.region_id == region_id,
            Application.status == ApplicationStatus.submitted,
        )
        .group_by(Application.group_id)
    )
    return {group_id: count for group_id, count in db.session.execute(query).all()}
