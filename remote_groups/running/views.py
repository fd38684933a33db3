"""The session's page for the people who run it: the participants (and the needs they agreed
to share), attendance, the links shared, the note for the next facilitator, and what the
previous session's facilitator left for this one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from remote_groups.extensions import db
from remote_groups.formatting import current_locale
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.groups.views import load_session_or_404
from remote_groups.regions.permissions import can_run_session, can_see_shared_needs
from remote_groups.running import service
from remote_groups.running.forms import ABSENT, BLANK_MATERIAL_ROWS, PRESENT, record_form
from remote_groups.running.models import MAX_MATERIALS
from remote_groups.service import ServiceError

bp = Blueprint("running", __name__, url_prefix="/staff")


@bp.after_request
def no_store(response: Response) -> Response:
    """The page may hold participants' names and needs: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _initial_data(session: Session, marks: dict[int, bool], counts: dict[int, int]) -> dict:
    materials = [{"title": m.title, "url": m.url} for m in service.materials_of(session)]
    blanks = max(0, min(BLANK_MATERIAL_ROWS, MAX_MATERIALS - len(materials)))
    note = service.note_of(session)
    data: dict[str, Any] = {
        "materials": materials + [{"title": "", "url": ""}] * blanks,
        "note": note.text if note else "",
    }
    data.update({f"present_{pid}": PRESENT if p else ABSENT for pid, p in marks.items()})
    data.update({f"count_{rid}": str(count) for rid, count in counts.items()})
    return data


@bp.route("/sessions/<int:session_id>/running", methods=["GET", "POST"])
@login_required
def run_session(session_id: int) -> ResponseReturnValue:
    session = load_session_or_404(session_id, can=can_run_session)
    group = session.group
    course = group.kind == GroupKind.closed
    locale = current_locale()
    participants = service.participants_of(group.id) if course else []
    regions = [] if course else service.regions_for_counting(group)
    marks, counts = service.marks_of(session), service.counts_of(session)
    marks_open = service.attendance_can_be_marked(session)
    kwargs: dict[str, Any] = {}
    if request.method == "GET":
        kwargs["data"] = _initial_data(session, marks, counts)
    form = record_form(
        participants,
        [(region, region.name(locale).text) for region in regions],
        marks_open=marks_open,
        **kwargs,
    )
    status = 200
    if form.validate_on_submit():
        try:
            service.save_record(session, current_user, form.record())
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            status = 422
        else:
            flash(_("Saved. Thank you!"))
            return redirect(url_for("running.run_session", session_id=session.id))
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    needs = (
        service.shared_needs(participants)
        if course and can_see_shared_needs(current_user, session)
        else {}
    )
    previous = service.previous_session(session)
    return render_template(
        "running/session.html",
        session=session,
        group=group,
        course=course,
        participants=participants,
        needs=needs,
        form=form,
        marks_open=marks_open,
        previous=previous,
        previous_note=service.note_of(previous) if previous else None,
        previous_materials=service.materials_of(previous) if previous else [],
    ), status


@bp.app_template_global()
def sessions_to_run(group: RemoteGroup) -> list[Session]:
    """For the group's page: its last and next session, those the logged-in person runs."""
    if not current_user.is_authenticated:
        return []
    return [s for s in service.last_and_next(group) if can_run_session(current_user, s)]


@bp.app_template_global()
def recent_sessions_led() -> list[Session]:
    """For "My turns": the sessions the logged-in person led lately, whose attendance is
    marked after them."""
    if not current_user.is_authenticated:
        return []
    return service.recent_sessions_of(current_user)
