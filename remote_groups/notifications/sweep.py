"""The sweep: find what is due and put it in the outbox, idempotently.

Every message has a key of (kind, session, recipient, version), so running the sweep twice,
or from two processes at once, queues each message once. On PostgreSQL the sweep also takes
a transaction-level advisory lock, so a second scheduler skips the sweep instead of doing the
same work; on SQLite one scheduler process is assumed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, or_, select, text

from remote_groups.applications.models import Application, ApplicationDecision, ApplicationStatus
from remote_groups.calendar.service.invitations import UnusableMeetingLink, session_invitation
from remote_groups.extensions import db
from remote_groups.groups.models import (
    GroupKind,
    Publication,
    RemoteGroup,
    Session,
    SessionStatus,
)
from remote_groups.outbox.models import MessageKind, OutboxMessage
from remote_groups.outbox.queue import InvalidRecipient, enqueue, render_message
from remote_groups.regions.models import User
from remote_groups.subscriptions.models import Subscription
from remote_groups.types import utcnow

log = logging.getLogger(__name__)

SWEEP_LOCK_KEY = 0x5245_4D47  # "REMG": one advisory lock for the whole service
TURN_NOTICE_AHEAD = timedelta(days=7)
INVITE_AHEAD = timedelta(days=7)


@dataclass
class SweepReport:
    ran: bool = True
    queued: int = 0


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str
    name: str
    role: str  # participant | subscriber | facilitator
    unsubscribe_url: str | None = None
    application_id: int | None = None  # a participant's: what the retention rule redacts by

    @classmethod
    def participant(cls, application: Application) -> Recipient:
        return cls(
            application.email,
            application.language,
            application.name,
            "participant",
            application_id=application.id,
        )


def take_sweep_lock() -> bool:
    """True when this transaction may sweep (always on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return True
    return bool(
        db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY})
    )


def recipients_of(session: Session, now: datetime | None = None) -> list[Recipient]:
    """Who hears about a session: a course's participants or an open group's subscribers,
    and the session's facilitators. A draft group's clients hear nothing (its staff do)."""
    group = session.group
    people: list[Recipient] = []
    if group.published and group.kind == GroupKind.closed:
        people += participants_of(group.id, now)
    elif group.published:
        subscribed = db.session.scalars(
            select(Subscription)
            .where(
                Subscription.group_id == group.id,
                Subscription.confirmed_at.is_not(None),
                Subscription.unsubscribed_at.is_(None),
            )
            .order_by(Subscription.id)
        )
        people += [
            Recipient(
                s.email,
                s.language,
                "",
                "subscriber",
                url_for("subscriptions.unsubscribe", token=s.token, _external=True),
            )
            for s in subscribed
        ]
    staff: list[User] = [p for p in [session.lead_facilitator, *session.co_facilitators] if p]
    people += [Recipient(u.email, u.language, u.name, "facilitator") for u in staff]
    return people


def _queue(
    kind: MessageKind, key: str, person: Recipient, session: Session, **context: object
) -> bool:
    """One notice about ``session`` to ``person`` (template: the kind's name), dropped by the
    sender once the session has begun."""
    message = render_message(
        kind.value, person.language, person=person, session=session, group=session.group, **context
    )
    try:
        row = enqueue(
            kind=kind,
            key=key,
            recipient=person.email,
            language=person.language,
            message=message,
            unsubscribe_url=person.unsubscribe_url,
            expires_at=session.starts_at,
            session_id=session.id,
            application_id=person.application_id,
        )
    except InvalidRecipient:
        log.warning("skipped an invalid address for %s %s", kind, key)
        return False
    return row is not None


