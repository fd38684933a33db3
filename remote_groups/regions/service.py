"""Staff and region transactions."""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from remote_groups.extensions import db
from remote_groups.regions import access_links
from remote_groups.regions.models import Region, Role, StaffLinkPurpose, User
from remote_groups.regions.passwords import password_problem
from remote_groups.service import ServiceError


def region_choices(locale: str) -> list[tuple[str, str]]:
    """Every region as (slug, name in ``locale``), for form choices."""
    regions = db.session.scalars(select(Region).order_by(Region.slug))
    return [(r.slug, r.name(locale).text) for r in regions]


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


@cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (the same answer for every failure).

    An unknown email costs one password hash too, so the answer's timing does not tell
    which emails have accounts.
    """
    user = user_by_email(email)
    if user is None:
        check_password_hash(_decoy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def save_region(region: Region | None, values: dict[str, Any]) -> Region:
    other = db.session.scalar(select(Region).where(Region.slug == values["slug"]))
    if other is not None and other is not region:
        raise ServiceError(_l("Another region already uses this web address name."), "slug")
    region = region or Region()
    for name in ("slug", "name_fi", "name_sv", "name_en", "contact_email"):
        setattr(region, name, values[name])
    save_region_settings(region, values)
    db.session.add(region)
    return region


def save_region_settings(region: Region, values: dict[str, Any]) -> Region:
    """The settings a region's own coordinators choose (``RegionSettingsForm``)."""
    if "facilitators_act_directly" in values:
        region.facilitators_act_directly = bool(values["facilitators_act_directly"])
    return region


def save_user(
    user: User | None,
    *,
    email: str,
    name: str,
    role: Role,
    region: Region | None,
    language: str,
    password: str | None,
    one_time_password: bool = True,
) -> User:
    """Create or change a user. A ``password`` given here is set by someone other than its
    owner (an administrator), so by default it is ``one_time_password``: its owner must choose
    their own at the next login, and the user's open sessions end. ``users create-admin``
    passes False: the administrator typed their own.

    A new user without a ``password`` is invited: their account gets a random password that
    nobody knows, and they are mailed a single-use link to choose their own
    (``regions.access_links``)."""
    other = user_by_email(email)
    if other is not None and other is not user:
        raise ServiceError(_l("Another user already has this email address."), "email")
    new = user is None
    user = user or User()
    user.email, user.name, user.role, user.region = email.strip().lower(), name, role, region
    user.language = language
    if password:
        user.set_password(password)
        user.password_must_change = one_time_password
        user.end_sessions()
        if not new:
            access_links.close_links(user)  # the administrator's password replaces any link
    elif new:
        user.set_password(secrets.token_urlsafe(32))
    db.session.add(user)
    if new and not password:
        db.session.flush()
        access_links.issue_link(user, StaffLinkPurpose.invitation)
    return user


def send_access_link(user: User) -> StaffLinkPurpose:
    """An administrator mails ``user`` a new link to choose their password: the invitation
    again if the user never used theirs, else a password reset. Returns which."""
    if not user.active:
        raise ServiceError(_l("Reactivate the user first."))
    purpose = (
        StaffLinkPurpose.invitation
        if access_links.never_chose_password(user)
        else StaffLinkPurpose.password_reset
    )
    access_links.issue_link(user, purpose)
    return purpose


def request_password_reset(email: str) -> None:
    """ "Forgot password": mail a reset link if ``email`` is an active staff account's, unless
    one went out within ``access_links.REPEAT_MINUTES``. Answers nothing either way: the page
    says the same for every address, so it tells nobody who has an account."""
    user = user_by_email(email)
    if user is None or not user.active or access_links.sent_recently(user):
        return
    access_links.issue_link(user, StaffLinkPurpose.password_reset)


def change_own_password(user: User, current: str, new: str) -> None:
    """The user chooses their own password, proving they know the current one. Their other
    sessions end (a stolen cookie with them); the caller logs this one in afresh.

    Raises ServiceError (field ``current_password`` or ``new_password``) and changes nothing
    when the current password is wrong, or the new one is the current one or too weak.
    """
    if not user.check_password(current):
        raise ServiceError(_l("The current password is wrong."), "current_password")
    if new == current:
        raise ServiceError(_l("Choose a new password, not the current one."), "new_password")
    if (problem := password_problem(new, (user.email, user.name))) is not None:
        raise ServiceError(problem, "new_password")
    user.set_password(new)
    user.password_must_change = False
    user.end_sessions()
    access_links.close_links(user)  # a reset link asked for earlier is not needed any more


def deactivate_user(user: User, by: User) -> None:
    """Take a staff member's access away, at once: they cannot log in (the login answers as for
    a wrong password), every session of theirs ends, and their calendar feed links answer 404
    from now on, also after a reactivation (the token is replaced). Their past work, the
    sessions they led and the rotation history, stays. Nobody deactivates themselves, so an
    administrator always remains."""
    if user.id == by.id:
        raise ServiceError(_l("You cannot deactivate yourself."))
    user.active = False
    user.end_sessions()
    access_links.close_links(user)
    user.rotate_feed_token()


def reactivate_user(user: User) -> None:
    """Give a deactivated staff member access again, with the password they had. Their old
    calendar links stay dead: they get a new one on their "My turns" page."""
    user.active = True


def coordinators_of(region_id: int) -> list[User]:
    """The active coordinators of a region: who hears of what concerns their region, and whom
    its facilitators ask for what only a coordinator can do."""
    query = select(User).where(
        User.region_id == region_id, User.role == Role.coordinator, User.active.is_(True)
    )
    return list(db.session.scalars(query.order_by(User.id)))
