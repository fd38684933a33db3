from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.extensions import db
from remote_groups.groups.models import Session
from remote_groups.regions.models import Region, User
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class BlackoutStatus(LabelledEnum):
    proposed = "proposed", _l("Waiting for the coordinator's approval")
    approved = "approved", _l("In use")
    declined = "declined", _l("Declined")


class Blackout(db.Model):
    """Dates on which a region cannot host (inclusive). A facilitator's proposal is
    ``proposed`` until a coordinator of the region approves it; only approved dates are
    planned around."""

    __tablename__ = "blackouts"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="date_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[BlackoutStatus] = mapped_column(
        enum_column(BlackoutStatus, "blackout_status"),
        default=BlackoutStatus.approved,
    )
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def waiting(self) -> bool:
        """A facilitator's proposal that no coordinator has answered yet."""
        return self.status == BlackoutStatus.proposed


class SwapKind(LabelledEnum):
    swap = "swap", _l("Swap two sessions")
    handover = "handover", _l("Hand a session over")


class SwapStatus(LabelledEnum):
    proposed = "proposed", _l("Waiting for our coordinator's approval")
    pending = "pending", _l("Waiting for an answer")
    accepted = "accepted", _l("Accepted")
    declined = "declined", _l("Declined")
    withdrawn = "withdrawn", _l("Withdrawn")


class SwapRequest(db.Model):
    """A coordinator's proposal to another region: swap the hosts of two sessions, or take over
    one session. The other region's coordinator answers it once. A facilitator's request is
    ``proposed`` until a coordinator of their own region approves it (then ``pending``),
    unless their region lets facilitators act directly."""

    __tablename__ = "swap_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SwapKind] = mapped_column(enum_column(SwapKind, "swap_kind"))
    status: Mapped[SwapStatus] = mapped_column(
        enum_column(SwapStatus, "swap_status"), default=SwapStatus.pending, index=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    other_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE")
    )
    from_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    to_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship(foreign_keys=[session_id])
    other_session: Mapped[Session | None] = relationship(foreign_keys=[other_session_id])
    from_region: Mapped[Region] = relationship(foreign_keys=[from_region_id])
    to_region: Mapped[Region] = relationship(foreign_keys=[to_region_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def open(self) -> bool:
        """Not answered yet: waiting for the own coordinator's approval or the other region."""
        return self.status in (SwapStatus.proposed, SwapStatus.pending)
