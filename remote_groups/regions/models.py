from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from remote_groups.extensions import db
from remote_groups.i18n import LocalizedText, pick_localized
from remote_groups.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class Role(LabelledEnum):
    admin = "admin", _l("Administrator")
    coordinator = "coordinator", _l("Coordinator")
    facilitator = "facilitator", _l("Facilitator")


class Region(db.Model):
    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_fi: Mapped[str] = mapped_column(String(120))
    name_sv: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(254))
    # The region's facilitators mark the dates it cannot host and offer its sessions to other
    # regions themselves; otherwise what they propose waits for a coordinator's approval.
    facilitators_act_directly: Mapped[bool] = mapped_column(default=False, server_default=false())

    users: Mapped[list[User]] = relationship(back_populates="region")

    def name(self, locale: str) -> LocalizedText:
        return pick_localized({"fi": self.name_fi, "sv": self.name_sv, "en": self.name_en}, locale)

    def __repr__(self) -> str:
        return f"<Region {self.slug}>"


def new_token() -> str:
    """An unguessable URL-safe token (32 random bytes)."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A staff member: an administrator, a region's coordinator or a facilitator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    password_hash: Mapped[str] = mapped_column(String(255))
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every login's identity (``get_id``): raising it ends all of the user's sessions.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The password was chosen by an administrator: its owner must choose their own first.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=false())

    region: Mapped[Region | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The identity a login's cookies carry: ``<id>:<session version>``.

        Flask-Login puts it in the session (and in a "remember me" cookie), and the user loader
        accepts it only while the version is the user's current one, so ``end_sessions`` makes
        every copy of every earlier cookie worthless at once.
        """
        return f"{self.id}:{self.session_version}"

    def rotate_feed_token(self) -> str:
        """A new link to the user's calendar feed; the old one stops working at the commit."""
        self.feed_token = new_token()
        return self.feed_token

    def end_sessions(self) -> None:
        """Log the user out everywhere: every session cookie issued until now stops working."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        """Store the password's hash. Strength is checked where a password is chosen
        (``regions.passwords``), not here, so tests and imports may set any password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.coordinator

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


def token_digest(token: str) -> str:
    """What the database keeps of a staff access link's token: its SHA-256, hex. The token is
    32 random bytes, so a plain hash is enough (no salt or slow hash needed), and a copy of
    the database holds no working link."""
    return hashlib.sha256(token.encode()).hexdigest()


class StaffLinkPurpose(LabelledEnum):
    invitation = "invitation", _l("Invitation")
    password_reset = "password_reset", _l("New password")


class StaffLink(db.Model):
    """A mailed single-use link by which a staff member chooses their password: the invitation
    of a new user, or "forgot password". Only the token's digest is stored; a link works once,
    until ``expires_at``, and only while it is the user's newest (issuing one closes the
    others). ``outbox_message_id`` names the mail that carried it, so that copy is redacted
    once the link is used or has expired (``regions.access_links``)."""

    __tablename__ = "staff_links"
    __table_args__ = (Index("ix_staff_links_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[StaffLinkPurpose] = mapped_column(
        enum_column(StaffLinkPurpose, "staff_link_purpose")
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the link was used; when it was closed, used or not (a newer link, deactivation, a
    # password change).
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship()

    @property
    def used(self) -> bool:
        return self.used_at is not None

    def open_at(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.expires_at

    def __repr__(self) -> str:
        return f"<StaffLink {self.id} {self.purpose}>"
