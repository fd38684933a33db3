from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.encryption import EncryptedText
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.regions.models import Region, User, new_token
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class ApplicationStatus(LabelledEnum):
    submitted = "submitted", _l("Received, waiting for a decision")
    accepted = "accepted", _l("Accepted")
    waitlisted = "waitlisted", _l("On the waiting list")
    offered = "offered", _l("Offered a place")
    rejected = "rejected", _l("Not accepted")
    withdrawn = "withdrawn", _l("Withdrawn")


# Seats are taken by accepted participants and by open offers (an offer reserves its seat).
SEAT_TAKING = (ApplicationStatus.accepted, ApplicationStatus.offered)
DECIDED = (ApplicationStatus.accepted, ApplicationStatus.rejected, ApplicationStatus.withdrawn)


class Application(db.Model):
    """An application to a closed course. Holds personal and possibly health-related data:
    ``needs`` is shown to the course's coordinators, to the sessions' facilitators only with the
    applicant's separate consent (``needs_shared_at``), and is encrypted at rest; everything
    personal, and every mail about the application in the outbox, is anonymized after the
    retention period."""

    __tablename__ = "applications"
    # Not unique: people who share an address (a group home) apply each with their own name.
    # One person applies once (applications.service.applying.same_person, checked under the course's
    # lock).
    __table_args__ = (Index("ix_applications_group_id_email", "group_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))  # stored lower-case
    phone: Mapped[str | None] = mapped_column(String(40))
    home_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    language: Mapped[str] = mapped_column(String(2))
    # Health data: encrypted at rest, and loaded only when read, so that a missing data key
    # stops only the pages that show it (remote_groups.encryption).
    needs: Mapped[str | None] = mapped_column(EncryptedText("applications.needs"), deferred=True)
    motivation: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A consent of its own, given on the form or not at all: when it was given, the sessions'
    # facilitators see the needs on the session's page (``can_see_shared_needs``). Empty: only
    # the coordinators, on the application.
    needs_shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status"),
        default=ApplicationStatus.submitted,
        index=True,
    )
    status_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[RemoteGroup] = relationship()
    home_region: Mapped[Region] = relationship()
    decisions: Mapped[list[ApplicationDecision]] = relationship(
        back_populates="application",
        order_by="ApplicationDecision.id",
        cascade="all, delete-orphan",
    )
    participant: Mapped[Participant | None] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )

    def told_status(self, now: datetime) -> ApplicationStatus:
        """The state the applicant has been told of: a decision not yet sent, or whose mail
        is still held for its undo window, is not shown on their status page yet, so the page
        never says more than the mail."""
        shown = self.status
        for decision in reversed(self.decisions):
            if decision.told(now):
                return decision.to_status
            shown = decision.from_status or shown
        return shown

    def __repr__(self) -> str:  # no personal data in logs or tracebacks
        return f"<Application {self.id} {self.status}>"


class ApplicationDecision(db.Model):
    """Every change of an application's state: who, when, from which state, to which."""

    __tablename__ = "application_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[ApplicationStatus | None] = mapped_column(
        enum_column(ApplicationStatus, "decision_from_status")
    )
    to_status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "decision_to_status")
    )
    actor: Mapped[str] = mapped_column(String(20))  # coordinator | applicant | system
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A coordinator's decision is saved first and mailed in a send step: until then it is
    # ``unsent`` (nobody has been told; it may still change). ``told_at`` is when the send
    # step's mail goes out (the end of its undo window); the applicant sees the decision from
    # then on (Application.told_status).
    unsent: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship(back_populates="decisions")
    by_user: Mapped[User | None] = relationship()

    def told(self, now: datetime) -> bool:
        """Whether the applicant has been told of this change (their own moves and the
        system's always; a coordinator's decision once its mail's hold has ended)."""
        return not self.unsent and (self.told_at is None or self.told_at <= now)


class Participant(db.Model):
    """An accepted applicant: a seat in the course and a private calendar feed."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[RemoteGroup] = relationship()
    application: Mapped[Application] = relationship(back_populates="participant")

    def rotate_feed_token(self) -> str:
        """A new link to the participant's calendar feed; the old one stops working at the
        commit."""
        self.feed_token = new_token()
        return self.feed_token

    def __repr__(self) -> str:
        return f"<Participant {self.id}>"
