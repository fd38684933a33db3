from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from remote_groups.extensions import db
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class OutboxStatus(LabelledEnum):
    pending = "pending", _l("Waiting to be sent")
    sending = "sending", _l("Being sent")
    sent = "sent", _l("Sent")
    failed = "failed", _l("Failed")
    expired = "expired", _l("Too late to send")


class MessageKind(LabelledEnum):
    """What a message is. The kinds about a session carry ``session_id``; those about an
    application ``application_id`` (a participant's invitation or reminder carries both)."""

    reminder = "reminder", _l("Reminder")
    turn_next_week = "turn_next_week", _l("Your turn next week")
    invitation = "invitation", _l("Calendar invitation")
    cancellation = "cancellation", _l("Calendar cancellation")
    session_moved = "session_moved", _l("Session moved")
    lead_assigned = "lead_assigned", _l("You lead a session")
    swap_proposed = "swap_proposed", _l("Turn swap proposed")
    swap_answered = "swap_answered", _l("Turn swap answered")
    proposal_answered = "proposal_answered", _l("Proposal answered")
    turn_moved = "turn_moved", _l("Your session went to another region")
    turns_changed = "turns_changed", _l("Turns changed")
    group_invitation = "group_invitation", _l("Invitation to a group")
    subscription_confirm = "subscription_confirm", _l("Subscription confirmation")
    application_received = "application_received", _l("Application received")
    application_status_link = "application_status_link", _l("Application link")
    application_accepted = "application_accepted", _l("Application accepted")
    application_rejected = "application_rejected", _l("Application not accepted")
    application_waitlisted = "application_waitlisted", _l("Application on the waiting list")
    application_withdrawn = "application_withdrawn", _l("Application withdrawn")
    application_offered = "application_offered", _l("Place offered")
    application_offer_expired = "application_offer_expired", _l("Offer expired")
    staff_invitation = "staff_invitation", _l("Staff account invitation")
    staff_password_reset = "staff_password_reset", _l("Staff password link")


# Kinds that tell of a session's time: dropped while still waiting when the session changes.
SESSION_TIME_NOTICES = (MessageKind.reminder, MessageKind.turn_next_week)


class OutboxMessage(db.Model):
    """A message is a row first, so nothing is lost when the mail server or a process is down.

    ``idempotency_key`` (kind, subject of the message, recipient, version) is unique: enqueuing
    the same message twice stores it once.

    ``message_id`` is the Message-ID header, fixed when the message is queued, so that every
    attempt to send it (a retry, the duplicate after a crash) carries the same one
    (:func:`remote_groups.outbox.queue.new_message_id` says how it is made).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind", length=40))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(String(20))
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    # A reminder is useless after its session starts: the sender drops it after this time.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The undo window: the sender delivers nothing before this time, so the person who caused
    # the message (a decision sent, a session cancelled) can still take it back.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The session the message is about (its reminder, invitation, turn notice…), so a changed
    # session's waiting notices are found by column, not by parsing keys.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    # The application the message is about (its receipt, decisions, offers, invitations…),
    # so the retention rule redacts it with the application. Not a relationship on purpose:
    # the outbox sits below the domains.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    # When the retention rule replaced recipient, subject and bodies with REDACTED.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def resendable(self) -> bool:
        """Only mail that has not gone out may be sent again: a failed message, or one waiting
        for a retry; never a sent or expired one (a copy of what someone already has, or a
        reminder too late), never a redacted one."""
        return self.redacted_at is None and (
            self.status == OutboxStatus.failed
            or (self.status == OutboxStatus.pending and self.attempts > 0)
        )

    def held(self, now: datetime) -> bool:
        """Still in its undo window: waiting, and not to be sent before ``held_until``."""
        return (
            self.status == OutboxStatus.pending
            and self.held_until is not None
            and self.held_until > now
        )

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"


# What a redacted message says instead of its recipient, subject and text.
REDACTED = "redacted"
REDACTED_RECIPIENT = "redacted@invalid"
