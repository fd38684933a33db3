"""Who may do what: every permission check lives here, and views call it before acting.

Regions are the lowest domain: the rules name the few attributes of a group, a session, an
invitation or an application that they read as protocols below, instead of importing the
packages above that define those rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_login import current_user, login_required

from remote_groups.regions.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class RemoteGroup(Protocol):
    """What the rules read of a group (``groups.models.RemoteGroup``)."""

    @property
    def owner_region_id(self) -> int | None: ...

    def takes_part(self, region_id: int | None) -> bool: ...


class GroupInvitation(Protocol):
    """What the rules read of an invitation to take part (``groups.models.GroupInvitation``)."""

    @property
    def region_id(self) -> int: ...


class Session(Protocol):
    """What the rules read of a session (``groups.models.Session``)."""

    @property
    def host_region_id(self) -> int | None: ...

    @property
    def group(self) -> RemoteGroup: ...


class Blackout(Protocol):
    """What the rules read of a region's blackout (``rotation.models.Blackout``)."""

    @property
    def region_id(self) -> int: ...


class SwapRequest(Protocol):
    """What the rules read of a swap request (``rotation.models.SwapRequest``)."""

    @property
    def from_region_id(self) -> int: ...

    @property
    def to_region_id(self) -> int: ...


class Application(Protocol):
    """What the rules read of an application (``applications.models.Application``)."""

    @property
    def home_region_id(self) -> int | None: ...

    @property
    def group(self) -> RemoteGroup: ...


def can_manage_regions_and_users(user: User) -> bool:
    return user.role == Role.admin


def can_create_groups(user: User) -> bool:
    return user.role in (Role.admin, Role.coordinator)


def can_edit_group(user: User, group: RemoteGroup) -> bool:
    """Admins edit every group; a coordinator, the groups their region runs or takes part in."""
    if user.role == Role.admin:
        return True
    return user.role == Role.coordinator and group.takes_part(user.region_id)


def can_change_group_structure(user: User, group: RemoteGroup) -> bool:
    """A group's structure (which regions take part, which region owns it, its kind and its
    meeting link) is its owner region's decision: admins and the owner region's coordinators
    change it. A partner region's coordinator edits the rest (texts, schedule, sessions), but
    could otherwise drop the other regions from a course that is not theirs, and with them
    those regions' access to their own clients' applications."""
    return coordinates_region(user, group.owner_region_id)


def can_own_new_group(user: User, region_id: int) -> bool:
    """A coordinator creates groups that their own region owns; an admin, for any region."""
    return can_create_groups(user) and coordinates_region(user, region_id)


def can_answer_invitation(user: User, invitation: GroupInvitation) -> bool:
    """Only the invited region's own coordinators decide whether it takes part in a group
    (not an admin on its behalf): taking part commits its staff and its clients' data."""
    return user.role == Role.coordinator and user.region_id == invitation.region_id


def can_edit_session(user: User, session: Session) -> bool:
    return can_edit_group(user, session.group)


def require(allowed: bool) -> None:
    """Refuse with the 403 page unless ``allowed``."""
    if not allowed:
        abort(403)


def found(row: R | None, can: Callable[[User, R], bool] | None = None) -> R:
    """The row a URL names, or the 404 page; then the 403 page unless the logged-in user
    ``can`` act on it. Every resource's loader (``load_group_or_404`` and its kin) is built on
    this, so a view cannot load a row without naming the rule that lets it act."""
    if row is None:
        abort(404)
    if can is not None:
        require(can(current_user, row))
    return row


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Log in first, then refuse anyone whose role is not among ``roles``."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            require(current_user.role in roles)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def coordinates_region(user: User, region_id: int | None) -> bool:
    """Admins, and the coordinator of that region."""
    if user.role == Role.admin:
        return True
    return (
        user.role == Role.coordinator and user.region_id is not None and user.region_id == region_id
    )


def can_assign_facilitators(user: User, session: Session) -> bool:
    """A region's coordinator staffs the region's own turns."""
    return coordinates_region(user, session.host_region_id)


def can_offer_session(user: User, session: Session) -> bool:
    """Only the host region's coordinator offers its session to another region (a swap)."""
    return coordinates_region(user, session.host_region_id)


def can_answer_swap(user: User, swap: SwapRequest) -> bool:
    """The asked region's coordinator accepts or declines a swap."""
    return coordinates_region(user, swap.to_region_id)


def can_withdraw_swap(user: User, swap: SwapRequest) -> bool:
    """The asking region's coordinator withdraws its own request."""
    return coordinates_region(user, swap.from_region_id)


def can_remove_blackout(user: User, blackout: Blackout) -> bool:
    """A region's coordinator manages the days their region cannot host."""
    return coordinates_region(user, blackout.region_id)


def can_review_applications(user: User, group: RemoteGroup) -> bool:
    """The coordinators of the regions taking part in a course choose its participants
    together: they list its applications and decide on them (not administrators, not
    facilitators). Reading one application is ``can_read_application``."""
    return user.role == Role.coordinator and group.takes_part(user.region_id)


def can_decide_on_application(user: User, application: Application) -> bool:
    """An application is decided by the coordinators who review its course."""
    return can_review_applications(user, application.group)


def can_read_application(user: User, application: Application) -> bool:
    """Who may read an application (it may hold health-related data): README, "Who may read
    applications".

    Each region is the data controller of its own clients' data. The coordinators of the
    regions taking part in the course read every application to it, since they choose its
    participants together. The coordinators of the applicant's home region read it always,
    also after their region has stopped taking part in the course: their duties to their
    client (answering a request to see the data, correcting it, following up the service)
    do not end because another region reorganized the course. Nobody else does: not
    administrators, not facilitators, not the regions invited but not yet taking part.
    """
    if user.role != Role.coordinator or user.region_id is None:
        return False
    return application.home_region_id == user.region_id or application.group.takes_part(
        user.region_id
    )
