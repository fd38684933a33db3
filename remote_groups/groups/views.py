"""Public group pages and the staff pages that create and edit groups and sessions."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from remote_groups import LANGUAGE_COOKIE
from remote_groups.extensions import db
from remote_groups.formatting import current_locale
from remote_groups.groups import service
from remote_groups.groups.forms import CancelSessionForm, ConfirmForm, GroupForm, SessionForm
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.i18n import SUPPORTED
from remote_groups.regions import service as region_service
from remote_groups.regions.models import Role
from remote_groups.regions.permissions import (
    can_create_groups,
    can_edit_group,
    can_edit_session,
    require,
    roles_required,
)
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error, safe_local_path

public_bp = Blueprint("groups", __name__)
staff_groups_bp = Blueprint("staff_groups", __name__, url_prefix="/staff")


@public_bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("groups/home.html", groups=service.groups_for_listing())


@public_bp.get("/language/<code>")
def choose_language(code: str) -> Response:
    """Remember the visitor's language in a cookie; a plain link, so it works without JS."""
    response = redirect(safe_local_path(request.args.get("next"), url_for("groups.home")))
    if code in SUPPORTED:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@public_bp.get("/groups")
def group_list() -> ResponseReturnValue:
    kind = request.args.get("kind") if request.args.get("kind") in ("open", "closed") else None
    language = request.args.get("language")
    language = language if language in ("fi", "sv") else None
    return render_template(
        "groups/list.html",
        groups=service.groups_for_listing(kind, language),
        kind=kind,
        language=language,
    )


@public_bp.get("/groups/<slug>")
def group_page(slug: str) -> ResponseReturnValue:
    group = service.group_by_slug(slug) or abort(404)
    now = utcnow()
    return render_template(
        "groups/detail.html",
        group=group,
        entries=service.upcoming_schedule(group, current_locale(), now, limit=12),
        today=now.astimezone(group.zone).date(),  # the day in Helsinki, as the form judges it
        can_edit=current_user.is_authenticated and can_edit_group(current_user, group),
    )


# --- staff ---------------------------------------------------------------------------------


def _form_values(form: GroupForm) -> dict[str, Any]:
    return {name: form[name].data for name in service.GROUP_FIELDS}


def _save_group_from_form(form: GroupForm, group: RemoteGroup | None) -> RemoteGroup | None:
    """Save when the form is valid; on a refusal, put the message beside its field."""
    if not form.validate_on_submit():
        return None
    if current_user.role == Role.admin:
        owner_slug = form.owner_region.data or form.regions.data[0]
    elif group is not None:
        owner_slug = group.owner_region.slug
    else:
        owner_slug = current_user.region.slug
    try:
        regions = service.regions_by_slug(form.regions.data)
        owner = service.regions_by_slug([owner_slug])[0]
        saved = service.save_group(group, _form_values(form), regions, owner)
        db.session.commit()
    except service.ServiceError as error:
        db.session.rollback()
        form[error.field or "slug"].errors = [*form[error.field or "slug"].errors, error.message]
        return None
    return saved


