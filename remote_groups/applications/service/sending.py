"""The send step of coordinators' decisions. A decision is saved first (``reviewing.decide``
marks it ``unsent``): nobody is told and it may still change. Sending queues each unsent
decision's mail in the applicant's language, held until a moment that leaves an undo window
(now plus ``MAIL_UNDO_MINUTES``, or the close of the application window when the
coordinator chooses that); until then :func:`undo_sending` takes the mail back and the
decisions are unsent again. The applicant's status page shows a decision from the moment its
mail goes out (``Application.told_status``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from remote_groups import events
from remote_groups.applications.models import (
    SEAT_TAKING,
    Application,
    ApplicationDecision,
    ApplicationStatus,
)
from remote_groups.applications.service.common import notify
from remote_groups.applications.service.seats import lock_course, participant_feed_url
from remote_groups.applications.service.waitlist import offer_next_seat
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.outbox.queue import undo_window, withdraw_held
from remote_groups.service import ServiceError
from remote_groups.types import utcnow


@dataclass(frozen=True)
class Notice:
    """The mail a decision sends: ``application_<kind>``, once per ``version``, showing
    ``context`` besides the application."""

    application: Application
    kind: str
    version: str
    context: dict[str, Any] = field(default_factory=dict)


def _of_course(group_id: int):
    return (
        select(ApplicationDecision)
        .join(Application, ApplicationDecision.application_id == Application.id)
        .where(Application.group_id == group_id, Application.anonymized_at.is_(None))
    )


def unsent_decisions(group_id: int) -> list[ApplicationDecision]:
    """The course's decisions saved and not yet sent, oldest application first."""
    query = _of_course(group_id).where(ApplicationDecision.unsent.is_(True))
    return list(db.session.scalars(query.order_by(Application.created_at, Application.id)))


def unsent_count(group_id: int) -> int:
    query = _of_course(group_id).where(ApplicationDecision.unsent.is_(True))
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def unsent_application_ids(group_id: int) -> set[int]:
    return {d.application_id for d in unsent_decisions(group_id)}


def held_decisions(group_id: int, now: datetime) -> list[ApplicationDecision]:
    """The course's decisions sent whose mail is still in its undo window (and nothing has
    happened to the application since)."""
    query = _of_course(group_id).where(
        ApplicationDecision.unsent.is_(False), ApplicationDecision.told_at > now
    )
    held = db.session.scalars(query.order_by(Application.created_at, Application.id))
    # Only an application's latest move: one the applicant made since (a withdrawal) stands.
    return [d for d in held if d.application.decisions[-1] is d]


def notice_of(decision: ApplicationDecision) -> Notice:
    """The mail a coordinator's decision sends (the same whether previewed or sent)."""
    application = decision.application
    kind = decision.to_status.value
    if decision.to_status == ApplicationStatus.accepted:
        context = {"message": decision.message, "feed_url": participant_feed_url(application)}
        return Notice(application, kind, "", context)
    position = application.decisions.index(decision) + 1
    return Notice(application, kind, f"{kind}:{position}", {"message": decision.message})


def window_closes_at(group: RemoteGroup) -> datetime | None:
    """The moment the course's application window closes (the end of its last day in the
    course's own time zone), or None when it has no window."""
    if group.application_closes is None:
        return None
    end = datetime.combine(group.application_closes + timedelta(days=1), time(0), group.zone)
    return end.astimezone(UTC)


def window_open(group: RemoteGroup, now: datetime) -> bool:
    closes = window_closes_at(group)
    return closes is not None and now < closes


def send_decisions(
    group: RemoteGroup, *, at_window_close: bool = False, now: datetime | None = None
) -> tuple[int, datetime]:
    """Queue the mail of every unsent decision of the course, held until now plus the undo
    window or, ``at_window_close``, until the application window closes (if later). Returns
    how many and when they go out. A seat freed by a decision is offered on now."""
    now = now or utcnow()
    group = lock_course(group.id)
    decisions = unsent_decisions(group.id)
    if not decisions:
        raise ServiceError(_l("There are no decisions to send."))
    send_at = now + undo_window()
    closes = window_closes_at(group)
    if at_window_close and closes is not None and closes > send_at:
        send_at = closes
    freed = False
    for decision in decisions:
        application = decision.application
        notice = notice_of(decision)
        decision.unsent, decision.told_at = False, send_at
        if decision.to_status == ApplicationStatus.accepted:
            events.participant_accepted.send(application, now=send_at, held_until=send_at)
        notify(
            application,
            notice.kind,
            version=notice.version,
            held_until=send_at,
            **notice.context,
        )
        freed = freed or (
            decision.from_status in SEAT_TAKING and decision.to_status not in SEAT_TAKING
        )
    if freed:
        db.session.flush()
        offer_next_seat(group, now)
    return len(decisions), send_at


def undo_sending(group: RemoteGroup, now: datetime | None = None) -> int:
    """Take back the course's sent decisions whose mail is still held: the messages are
    withdrawn (never delivered) and the decisions are unsent again, so they can change.
    Refused once the mail has gone."""
    now = now or utcnow()
    lock_course(group.id)
    held = held_decisions(group.id, now)
    if not held:
        raise ServiceError(
            _l("The messages have already gone out, so the sending cannot be undone.")
        )
    withdraw_held(now, application_ids={d.application_id for d in held})
    for decision in held:
        decision.unsent, decision.told_at = True, None
    return len(held)
