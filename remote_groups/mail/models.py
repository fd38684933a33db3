from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.regions.models import new_token
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class OutboxStatus(LabelledEnum):
    pending = "pending", _l("Waiting to be sent")
    sending = "sending", _l("Being sent")
    sent = "sent", _l("Sent")
    failed = "failed", _l("Failed")
    expired = "expired", _l("Too late to send")


class OutboxMessage(db.Model):
    """A message is a row first, so nothing is lost when the mail server or a process is down.

    ``idempotency_key`` (kind, subject of the message, recipient, version) is unique: enqueuing
    the same message twice stores it once.

    ``message_id`` is the Message-ID header, fixed when the message is queued, so that every
    attempt to send it (a retry, the duplicate after a crash) carries the same one
    (:func:`remote_groups.mail.service.new_message_id` says how it is made).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
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
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
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

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"


# What a redacted message says instead of its recipient, subject and text.
REDACTED = "redacted"
REDACTED_RECIPIENT = "redacted@invalid"


class Subscription(db.Model):
    """An email subscription to an open group's reminders: double opt-in, one-click out."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("group_id", "email", name="uq_subscriptions_group_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[RemoteGroup] = relationship()

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    def __repr__(self) -> str:
        return f"<Subscription {self.id}>"