@staff_groups_bp.route("/groups/new", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def new_group() -> ResponseReturnValue:
    require(can_create_groups(current_user))
    form = GroupForm(region_choices=region_service.region_choices(current_locale()))
    if request.method == "GET" and current_user.region:
        form.regions.data = [current_user.region.slug]
        form.owner_region.data = current_user.region.slug
    group = _save_group_from_form(form, None)
    if group:
        flash(_("The group was created with %(count)d sessions.", count=len(group.sessions)))
        return redirect(url_for("groups.group_page", slug=group.slug))
    return render_template("groups/edit.html", form=form, group=None), 422 if form.errors else 200


@staff_groups_bp.route("/groups/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def edit_group(slug: str) -> ResponseReturnValue:
    group = service.group_by_slug(slug) or abort(404)
    require(can_edit_group(current_user, group))
    # The model is only the starting point of an unsent form; a sent form stands on its own,
    # so a field missing from it (owner region, for coordinators) is not read from the model.
    form = GroupForm(
        obj=group if request.method == "GET" else None,
        region_choices=region_service.region_choices(current_locale()),
    )
    if request.method == "GET":
        form.regions.data = [r.slug for r in group.regions]
        form.owner_region.data = group.owner_region.slug
        form.kind.data = group.kind.value
        form.rotation_policy.data = group.rotation_policy.value
    saved = _save_group_from_form(form, group)
    if saved:
        flash(_("Changes saved. Future sessions follow the new schedule."))
        return redirect(url_for("groups.group_page", slug=saved.slug))
    status = 422 if form.errors else 200
    return render_template("groups/edit.html", form=form, group=group), status


def _editable_session(session_id: int) -> Session:
    session = db.session.get(Session, session_id) or abort(404)
    require(can_edit_session(current_user, session))
    return session


def _session_form(session: Session) -> SessionForm:
    local_start = session.starts_at.astimezone(session.group.zone)
    return SessionForm(
        day=local_start.date(),
        start_time=local_start.time(),
        duration_minutes=int((session.ends_at - session.starts_at).total_seconds() // 60),
        topic=session.topic,
        locked=session.locked,
    )


def _render_session_page(
    session: Session, form: SessionForm, cancel_form: CancelSessionForm
) -> ResponseReturnValue:
    status = 422 if form.errors or cancel_form.errors else 200
    return render_template(
        "groups/session_edit.html",
        session=session,
        form=form,
        cancel_form=cancel_form,
        restore_form=ConfirmForm(),
    ), status


@staff_groups_bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def edit_session(session_id: int) -> ResponseReturnValue:
    session = _editable_session(session_id)
    form = _session_form(session)
    cancel_form = CancelSessionForm(prefix="cancel", formdata=None)
    if form.validate_on_submit():
        try:
            service.move_session(
                session,
                form.day.data,
                form.start_time.data,
                form.duration_minutes.data,
                topic=form.topic.data,
                locked=form.locked.data,
                reason=form.reason.data,
            )
            db.session.commit()
        except service.ServiceError as error:
            db.session.rollback()
            form[error.field or "day"].errors = [error.message]
        else:
            flash(_("The session was saved."))
            return redirect(url_for("groups.group_page", slug=session.group.slug))
    return _render_session_page(session, form, cancel_form)


@staff_groups_bp.post("/sessions/<int:session_id>/cancel")
@roles_required(Role.admin, Role.coordinator)
def cancel_session(session_id: int) -> ResponseReturnValue:
    session = _editable_session(session_id)
    cancel_form = CancelSessionForm(prefix="cancel")
    if cancel_form.validate_on_submit():
        try:
            service.cancel_session(session, cancel_form.reason.data)
            db.session.commit()
        except service.ServiceError as error:
            db.session.rollback()
            cancel_form.reason.errors = [error.message]
        else:
            flash(_("The session was cancelled. You can restore it from the same page."))
            return redirect(url_for("groups.group_page", slug=session.group.slug))
    return _render_session_page(session, _session_form(session), cancel_form)


@staff_groups_bp.post("/sessions/<int:session_id>/restore")
@roles_required(Role.admin, Role.coordinator)
def restore_session(session_id: int) -> ResponseReturnValue:
    session = _editable_session(session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_flash_error(lambda: service.restore_session(session), _("The session was restored."))
    return redirect(url_for("groups.group_page", slug=session.group.slug))


@staff_groups_bp.post("/groups/<slug>/regenerate")
@roles_required(Role.admin, Role.coordinator)
def regenerate(slug: str) -> ResponseReturnValue:
    group = service.group_by_slug(slug) or abort(404)
    require(can_edit_group(current_user, group))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_flash_error(
        lambda: service.regenerate_sessions(group),
        lambda report: _(
            "Schedule updated: %(created)d new, %(moved)d moved, %(removed)d removed, "
            "%(kept)d kept as they were.",
            created=len(report.created),
            moved=len(report.moved),
            removed=len(report.removed),
            kept=len(report.kept),
        ),
    )
    return redirect(url_for("groups.group_page", slug=group.slug))
