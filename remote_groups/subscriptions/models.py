"""Email subscriptions to open groups' reminders: double opt-in, one-click out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.regions.models import new_token
from remote_groups.types import UTCDateTime, utcnow


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
