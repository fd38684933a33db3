from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.orderinglist import ordering_list
from sqlalchemy.orm import Mapped, mapped_column, relationship

from remote_groups.extensions import db
from remote_groups.groups.schedule import WeeklySchedule
from remote_groups.i18n import SUPPORTED, LocalizedText, pick_localized
from remote_groups.regions.models import Region, User
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class GroupKind(LabelledEnum):
    open = "open", _l("Open group")
    closed = "closed", _l("Closed course")


class SessionStatus(LabelledEnum):
    scheduled = "scheduled", _l("Scheduled")
    cancelled = "cancelled", _l("Cancelled")


class Publication(LabelledEnum):
    """Whether the public sees a group. A new group is a draft: its coordinators fill in and
    check it (they see it with a banner) before anyone can find, apply to, subscribe to or be
    reminded of it. Publishing, and going back to draft, are their own confirmed actions."""

    draft = "draft", _l("Draft")
    published = "published", _l("Published")


class RotationPolicy(LabelledEnum):
    round_robin = "round_robin", _l("In turn, session by session")
    week_parity = "week_parity", _l("Fixed weeks (by week number)")


MAX_DURATION_MINUTES = 8 * 60
# A group's texts written per language (``title_fi``, ``title_sv``, …).
TRANSLATED_TEXTS = ("title", "description", "audience")


class GroupRegion(db.Model):
    """A region taking part in a group, at its place in the rotation order."""

    __tablename__ = "group_regions"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), primary_key=True)
    position: Mapped[int] = mapped_column()

    region: Mapped[Region] = relationship(lazy="joined")