def participants_of(group_id: int, now: datetime | None = None) -> list[Recipient]:
    """A course's participants, oldest application first (the same order on every database):
    those who have been told they are accepted. An acceptance not yet sent, or whose mail is
    still in its undo window, brings no invitation or reminder before the acceptance itself."""
    now = now or utcnow()
    untold = (
        select(ApplicationDecision.id)
        .where(
            ApplicationDecision.application_id == Application.id,
            or_(ApplicationDecision.unsent.is_(True), ApplicationDecision.told_at > now),
        )
        .exists()
    )
    accepted = db.session.scalars(
        select(Application)
        .where(
            Application.group_id == group_id,
            Application.status == ApplicationStatus.accepted,
            Application.anonymized_at.is_(None),
            ~untold,
        )
        .order_by(Application.id)
    )
    return [Recipient.participant(a) for a in accepted]


def invitation_history(session: Session) -> dict[str, list[str]]:
    """The invitations and cancellations each address has been sent about this session, in
    the order they were queued: address → ["invitation", "invitation", "cancellation", …]."""
    rows = db.session.execute(
        select(OutboxMessage.recipient, OutboxMessage.kind)
        .where(
            OutboxMessage.session_id == session.id,
            OutboxMessage.kind.in_([MessageKind.invitation, MessageKind.cancellation]),
            OutboxMessage.redacted_at.is_(None),
        )
        .order_by(OutboxMessage.id)
    )
    history: dict[str, list[str]] = {}
    for address, kind in rows:
        history.setdefault(address.lower(), []).append(kind.value)
    return history


def queue_invitation(
    session: Session,
    person: Recipient,
    history: list[str],
    *,
    on_course: bool = True,
    held_until: datetime | None = None,
) -> bool:
    """Whatever this participant's calendar needs for the session, given what they were
    sent before (``history``, from :func:`invitation_history`):

    - on the course, session going ahead: the invitation, or after a change an update with a
      higher SEQUENCE, or after a cancellation (the session restored, the person back on the
      course) a new invitation;
    - on the course, session cancelled: a cancellation, if they hold an invitation;
    - no longer on the course (``on_course=False``): a cancellation of the invitation they
      hold, worded for someone who left.

    The outbox key is the session, its SEQUENCE, and the number of cancellations sent
    before, so each of these is queued once however often the sweep runs.

    ``held_until``: the message's undo window (an acceptance sent, a session cancelled).

    Raises :class:`UnusableMeetingLink` instead of queuing an invitation to a session whose
    group's meeting link calendars cannot carry; nothing is queued then.
    """
    holds_invitation = bool(history) and history[-1] == "invitation"
    cancelled = session.status == SessionStatus.cancelled
    if cancelled or not on_course:
        if not holds_invitation:
            return False
        kind, method, template = MessageKind.cancellation, "CANCEL", "cancellation"
        if not on_course:
            template = "invitation_removed"
    else:
        kind, method, template = MessageKind.invitation, "REQUEST", "invitation"
    message = render_message(
        template,
        person.language,
        person=person,
        session=session,
        group=session.group,
        first="invitation" not in history,
    )
    rounds = history.count("cancellation")
    try:
        row = enqueue(
            kind=kind,
            key=f"{session.id}:{session.sequence}" + (f":{rounds}" if rounds else ""),
            recipient=person.email,
            language=person.language,
            message=message,
            calendar=session_invitation(session, person.email, person.language, method),
            calendar_method=method,
            session_id=session.id,
            application_id=person.application_id,
            held_until=held_until,
        )
    except InvalidRecipient:
        return False
    return row is not None


def invite(session: Session, person: Recipient, held_until: datetime | None = None) -> bool:
    """An invitation to one session for a participant just accepted, unless one is due
    anyway (the sweep then sends nothing more); ``held_until``: with the acceptance's undo
    window. Held back, and logged, while the group's meeting link is unusable: the sweep
    sends it once the link is fixed. A draft course's invitations wait too, for the sweep
    after it is published."""
    if not session.group.published:
        return False
    try:
        return queue_invitation(
            session,
            person,
            invitation_history(session).get(person.email.lower(), []),
            held_until=held_until,
        )
    except UnusableMeetingLink as bad:
        _log_held_back(session, bad)
        return False


