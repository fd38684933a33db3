"""Who may do what: every permission check lives here, and views call it before acting."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from remote_groups.regions.models import Role, User

if TYPE_CHECKING:
    from remote_groups.groups.models import RemoteGroup, Session

F = TypeVar("F", bound=Callable[..., Any])


def can_manage_regions_and_users(user: User) -> bool:
    return user.role == Role.admin


def can_create_groups(user: User) -> bool:
    return user.role in (Role.admin, Role.coordinator)


def can_edit_group(user: User, group: RemoteGroup) -> bool:
    """Admins edit every group; a coordinator, the groups their region runs or takes part in."""
    if user.role == Role.admin:
        return True
    return user.role == Role.coordinator and group.takes_part(user.region_id)


def can_edit_session(user: User, session: Session) -> bool:
    return can_edit_group(user, session.group)


def require(allowed: bool) -> None:
    """Refuse with the 403 page unless ``allowed``."""
    if not allowed:
        abort(403)


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


def can_review_applications(user: User, group: RemoteGroup) -> bool:
    """Applications may hold health-related data: only the coordinators of the course's own
    regions see them (not administrators, not facilitators)."""
    return user.role == Role.coordinator and group.takes_part(user.region_id)
