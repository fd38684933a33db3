"""Who may do what: every permission check lives here, and views call it before acting.

Regions are the lowest domain: the rules name the few attributes of a group, a session, an
invitation or an application that they read as protocols below, instead of importing the
packages above that define those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_login import current_user, login_required

from remote_groups.regions.models import Region, Role, User

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class RemoteGroup(Protocol):
    """What the rules read of a group (``groups.models.RemoteGroup``)."""

    @property
    def owner_region_id(self) -> int | None: ...

    @property
    def published(self) -> bool: ...

    def takes_part(self, region_id: int | None) -> bool: ...


class GroupInvitation(Protocol):
    """What the rules read of an invitation to take part (``groups.models.GroupInvitation``)."""

    @property
    def region_id(self) -> int: ...


class Person(Protocol):
    """What the rules read of a staff member named on a row (``regions.models.User``)."""

    @property
    def id(self) -> int: ...


class Session(Protocol):
    """What the rules read of a session (``groups.models.Session``)."""

    @property
    def host_region_id(self) -> int | None: ...

    @property
    def lead_facilitator_id(self) -> int | None: ...

    @property
    def co_facilitators(self) -> Sequence[Person]: ...

    @property
    def group(self) -> RemoteGroup: ...


class Blackout(Protocol):
    """What the rules read of a region's blackout (``rotation.models.Blackout``)."""

    @property
    def region_id(self) -> int: ...

    @property
    def region(self) -> Region: ...

    @property
    def created_by_id(self) -> int | None: ...

    @property
    def waiting(self) -> bool: ...


class SwapRequest(Protocol):
    """What the rules read of a swap request (``rotation.models.SwapRequest``)."""

    @property
    def from_region_id(self) -> int: ...

    @property
    def to_region_id(self) -> int: ...

    @property
    def proposed_by_id(self) -> int | None: ...


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


def can_see_group(user: User, group: RemoteGroup) -> bool:
    """Everyone sees a published group; a draft only the staff who edit it (to check it
    before it is public). Anyone else is answered as if it did not exist (404)."""
    return group.published or (user.is_authenticated and can_edit_group(user, group))


def can_publish_group(user: User, group: RemoteGroup) -> bool:
    """Making a group public, or taking it back to draft, is its owner region's decision, as
    its structure is: admins and the organizing region's coordinators."""
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


def acts_for_region(user: User, region: Region) -> bool:
    """Who marks a region's dates and offers its sessions without anyone's approval: admins,
    the region's coordinators, and its facilitators if the region lets them act directly
    (``Region.facilitators_act_directly``)."""
    if coordinates_region(user, region.id):
        return True
    return (
        region.facilitators_act_directly
        and user.role == Role.facilitator
        and user.region_id == region.id
    )


def can_propose_for_region(user: User, region_id: int | None) -> bool:
    """A region's own staff (its coordinators and facilitators) propose the dates it cannot
    host; whether the proposal needs approval is ``acts_for_region``."""
    return (
        user.role in (Role.coordinator, Role.facilitator)
        and user.region_id is not None
        and user.region_id == region_id
    )


def can_edit_region_settings(user: User, region: Region) -> bool:
    """A region's own coordinators (and admins) choose how its staff work, such as whether
    facilitators act directly; the rest of the region (its names, web address) is the
    administrators' (``can_manage_regions_and_users``)."""
    return coordinates_region(user, region.id)


def can_offer_session(user: User, session: Session) -> bool:
    """Only the host region's coordinator offers its session to another region (a swap)."""
    return coordinates_region(user, session.host_region_id)


def can_propose_swap(user: User, session: Session) -> bool:
    """The host region's coordinators offer its session; its facilitators propose so too (sent
    on at once, or after a coordinator's approval: ``acts_for_region``)."""
    return can_offer_session(user, session) or can_propose_for_region(user, session.host_region_id)


def can_answer_swap(user: User, swap: SwapRequest) -> bool:
    """The asked region's coordinator accepts or declines a swap."""
    return coordinates_region(user, swap.to_region_id)


def can_approve_swap(user: User, swap: SwapRequest) -> bool:
    """A facilitator's swap proposal is approved (sent on) or declined by a coordinator of
    the region whose session it offers."""
    return coordinates_region(user, swap.from_region_id)


def can_withdraw_swap(user: User, swap: SwapRequest) -> bool:
    """The asking region's coordinator withdraws its own request; so does whoever proposed it."""
    return coordinates_region(user, swap.from_region_id) or (
        swap.proposed_by_id is not None and swap.proposed_by_id == user.id
    )


def can_approve_blackout(user: User, blackout: Blackout) -> bool:
    """A facilitator's proposed dates are approved or declined by the region's coordinator."""
    return coordinates_region(user, blackout.region_id)


def can_remove_blackout(user: User, blackout: Blackout) -> bool:
    """Whoever acts for the region manages the days it cannot host; a facilitator also takes
    back their own proposal while it waits."""
    return acts_for_region(user, blackout.region) or (
        blackout.waiting and blackout.created_by_id == user.id
    )


def can_replan_for_blackout(user: User, blackout: Blackout) -> bool:
    """Whoever may mark the region's dates directly plans the groups they touch again."""
    return acts_for_region(user, blackout.region)


def can_review_applications(user: User, group: RemoteGroup) -> bool:
    """The coordinators of the regions taking part in a course choose its participants
    together: they list its applications and decide on them (not administrators, not
    facilitators). Reading one application is ``can_read_application``."""
    return user.role == Role.coordinator and group.takes_part(user.region_id)


def can_decide_on_application(user: User, application: Application) -> bool:
    """An application is decided by the coordinators who review its course."""
    return can_review_applications(user, application.group)


def can_read_course_mail(user: User, group: RemoteGroup) -> bool:
    """The mail sent about a course (to whom, what, how it went) is read by the coordinators
    who decide on its applications, so they can see what a client was told, and by
    administrators, who look after the outbox."""
    return user.role == Role.admin or can_review_applications(user, group)


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


def can_run_session(user: User, session: Session) -> bool:
    """Who runs a session and keeps its record (attendance, materials, a note for the next
    facilitator): its lead and co-facilitators, the facilitators of the host region (one may
    stand in for another), and the coordinators of the regions taking part in the group. Not
    administrators: the page lists a course's participants by name."""
    if user.role == Role.admin:
        return False
    if user.id == session.lead_facilitator_id or any(
        person.id == user.id for person in session.co_facilitators
    ):
        return True
    if user.role == Role.facilitator:
        return user.region_id is not None and user.region_id == session.host_region_id
    return user.role == Role.coordinator and session.group.takes_part(user.region_id)


def can_see_shared_needs(user: User, session: Session) -> bool:
    """Who sees, on a session's page, the needs that participants agreed to share with the
    facilitators (health-related data, README "Who may read applications"): the session's
    lead facilitator, the facilitators of the host region and the coordinators of the regions
    taking part in the course. Not a co-facilitator from another region, not administrators.
    Needs an applicant did not agree to share are shown to nobody there (the coordinators read
    them on the application, ``can_read_application``)."""
    if user.role == Role.admin:
        return False
    if user.id == session.lead_facilitator_id:
        return True
    if user.role == Role.facilitator:
        return user.region_id is not None and user.region_id == session.host_region_id
    return user.role == Role.coordinator and session.group.takes_part(user.region_id)
