"""Throttle counters shared by every web worker (and host), so limits hold across processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from remote_groups.extensions import db
from remote_groups.types import UTCDateTime


class Throttle(db.Model):
    """One counter per key: a rate-limit window or a login's failures.

    Keys hold an HMAC of the address or email, never the address or email itself.
    """

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
