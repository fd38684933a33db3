"""A course's seats. They are counted under a lock on the course row (SELECT … FOR UPDATE on
PostgreSQL; SQLite has one writer at a time), so concurrent acceptances can never exceed the
capacity. :func:`seat` gives an application its seat."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from remote_groups import events
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import SEAT_TAKING, Application, Participant
from remote_groups.applications.selection import Candidate
from remote_groups.applications.service.common import move, notify
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.regions.models import Region, User
from remote_groups.service import ServiceError


def lock_course(group_id: int) -> RemoteGroup:
    """The course row, locked for this transaction, so seat counts cannot change under us."""
    group = db.session.scalar(
        select(RemoteGroup).where(RemoteGroup.id == group_id).with_for_update()
    )
    if group is None:
        raise ServiceError(_l("The course no longer exists."))
    return group


def seats_taken(group_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.group_id == group_id, Application.status.in_(SEAT_TAKING)
            )
        )
        or 0
    )


def seats_by_region(group_id: int) -> Counter[str]:
    rows = db.session.execute(
        select(Region.slug, func.count(Application.id))
        .join(Application, Application.home_region_id == Region.id)
        .where(Application.group_id == group_id, Application.status.in_(SEAT_TAKING))
        .group_by(Region.slug)
    )
    return Counter({slug: count for slug, count in rows})


def seat(
    application: Application,
    action: Action,
    actor: Actor,
    now: datetime,
    by: User | None,
    message: str | None,
) -> None:
    """Move the application to accepted (a coordinator's acceptance, an applicant's
    confirmation of an offer) and give it its participant feed. Telling the person (the mail,
    the first invitations) is :func:`announce_seat`, which a coordinator's acceptance leaves to
    the send step."""
    move(application, action, actor, now, by, message)
    application.offer_expires_at = None
    if application.participant is None:
        application.participant = Participant(group_id=application.group_id)
    db.session.flush()


def announce_seat(
    application: Application,
    now: datetime,
    message: str | None,
    held_until: datetime | None = None,
) -> None:
    """Tell a new participant: the acceptance with their calendar link, and the invitations to
    the coming week's sessions, all held until ``held_until`` when given."""
    events.participant_accepted.send(application, now=now, held_until=held_until)
    notify(
        application,
        "accepted",
        held_until=held_until,
        message=message,
        feed_url=participant_feed_url(application),
    )


def participant_feed_url(application: Application) -> str:
    """The participant's private calendar feed, in their language (in their acceptance)."""
    if application.participant is None:
        raise ServiceError(_l("The application has no place on the course."))
    return url_for(
        "calendar.participant_feed",
        token=application.participant.feed_token,
        lang=application.language,
        _external=True,
    )


def candidates(applications: Iterable[Application]) -> list[Candidate]:
    return [Candidate(a.id, a.home_region.slug, a.created_at) for a in applications]
