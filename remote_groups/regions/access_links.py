"""Mailed single-use links by which staff choose their own password.

Two purposes, one mechanism (:class:`~remote_groups.regions.models.StaffLink`):

- **invitation**: an administrator creates a user without typing a password; the new user
  gets a link and chooses theirs. Until then the account has a random password nobody knows.
- **password reset** ("forgot password"): anyone may ask for one by email address; the page
  answers the same whether or not the address has an account, and only an active account
  gets mail.

The rules:

- The token is 32 random bytes in the link and only its SHA-256 in the database.
- A link works once, for ``LINK_HOURS`` hours, and only while it is its user's newest:
  issuing a link, using one, changing the password and deactivation close the others.
- Asking again within ``REPEAT_MINUTES`` sends nothing new (the earlier mail is on its way),
  so nobody can fill a colleague's mailbox through the "forgot" form.
- Using a link sets the password (the shared rule of ``regions.passwords``), ends every
  session of the user, and redacts the mail that carried it; :func:`forget_links` does the
  same for links that expired unused, and deletes closed links after a day.

Callers commit.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import Select, delete, or_, select, update

from remote_groups.extensions import db
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import enqueue, render_message
from remote_groups.outbox.retention import redact_messages
from remote_groups.regions.models import StaffLink, StaffLinkPurpose, User, token_digest
from remote_groups.regions.passwords import password_problem
from remote_groups.service import ServiceError
from remote_groups.types import utcnow

log = logging.getLogger(__name__)

LINK_HOURS = 24
REPEAT_MINUTES = 5
# Closed and expired links are deleted this long after they closed or expired.
KEEP_CLOSED = timedelta(days=1)

TEMPLATES = {
    StaffLinkPurpose.invitation: MessageKind.staff_invitation,
    StaffLinkPurpose.password_reset: MessageKind.staff_password_reset,
}


def issue_link(user: User, purpose: StaffLinkPurpose, now: datetime | None = None) -> StaffLink:
    """A new link for ``user``, mailed to them; their earlier open links are closed."""
    now = now or utcnow()
    close_links(user, now)
    token = secrets.token_urlsafe(32)
    link = StaffLink(
        user=user,
        purpose=purpose,
        token_digest=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(hours=LINK_HOURS),
    )
    db.session.add(link)
    db.session.flush()
    message = render_message(
        TEMPLATES[purpose].value,
        user.language,
        user=user,
        url=url_for("staff.access_link", token=token, _external=True),
        hours=LINK_HOURS,
        forgot_url=url_for("staff.forgot_password", _external=True),
    )
    queued = enqueue(
        kind=TEMPLATES[purpose],
        key=str(link.id),
        recipient=user.email,
        language=user.language,
        message=message,
        expires_at=link.expires_at,
    )
    link.outbox_message_id = queued.id if queued is not None else None
    log.info("issued a staff %s link %s for user %s", purpose.value, link.id, user.id)
    return link


def never_chose_password(user: User) -> bool:
    """Whether ``user`` was invited and has not used an invitation yet: their newest link is
    an invitation, and no link of theirs was ever used. (Closed links are deleted after
    KEEP_CLOSED, so this looks at the newest link only.)"""
    newest = db.session.scalar(
        select(StaffLink)
        .where(StaffLink.user_id == user.id)
        .order_by(StaffLink.created_at.desc(), StaffLink.id.desc())
        .limit(1)
    )
    return newest is not None and newest.purpose == StaffLinkPurpose.invitation and not newest.used


def sent_recently(user: User, now: datetime | None = None) -> bool:
    """Whether ``user`` has an open link issued less than REPEAT_MINUTES ago."""
    now = now or utcnow()
    recent = db.session.scalar(
        select(StaffLink.id).where(
            StaffLink.user_id == user.id,
            StaffLink.closed_at.is_(None),
            StaffLink.created_at > now - timedelta(minutes=REPEAT_MINUTES),
        )
    )
    return recent is not None


def open_link(token: str, now: datetime | None = None) -> StaffLink | None:
    """The open link with this token, or None (unknown, used, closed or expired alike)."""
    now = now or utcnow()
    link = db.session.scalar(select(StaffLink).where(StaffLink.token_digest == token_digest(token)))
    if link is None or not link.open_at(now) or not link.user.active:
        return None
    return link


def use_link(link: StaffLink, password: str, now: datetime | None = None) -> User:
    """Set the password chosen through ``link``: the link and the user's other links close,
    every session of the user ends, the mail that carried the link is redacted.

    Raises ServiceError (field ``new_password``), changing nothing, for a weak password.
    """
    now = now or utcnow()
    user = link.user
    if (problem := password_problem(password, (user.email, user.name))) is not None:
        raise ServiceError(problem, "new_password")
    user.set_password(password)
    user.password_must_change = False
    user.end_sessions()
    link.used_at = now
    close_links(user, now)
    return user


def close_links(user: User, now: datetime | None = None) -> int:
    """Close every open link of ``user`` and redact the mail that carried them. Called when a
    new link is issued, a link is used, the password changes or the user is deactivated."""
    now = now or utcnow()
    open_links = select(StaffLink.id).where(
        StaffLink.user_id == user.id, StaffLink.closed_at.is_(None)
    )
    _redact_mail_of(open_links, now)
    result = db.session.execute(
        update(StaffLink)
        .where(StaffLink.user_id == user.id, StaffLink.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def forget_links(now: datetime | None = None) -> int:
    """The retention rule's part: redact the mail of links that expired unused, and delete
    links closed or expired more than KEEP_CLOSED ago. Returns how many were deleted."""
    now = now or utcnow()
    _redact_mail_of(
        select(StaffLink.id).where(StaffLink.closed_at.is_(None), StaffLink.expires_at <= now),
        now,
    )
    result = db.session.execute(
        delete(StaffLink)
        .where(
            or_(
                StaffLink.closed_at < now - KEEP_CLOSED,
                StaffLink.expires_at < now - KEEP_CLOSED,
            )
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _redact_mail_of(links: Select[Any], now: datetime) -> None:
    messages = select(StaffLink.outbox_message_id).where(
        StaffLink.id.in_(links), StaffLink.outbox_message_id.is_not(None)
    )
    redact_messages(messages, now)