class GroupInvitation(db.Model):
    """The owner region's invitation to another region to take part in a group.

    A region takes part in a group (takes turns hosting it, and reads the applications to a
    course) only when its own coordinator has accepted: taking part commits the region's staff
    and makes it a controller of the course's applicants' data, which no other region can
    decide for it. Until then the invitation is pending (``answered_at`` empty); accepting
    adds the region at the end of the rotation order, declining leaves the group as it was.
    An answered invitation stays as the record of who asked and what was answered.
    """

    __tablename__ = "group_invitations"
    __table_args__ = (
        Index(
            "ix_group_invitations_one_pending",
            "group_id",
            "region_id",
            unique=True,
            sqlite_where=text("answered_at IS NULL"),
            postgresql_where=text("answered_at IS NULL"),
        ),
        CheckConstraint("(answered_at IS NULL) = (accepted IS NULL)", name="answered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), index=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted: Mapped[bool | None] = mapped_column()

    group: Mapped[RemoteGroup] = relationship(back_populates="invitations")
    region: Mapped[Region] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship()

    @property
    def pending(self) -> bool:
        return self.answered_at is None

    def __repr__(self) -> str:
        return f"<GroupInvitation {self.id} group={self.group_id} region={self.region_id}>"


class RemoteGroup(db.Model):
    __tablename__ = "remote_groups"
    __table_args__ = (
        CheckConstraint("term_end >= term_start", name="term_order"),
        CheckConstraint(
            f"duration_minutes > 0 AND duration_minutes <= {MAX_DURATION_MINUTES}",
            name="duration_range",
        ),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("language IN ('fi', 'sv')", name="group_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[GroupKind] = mapped_column(enum_column(GroupKind, "group_kind"))
    language: Mapped[str] = mapped_column(String(2))
    title_fi: Mapped[str | None] = mapped_column(String(200))
    title_sv: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description_fi: Mapped[str | None] = mapped_column(Text)
    description_sv: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    audience_fi: Mapped[str | None] = mapped_column(Text)
    audience_sv: Mapped[str | None] = mapped_column(Text)
    audience_en: Mapped[str | None] = mapped_column(Text)
    theme: Mapped[str | None] = mapped_column(String(80))
    meeting_url: Mapped[str] = mapped_column(String(500))
    weekday: Mapped[int] = mapped_column()
    start_time: Mapped[time] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column()
    term_start: Mapped[date] = mapped_column()
    term_end: Mapped[date] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(40), default="Europe/Helsinki")
    skip_holidays: Mapped[bool] = mapped_column(default=True)
    # Hours before each session when reminders go out, e.g. "24" or "24,2".
    reminder_hours: Mapped[str] = mapped_column(String(40), default="24")
    rotation_policy: Mapped[RotationPolicy] = mapped_column(
        enum_column(RotationPolicy, "rotation_policy"), default=RotationPolicy.round_robin
    )
    owner_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    capacity: Mapped[int | None] = mapped_column()
    application_opens: Mapped[date | None] = mapped_column()
    application_closes: Mapped[date | None] = mapped_column()
    publication: Mapped[Publication] = mapped_column(
        enum_column(Publication, "publication"), default=Publication.draft
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner_region: Mapped[Region] = relationship()
    participations: Mapped[list[GroupRegion]] = relationship(
        order_by=GroupRegion.position,
        collection_class=ordering_list("position"),
        cascade="all, delete-orphan",
    )
    sessions: Mapped[list[Session]] = relationship(
        back_populates="group", order_by="Session.starts_at", cascade="all, delete-orphan"
    )
    invitations: Mapped[list[GroupInvitation]] = relationship(
        back_populates="group", order_by=GroupInvitation.id, cascade="all, delete-orphan"
    )

    @property
    def regions(self) -> list[Region]:
        """Participating regions in rotation order."""
        return [participation.region for participation in self.participations]

    def set_regions(self, regions: list[Region]) -> None:
        by_id = {p.region_id: p for p in self.participations}
        self.participations = [
            by_id.get(region.id) or GroupRegion(region=region, region_id=region.id)
            for region in regions
        ]
        self.participations.reorder()

    @property
    def pending_invitations(self) -> list[GroupInvitation]:
        return [invitation for invitation in self.invitations if invitation.pending]

    def takes_part(self, region_id: int | None) -> bool:
        return region_id is not None and (
            region_id == self.owner_region_id
            or any(p.region_id == region_id for p in self.participations)
        )

    @property
    def published(self) -> bool:
        return self.publication == Publication.published

    def missing_languages(self) -> list[str]:
        """The languages (fi, sv, en) lacking a title, description or audience that another
        language has: pages in them fall back to that one (a Swedish reader gets Finnish),
        so staff are told and readers see the fallback marked."""
        return [
            code
            for code in SUPPORTED
            if any(
                not getattr(self, f"{name}_{code}")
                and any(getattr(self, f"{name}_{other}") for other in SUPPORTED)
                for name in TRANSLATED_TEXTS
            )
        ]

    def title(self, locale: str) -> LocalizedText:
        return pick_localized(
            {"fi": self.title_fi, "sv": self.title_sv, "en": self.title_en}, locale
        )

    def description(self, locale: str) -> LocalizedText:
        return pick_localized(
            {"fi": self.description_fi, "sv": self.description_sv, "en": self.description_en},
            locale,
        )

    def audience(self, locale: str) -> LocalizedText:
        return pick_localized(
            {"fi": self.audience_fi, "sv": self.audience_sv, "en": self.audience_en}, locale
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def schedule(self) -> WeeklySchedule:
        return WeeklySchedule(
            weekday=self.weekday,
            start_time=self.start_time,
            duration_minutes=self.duration_minutes,
            term_start=self.term_start,
            term_end=self.term_end,
            timezone=self.timezone,
            skip_holidays=self.skip_holidays,
        )

    @property
    def reminder_offsets(self) -> list[int]:
        return sorted(
            {
                int(part)
                for part in (self.reminder_hours or "").split(",")
                if part.strip().isdigit()
            },
            reverse=True,
        )

    def application_window_open(self, today: date) -> bool:
        return (
            self.kind == GroupKind.closed
            and self.application_opens is not None
            and self.application_closes is not None
            and self.application_opens <= today <= self.application_closes
        )

    def __repr__(self) -> str:
        return f"<RemoteGroup {self.slug}>"


session_co_facilitators = Table(
    "session_co_facilitators",
    db.metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_uid() -> str:
    """The calendar UID of a new session: a random UUID, which RFC 7986 (section 5.3)
    recommends, with nothing that names a host or a database row."""
    return str(uuid.uuid4())


class Session(db.Model):
    """One meeting of a group. ``occurrence_date`` ties it to its slot in the weekly schedule,
    so a session moved by hand still stands for that slot when the schedule is regenerated.

    ``uid`` is the session's identity outside the database: its calendar UID in every feed and
    invitation. Calendars recognise an update or a cancellation only by an unchanged UID, so
    it is stored once and never derived again from the database id or BASE_URL: an imported
    region's sessions get new ids, the same id names other sessions in other installations,
    and the site's address can change. A new session gets a random UUID (as text,
    ``new_session_uid``). A session that existed before migration 0006 keeps the UID it was
    published with until then, ``session-<id>@<host>`` with the host of BASE_URL at the
    upgrade: the feeds its participants subscribed to and the invitations in their calendars
    name it so, and a new UID would make the next update or cancellation arrive as a second
    event. Hence text, not a UUID column. Regeneration updates sessions in place and a region
    export carries the UID, so both keep it.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("group_id", "occurrence_date", name="group_occurrence"),
        CheckConstraint("ends_at > starts_at", name="time_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True, default=new_session_uid)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("remote_groups.id", ondelete="CASCADE"), index=True
    )
    occurrence_date: Mapped[date] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "session_status"), default=SessionStatus.scheduled
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    change_reason: Mapped[str | None] = mapped_column(Text)
    host_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    lead_facilitator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    topic: Mapped[str | None] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(default=0)
    locked: Mapped[bool] = mapped_column(default=False)
    # Set when the host was agreed between regions (an accepted swap): the planner keeps it.
    host_fixed: Mapped[bool] = mapped_column(default=False)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: Mapped[RemoteGroup] = relationship(back_populates="sessions")
    host_region: Mapped[Region | None] = relationship()
    lead_facilitator: Mapped[User | None] = relationship()
    co_facilitators: Mapped[list[User]] = relationship(secondary=session_co_facilitators)

    @property
    def cancelled(self) -> bool:
        return self.status == SessionStatus.cancelled

    @property
    def kept_by_hand(self) -> bool:
        """Locked, or changed by a coordinator: regeneration leaves it alone."""
        return self.locked or self.edited_at is not None

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.starts_at:%Y-%m-%d}>"
