"""The staff home page: what is waiting for the logged-in staff member, each with a count and
a link (new applications per course, swap requests to answer, facilitators' proposals to
approve, invitations, turns without a lead, mail that failed), then their own sessions, their
region's turns and their groups.

It gathers from several domains, so it sits above them. The same count is shown on the
navigation of every staff page (``waiting_count``, computed at most once per request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Flask, g, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from remote_groups.applications.service.reviewing import undecided_by_course
from remote_groups.extensions import db
from remote_groups.formatting import current_locale
from remote_groups.groups import service as group_service
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.outbox.models import OutboxStatus
from remote_groups.outbox.queue import count_by_status
from remote_groups.regions.models import Role, User
from remote_groups.regions.permissions import can_edit_group, can_review_applications
from remote_groups.rotation import service as rotation
from remote_groups.types import utcnow

bp = Blueprint("staff_home", __name__, url_prefix="/staff")


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for the staff member: what it is (with its count) and where to act."""

    text: str
    count: int
    url: str


def waiting_for(user: User, now: datetime | None = None) -> list[Waiting]:
    """What waits for ``user`` now, most pressing first. Each item is a handful of rows found
    by an indexed count, whatever the size of the network."""
    now = now or utcnow()
    items: list[Waiting] = []
    region_id = user.region_id
    if user.role == Role.coordinator and region_id is not None:
        undecided = undecided_by_course(region_id)
        if undecided:
            courses = db.session.scalars(
                select(RemoteGroup)
                .options(selectinload(RemoteGroup.participations))
                .where(RemoteGroup.id.in_(undecided))
                .order_by(RemoteGroup.id)
            )
            locale = current_locale()
            for course in courses:
                if not can_review_applications(user, course):
                    continue
                count = undecided[course.id]
                items.append(
                    Waiting(
                        ngettext(
                            "%(num)d new application to %(course)s",
                            "%(num)d new applications to %(course)s",
                            count,
                            course=course.title(locale).text,
                        ),
                        count,
                        url_for("applications.review", slug=course.slug, status="submitted"),
                    )
                )
        if swaps := rotation.swaps_waiting_for(region_id):
            items.append(
                Waiting(
                    ngettext(
                        "%(num)d swap request to answer",
                        "%(num)d swap requests to answer",
                        len(swaps),
                    ),
                    len(swaps),
                    url_for("rotation.our_turns", _anchor="swaps"),
                )
            )
        if proposals := rotation.proposals_waiting_count(region_id):
            items.append(
                Waiting(
                    ngettext(
                        "%(num)d proposal of our facilitators to approve",
                        "%(num)d proposals of our facilitators to approve",
                        proposals,
                    ),
                    proposals,
                    url_for("rotation.our_turns", _anchor="proposals"),
                )
            )
        if invitations := group_service.pending_invitations_of(region_id):
            items.append(
                Waiting(
                    ngettext(
                        "%(num)d invitation to a group to answer",
                        "%(num)d invitations to groups to answer",
                        len(invitations),
                    ),
                    len(invitations),
                    url_for("staff_groups.invitations"),
                )
            )
    if user.role in (Role.coordinator, Role.facilitator) and region_id is not None:
        if unfilled := rotation.unfilled_turns(region_id, now, rotation.UNFILLED_WARNING_DAYS):
            items.append(
                Waiting(
                    ngettext(
                        "%(num)d turn of our region in the next two weeks has no lead",
                        "%(num)d turns of our region in the next two weeks have no lead",
                        len(unfilled),
                    ),
                    len(unfilled),
                    url_for("rotation.our_turns")
                    if user.role == Role.coordinator
                    else url_for("rotation.my_turns", _anchor="open"),
                )
            )
    if user.role == Role.admin:
        if failed := count_by_status()[OutboxStatus.failed]:
            items.append(
                Waiting(
                    ngettext(
                        "%(num)d message could not be sent",
                        "%(num)d messages could not be sent",
                        failed,
                    ),
                    failed,
                    url_for("outbox.outbox"),
                )
            )
    return items


def waiting_count() -> int:
    """The number on the navigation: all that waits for the logged-in staff member (once per
    request, however many times the layout asks)."""
    if not current_user.is_authenticated:
        return 0
    if "waiting_count" not in g:
        g.waiting_count = sum(item.count for item in waiting_for(current_user))
    return int(g.waiting_count)


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    waiting = waiting_for(current_user)
    g.waiting_count = sum(item.count for item in waiting)
    groups = [
        group
        for group in group_service.groups_for_listing(include_drafts=True)
        if can_edit_group(current_user, group)
    ]
    reviewable = {
        group.id
        for group in groups
        if group.kind == GroupKind.closed and can_review_applications(current_user, group)
    }
    region_id = current_user.region_id
    return render_template(
        "staff_home/home.html",
        waiting=waiting,
        my_sessions=rotation.sessions_of_facilitator(current_user),
        region_turns=rotation.region_turns(region_id) if region_id else [],
        groups=groups,
        reviewable=reviewable,
    )


def register(app: Flask) -> None:
    app.jinja_env.globals["waiting_count"] = waiting_count
