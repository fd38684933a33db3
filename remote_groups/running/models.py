"""A session's record, kept by whoever runs it: who came (a course's participants one by one,
an open group's clients as a count per home region), the links shared and a note for the next
facilitator. The counts are what the network's exchange report sums per region and month
(:func:`remote_groups.running.service.attendance_by_region_and_month`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.applications.models import Participant
from remote_groups.extensions import db
from remote_groups.groups.models import Session
from remote_groups.regions.models import Region, User
from remote_groups.types import UTCDateTime, utcnow

MAX_MATERIALS = 10
MAX_COUNT = 999


class ParticipantAttendance(db.Model):
    """Whether a course's participant was at a session.

    ``region_id`` is the participant's home region when it was marked, kept with the mark, so
    that the region's count stays when the participant's data goes: a participant who leaves
    the course, or whose application is anonymized after the retention period, is deleted, and
    the database then empties ``participant_id`` (ON DELETE SET NULL). What stays says only
    that someone from the region came.
    """

    __tablename__ = "participant_attendance"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    present: Mapped[bool] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[Session] = relationship()
    participant: Mapped[Participant | None] = relationship()

    def __repr__(self) -> str:
        return f"<ParticipantAttendance {self.id} session={self.session_id}>"


class RegionAttendance(db.Model):
    """How many clients of a region came to an open group's session (nobody registers)."""

    __tablename__ = "region_attendance"
    __table_args__ = (CheckConstraint(f"count >= 0 AND count <= {MAX_COUNT}", name="count_range"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True, index=True)
    count: Mapped[int] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()

    def __repr__(self) -> str:
        return f"<RegionAttendance session={self.session_id} region={self.region_id}>"


class SessionNote(db.Model):
    """The note a session's facilitator leaves for the next one. It may mention people, so it
    goes with the applications, ``RETENTION_DAYS`` after the group's term ends
    (:func:`remote_groups.running.service.forget_notes`)."""

    __tablename__ = "session_notes"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    updated_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SessionNote session={self.session_id}>"


class SessionMaterial(db.Model):
    """A link shared at a session (slides, an exercise, a video), in the order given."""

    __tablename__ = "session_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<SessionMaterial {self.id} session={self.session_id}>"
