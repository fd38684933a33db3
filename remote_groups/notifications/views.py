"""The administrators' outbox page: counts by status, the messages that failed or wait for
a retry (and sending one again), and the recent messages: to whom, what, when, how it went
(a message still in its undo window says until when it is held)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.queue import count_by_status
from remote_groups.regions.models import Role
from remote_groups.regions.permissions import found, roles_required
from remote_groups.security.input_limits import MAX_ID
from remote_groups.types import utcnow

bp = Blueprint("outbox", __name__)


@bp.get("/staff/outbox")
@roles_required(Role.admin)
def outbox() -> ResponseReturnValue:
    return _outbox_page()


def _outbox_page(code: int = 200) -> ResponseReturnValue:
    counts = count_by_status()
    problems = db.session.scalars(
        select(OutboxMessage)
        .where(
            (OutboxMessage.status == OutboxStatus.failed)
            | ((OutboxMessage.status == OutboxStatus.pending) & (OutboxMessage.attempts > 0))
        )
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    )
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None  # no such page: the newest one
    recent, older = _recent_messages(before)
    return render_template(
        "outbox/outbox.html",
        counts=counts,
        problems=list(problems),
        recent=recent,
        older=older,
        form=ConfirmForm(),
        now=utcnow(),
    ), code


RECENT_PAGE = 50


def _recent_messages(before: int | None) -> tuple[list[OutboxMessage], int | None]:
    """The newest messages (older ones a page at a time, by id): what was sent to whom and
    when. Returns the page and the ``before`` of the next older page, if any."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(RECENT_PAGE + 1)
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    rows = list(db.session.scalars(query))
    page = rows[:RECENT_PAGE]
    return page, page[-1].id if len(rows) > RECENT_PAGE else None


@bp.post("/staff/outbox/<int:message_id>/resend")
@roles_required(Role.admin)
def resend(message_id: int) -> ResponseReturnValue:
    require_confirmation()
    row = found(db.session.get(OutboxMessage, message_id))
    if not row.resendable:
        flash(
            _(
                "Only a message that has not been delivered can be sent again; this one was "
                "sent, expired or removed by the retention rule."
            ),
            "error",
        )
        return _outbox_page(409)
    if row.expires_at is not None and row.expires_at <= utcnow():
        flash(
            _(
                "This message is too late to send: what it was about (a session, a link) has"
                " already begun or expired."
            ),
            "error",
        )
        return _outbox_page(409)
    # Its expiry stays: a reminder sent again is still never sent after its session began.
    row.status, row.attempts, row.next_attempt_at = OutboxStatus.pending, 0, utcnow()
    db.session.commit()
    flash(_("The message will be sent again."))
    return redirect(url_for("outbox.outbox"))
