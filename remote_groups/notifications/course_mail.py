"""A course's decision mail and its sent-mail log, for the coordinators who decide on it.

The send page shows each unsent decision's mail as its applicant will read it (subject and
text, in the applicant's language) and sends them: when the application window closes, or now
on an explicit, confirmed choice. Either way the mail is held for the undo window
(``MAIL_UNDO_MINUTES``), during which the sending can be undone. The log lists what the outbox
holds about the course: to whom, what, of which kind, how it went (never a body, so never a
link with a token)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext
from sqlalchemy import or_, select

from remote_groups.applications.models import Application
from remote_groups.applications.service import sending
from remote_groups.extensions import db
from remote_groups.formatting import datetime_full
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.logs import redact_tokens
from remote_groups.notifications.applications import applicant_message
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.queue import undo_window
from remote_groups.regions.models import Role, User
from remote_groups.regions.permissions import (
    can_read_course_mail,
    can_review_applications,
    found,
    roles_required,
)
from remote_groups.security.input_limits import MAX_ID
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error

bp = Blueprint("course_mail", __name__)


def _course(slug: str, can: Callable[[User, RemoteGroup], bool]) -> RemoteGroup:
    """The closed course ``slug`` names (404 for none or an open group), if the logged-in
    user ``can`` (else 403)."""
    group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == slug))
    if group is not None and group.kind != GroupKind.closed:
        abort(404)
    return found(group, can=can)


@dataclass(frozen=True)
class Preview:
    application: Application
    subject: str
    text: str


def _previews(group: RemoteGroup) -> list[Preview]:
    """Each unsent decision's mail, rendered exactly as sending it will queue it, but for the
    tokens of its private links (the applicant's status page, their calendar feed): those are
    the applicant's keys, shown to nobody else, so the page shows "…" in their place."""
    previews = []
    for decision in sending.unsent_decisions(group.id):
        notice = sending.notice_of(decision)
        message = applicant_message(notice.application, notice.kind, notice.context)
        previews.append(Preview(notice.application, message.subject, redact_tokens(message.text)))
    return previews


@bp.get("/staff/courses/<slug>/decisions")
@roles_required(Role.coordinator)
def send_page(slug: str) -> ResponseReturnValue:
    group = _course(slug, can_review_applications)
    now = utcnow()
    held = sending.held_decisions(group.id, now)
    return render_template(
        "notifications/send_decisions.html",
        group=group,
        previews=_previews(group),
        held=held,
        held_until=max((d.told_at for d in held if d.told_at), default=None),
        window_open=sending.window_open(group, now),
        closes_at=sending.window_closes_at(group),
        undo_minutes=int(undo_window().total_seconds() // 60),
        form=ConfirmForm(),
    )


def _sent(result: tuple[int, datetime]) -> str:
    count, send_at = result
    return ngettext(
        "%(num)d message will go out %(when)s. Until then you can undo the sending.",
        "%(num)d messages will go out %(when)s. Until then you can undo the sending.",
        count,
        when=datetime_full(send_at),
    )


@bp.post("/staff/courses/<slug>/decisions/send")
@roles_required(Role.coordinator)
def send_at_close(slug: str) -> ResponseReturnValue:
    """Send when the application window closes (or now, with the undo window, if it has)."""
    group = _course(slug, can_review_applications)
    require_confirmation()
    commit_or_flash_error(lambda: sending.send_decisions(group, at_window_close=True), _sent)
    return redirect(url_for("course_mail.send_page", slug=slug))


@bp.route("/staff/courses/<slug>/decisions/send-now", methods=["GET", "POST"])
@roles_required(Role.coordinator)
def send_now(slug: str) -> ResponseReturnValue:
    """Send before the window closes: an explicit choice, asked once more on its own page."""
    group = _course(slug, can_review_applications)
    if request.method == "GET":
        return render_template(
            "notifications/confirm_mail_step.html",
            group=group,
            step="send_now",
            count=sending.unsent_count(group.id),
            undo_minutes=int(undo_window().total_seconds() // 60),
            form=ConfirmForm(),
        )
    require_confirmation()
    commit_or_flash_error(lambda: sending.send_decisions(group), _sent)
    return redirect(url_for("course_mail.send_page", slug=slug))


@bp.route("/staff/courses/<slug>/decisions/undo", methods=["GET", "POST"])
@roles_required(Role.coordinator)
def undo(slug: str) -> ResponseReturnValue:
    """Take the held decision mail back; the decisions are unsent again."""
    group = _course(slug, can_review_applications)
    if request.method == "GET":
        return render_template(
            "notifications/confirm_mail_step.html",
            group=group,
            step="undo",
            count=len(sending.held_decisions(group.id, utcnow())),
            undo_minutes=0,
            form=ConfirmForm(),
        )
    require_confirmation()
    commit_or_flash_error(
        lambda: sending.undo_sending(group),
        lambda count: ngettext(
            "The sending was undone: %(num)d message was taken back and the decision is not sent.",
            "The sending was undone: %(num)d messages were taken back and the decisions are"
            " not sent.",
            count,
        ),
    )
    return redirect(url_for("course_mail.send_page", slug=slug))


LOG_PAGE = 50


@dataclass(frozen=True)
class LoggedMessage:
    message: OutboxMessage
    name: str | None  # the applicant's or staff member's name, when known


def course_messages(
    group: RemoteGroup, before: int | None
) -> tuple[list[LoggedMessage], int | None]:
    """The messages about the course (its applications and its sessions), newest first, a page
    at a time by id; and the ``before`` of the next older page, if any."""
    about_course = or_(
        OutboxMessage.application_id.in_(
            select(Application.id).where(Application.group_id == group.id)
        ),
        OutboxMessage.session_id.in_(select(Session.id).where(Session.group_id == group.id)),
    )
    query = (
        select(OutboxMessage, Application.name)
        .outerjoin(Application, OutboxMessage.application_id == Application.id)
        .where(about_course)
        .order_by(OutboxMessage.id.desc())
        .limit(LOG_PAGE + 1)
    )
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    rows = db.session.execute(query).all()
    page = rows[:LOG_PAGE]
    staff = _staff_names({m.recipient.lower() for m, name in page if name is None})
    logged = [LoggedMessage(m, name or staff.get(m.recipient.lower())) for m, name in page]
    return logged, page[-1][0].id if len(rows) > LOG_PAGE else None


def _staff_names(addresses: set[str]) -> dict[str, str]:
    if not addresses:
        return {}
    users = db.session.execute(select(User.email, User.name).where(User.email.in_(addresses)))
    return {email.lower(): name for email, name in users}


@bp.get("/staff/courses/<slug>/mail")
@roles_required(Role.coordinator, Role.admin)
def course_log(slug: str) -> ResponseReturnValue:
    group = _course(slug, can_read_course_mail)
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    messages, older = course_messages(group, before)
    return render_template(
        "notifications/course_mail.html",
        group=group,
        messages=messages,
        older=older,
        now=utcnow(),
        can_review=can_review_applications,
    )