def _log_held_back(session: Session, bad: UnusableMeetingLink) -> None:
    log.warning(
        "invitations to session %d held back: the meeting link of group %d is not usable",
        session.id,
        bad.group_id,
    )


def _former_participants(group_id: int, addresses: set[str]) -> list[Recipient]:
    """The people of ``addresses`` who applied to the course but are no longer on it, with
    their language (their application is kept until the retention rule removes it)."""
    if not addresses:
        return []
    applications = db.session.scalars(
        select(Application)
        .where(
            Application.group_id == group_id,
            Application.status != ApplicationStatus.accepted,
            func.lower(Application.email).in_(addresses),
        )
        .order_by(Application.id)
    )
    return [Recipient.participant(a) for a in applications]


def _invitations(now: datetime) -> int:
    """Participants get an invitation a week before each session and whatever their
    calendar needs after that (:func:`queue_invitation`); people who left the course get a
    cancellation of every invitation they hold. A session whose group's meeting link is
    unusable gets no invitations until it is fixed (logged each sweep), and stops no other."""
    queued = 0
    sessions = db.session.scalars(
        select(Session)
        .join(RemoteGroup, Session.group_id == RemoteGroup.id)
        .where(
            RemoteGroup.kind == GroupKind.closed,
            RemoteGroup.publication == Publication.published,  # a draft mails no client
            Session.starts_at > now,
        )
        .order_by(Session.starts_at)
    )
    people_by_group: dict[int, list[Recipient]] = {}
    for session in sessions:
        people = people_by_group.setdefault(
            session.group_id, participants_of(session.group_id, now)
        )
        history = invitation_history(session)
        if not people and not history:
            continue
        soon = session.starts_at <= now + INVITE_AHEAD
        try:
            for person in people:
                sent = history.get(person.email.lower(), [])
                if soon or sent:
                    queued += queue_invitation(session, person, sent)
        except UnusableMeetingLink as bad:
            _log_held_back(session, bad)  # the others' mail goes on; these wait for a fix
        on_course = {person.email.lower() for person in people}
        holding = {a for a, sent in history.items() if sent[-1] == "invitation"} - on_course
        for person in _former_participants(session.group_id, holding):
            sent = history.get(person.email.lower(), [])
            queued += queue_invitation(session, person, sent, on_course=False)
            history[person.email.lower()] = [*sent, "cancellation"]
    return queued


def sweep(now: datetime | None = None) -> SweepReport:
    """Queue due reminders, invitations and "your turn next week" notices. The caller
    commits."""
    now = now or utcnow()
    if not take_sweep_lock():
        return SweepReport(ran=False)
    report = SweepReport(queued=_invitations(now))
    running = db.session.scalars(select(RemoteGroup).where(RemoteGroup.term_end >= now.date()))
    horizon = max(
        [TURN_NOTICE_AHEAD, *(timedelta(hours=h) for g in running for h in g.reminder_offsets)]
    )
    upcoming = db.session.scalars(
        select(Session)
        .where(
            Session.status == SessionStatus.scheduled,
            Session.starts_at > now,
            Session.starts_at <= now + horizon,
        )
        .order_by(Session.starts_at)
    )
    for session in upcoming:
        for hours in session.group.reminder_offsets:
            if session.starts_at - timedelta(hours=hours) > now:
                continue
            for person in recipients_of(session, now):
                report.queued += _queue(
                    MessageKind.reminder,
                    f"{session.id}:{hours}:{session.sequence}",
                    person,
                    session,
                )
        lead = session.lead_facilitator
        if lead is not None and session.starts_at - TURN_NOTICE_AHEAD <= now:
            person = Recipient(lead.email, lead.language, lead.name, "facilitator")
            report.queued += _queue(
                MessageKind.turn_next_week, f"{session.id}:{lead.id}", person, session
            )
    return report
