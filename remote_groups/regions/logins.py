"""Staff logins: who a session cookie belongs to, and for how long.

A Flask session lives in a signed cookie in the browser, so the server cannot delete it; a copy
keeps working as long as the original would. Three things end logins anyway:

- The cookie names the user as ``<id>:<session version>`` (``User.get_id``), and the loader
  accepts it only while that is the user's current version. Logging out, changing the
  password and deactivation raise the version: every copy of every earlier cookie, on every
  device, stops working at once.
- A login is over after STAFF_SESSION_IDLE_MINUTES without a request, and
  STAFF_SESSION_MAX_HOURS after it began, whatever happens in between. The two instants are
  in the signed cookie, so its holder cannot change them.
- Logging in starts a new session, with a new CSRF secret: nothing obtained before the login
  (a planted session, a CSRF token) works after it.

A user whose password an administrator chose is sent to choose their own before anything else.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from remote_groups.extensions import db, login_manager
from remote_groups.regions.models import User
from remote_groups.types import utcnow

# Keys of the signed session cookie, in seconds since the epoch: when the login began and
# when it was last used (updated at most once a minute, so not every answer sets a cookie).
LOGIN_AT, SEEN_AT = "login_at", "seen_at"
SEEN_AT_RESOLUTION = 60
# What a user who must choose their own password may still reach.
PASSWORD_CHANGE_ENDPOINTS = frozenset(
    {
        "staff.account",
        "staff.login",
        "staff.logout",
        "staff.forgot_password",
        "staff.access_link",
        "static",
        "groups.choose_language",
        "pages.accessibility",
    }
)


def load_user(user_id: str) -> User | None:
    """The user of a login, while it is still theirs: the id is ``<id>:<session version>``
    (``User.get_id``), and a login from before the user's sessions were ended (logging out,
    a password change, deactivation) names an older version, so it finds nobody."""
    user_key, _, version = user_id.partition(":")
    if not (user_key.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions, or not ours
    user = db.session.get(User, int(user_key))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def start_login(user: User) -> None:
    """Log ``user`` in with a fresh session: nothing from before the login is carried over,
    the CSRF secret included, so a token (or a session) an attacker obtained before the login
    is worth nothing after it."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's token for this request, made from the old secret
    login_user(user)
    session[LOGIN_AT] = session[SEEN_AT] = int(utcnow().timestamp())


def end_login() -> None:
    logout_user()
    session.clear()
    g.pop("csrf_token", None)


def staff_session_rules() -> ResponseReturnValue | None:
    """On every request of a logged-in browser: end a login that has been idle for
    STAFF_SESSION_IDLE_MINUTES or has lasted STAFF_SESSION_MAX_HOURS (the timestamps live in
    the signed cookie, so they cannot be changed by its holder); and send a user whose
    password an administrator chose to choose their own before anything else."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    now = int(utcnow().timestamp())
    config = current_app.config
    if login_expired(
        session.get(LOGIN_AT),
        session.get(SEEN_AT),
        now,
        idle_seconds=config["STAFF_SESSION_IDLE_MINUTES"] * 60,
        max_seconds=config["STAFF_SESSION_MAX_HOURS"] * 3600,
    ):
        end_login()
        flash(_("Your login has expired. Please log in again."))
        return None
    if now - session[SEEN_AT] >= SEEN_AT_RESOLUTION:
        session[SEEN_AT] = now
    if (
        current_user.is_authenticated
        and current_user.password_must_change
        and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
    ):
        return redirect(url_for("staff.account"))
    return None


def login_expired(
    login_at: object, seen_at: object, now: int, *, idle_seconds: int, max_seconds: int
) -> bool:
    """Whether a login that began at ``login_at`` and was last used at ``seen_at`` is over."""
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return True  # a login from before these limits: log in again once
    return now - seen_at > idle_seconds or now - login_at > max_seconds


login_manager.user_loader(load_user)
