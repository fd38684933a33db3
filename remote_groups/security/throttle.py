"""Per-address rate limits and a login lockout per (email, address), counted in the database.

Counters live in the ``throttles`` table, so every gunicorn worker and every host behind the
same database sees the same counts; an in-process counter would let an attacker multiply the
limit by the number of workers. Each count is one atomic upsert committed at once, so a
request that later fails validation still counts, and two workers never lose an increment.

Keys are HMACs (with the app's secret key) of the address or email: the table holds neither.

Why the lockout is keyed by email *and* address: keyed by the email alone, anyone who knows
an administrator's email could keep her locked out for good by sending a wrong password every
few minutes. Keyed by both, a stranger locks only their own address (``login_locked_for``
tells the rest); a guess spread over many addresses still meets the email's own ceiling.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from remote_groups.extensions import db
from remote_groups.security.models import Throttle
from remote_groups.types import utcnow

FAILURE_WINDOW = timedelta(days=1)  # failed logins further apart than this start afresh


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def from_config(cls, name: str) -> Limit:
        count, seconds = current_app.config[name]
        return cls(int(count), int(seconds))


def lockout_seconds(failures: int, after: int, first: int, maximum: int) -> int:
    """How long a login stays locked after ``failures`` failures in a row.

    Nothing before the ``after``-th failure; then ``first`` seconds, doubling with each further
    failure up to ``maximum``.
    """
    if failures < after:
        return 0
    doublings = min(failures - after, 32)  # a flood of failures never makes a huge number
    return min(first * 2**doublings, maximum)


def throttle_key(kind: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:64]}"


def _count(key: str, window: timedelta, now: datetime) -> Row[tuple[int, datetime]]:
    """Add one to ``key``'s count, starting a new window if the old one has ended."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expired = Throttle.window_start <= now - window
    started = literal(now, type_=Throttle.window_start.type)
    statement = (
        insert(Throttle)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[Throttle.key],
            set_={
                "count": case((expired, 1), else_=Throttle.count + 1),
                "window_start": case((expired, started), else_=Throttle.window_start),
            },
        )
        .returning(Throttle.count, Throttle.window_start)
    )
    return db.session.execute(statement).one()


def minutes_to_wait(seconds: int) -> int:
    """A wait in whole minutes for people, rounded up: 61 s is "2 minutes", never "0"."""
    return max(1, -(-seconds // 60))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def hit(kind: str, address: str, limit: Limit, now: datetime | None = None) -> int | None:
    """Count one request of ``kind`` from ``address``, and commit.

    Returns None while within the limit, else the seconds until the window ends (Retry-After).
    """
    now = now or utcnow()
    counted = _count(throttle_key(kind, address), timedelta(seconds=limit.seconds), now)
    db.session.commit()
    if counted.count <= limit.count:
        return None
    return _seconds_until(counted.window_start + timedelta(seconds=limit.seconds), now)


def _login_key(email: str, address: str) -> str:
    return throttle_key("login", f"{email.strip().lower()}|{address}")


def _email_key(email: str) -> str:
    return throttle_key("login-email", email.strip().lower())


def login_locked_for(email: str, address: str, now: datetime | None = None) -> int | None:
    """Seconds this email stays locked for logins from ``address``, or None.

    Failures are counted per (email, client address), so a stranger who guesses wrong locks
    only their own address out of that account: they cannot keep an administrator locked out
    by sending wrong passwords for her email, because her address has no failures of its own
    and her right password is checked as usual. Against a guess spread over many addresses
    the email's failures from every address are counted as well: past
    LOGIN_LOCKOUT_EMAIL_AFTER of them in a day, each address is locked after its first further
    failure (``login_failed``), instead of after LOGIN_LOCKOUT_AFTER. Known and unknown
    emails alike, so the answers tell nobody which emails have accounts.
    """
    now = now or utcnow()
    locked_until = db.session.scalar(
        select(Throttle.locked_until).where(Throttle.key == _login_key(email, address))
    )
    if locked_until is None or locked_until <= now:
        return None
    return _seconds_until(locked_until, now)


def login_failed(email: str, address: str, now: datetime | None = None) -> int | None:
    """Count a failed login from ``address`` and commit; the seconds the email is now locked
    for at that address, or None."""
    now = now or utcnow()
    config: dict[str, Any] = current_app.config
    key = _login_key(email, address)
    first, maximum = config["LOGIN_LOCKOUT_SECONDS"], config["LOGIN_LOCKOUT_MAX_SECONDS"]
    own = _count(key, FAILURE_WINDOW, now).count
    everywhere = _count(_email_key(email), FAILURE_WINDOW, now).count
    seconds = max(
        lockout_seconds(own, config["LOGIN_LOCKOUT_AFTER"], first, maximum),
        lockout_seconds(everywhere, config["LOGIN_LOCKOUT_EMAIL_AFTER"], first, maximum),
    )
    if seconds:
        locked_until = now + timedelta(seconds=seconds)
        db.session.execute(
            update(Throttle).where(Throttle.key == key).values(locked_until=locked_until)
        )
    db.session.commit()
    return seconds or None


def login_succeeded(email: str, address: str) -> None:
    """A correct password clears this address's failures for the email (the caller commits
    with the login). The email's count from every address stays: it measures guessing from
    elsewhere, which the owner's login does not end."""
    db.session.execute(delete(Throttle).where(Throttle.key == _login_key(email, address)))


def forget_old_counters(now: datetime | None = None) -> int:
    """Delete counters no window or lock needs any more (run daily by the scheduler)."""
    now = now or utcnow()
    longest = max(
        FAILURE_WINDOW,
        *(
            timedelta(seconds=int(current_app.config[name][1]))
            for name in ("RATE_LIMIT_APPLICATIONS", "RATE_LIMIT_LOGIN", "RATE_LIMIT_SUBSCRIPTIONS")
        ),
    )
    result = db.session.execute(
        delete(Throttle).where(
            Throttle.window_start < now - longest,
            (Throttle.locked_until.is_(None)) | (Throttle.locked_until < now),
        )
    )
    return result.rowcount
