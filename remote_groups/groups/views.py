"""Public group pages and the staff pages that create and edit groups and sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
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
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from remote_groups.extensions import db
from remote_groups.formatting import current_locale
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.groups import service
from remote_groups.groups.forms import CancelSessionForm, GroupForm, SessionForm
from remote_groups.groups.models import GroupInvitation, GroupKind, RemoteGroup, Session
from remote_groups.i18n import LANGUAGE_COOKIE, SUPPORTED
from remote_groups.regions import service as region_service
from remote_groups.regions.models import Role, User
from remote_groups.regions.permissions import (
    can_answer_invitation,
    can_change_group_structure,
    can_create_groups,
    can_edit_group,
    can_edit_session,
    can_review_applications,
    found,
    require,
    roles_required,
)
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error, safe_local_path

public_bp = Blueprint("groups", __name__)
staff_groups_bp = Blueprint("staff_groups", __name__, url_prefix="/staff")


def load_group_or_404(
    slug: str, can: Callable[[User, RemoteGroup], bool] | None = None
) -> RemoteGroup:
    """The group a URL names (else 404) that the logged-in user ``can`` act on (else 403)."""
    return found(service.group_by_slug(slug), can)


def load_session_or_404(
    session_id: int, can: Callable[[User, Session], bool] | None = None
) -> Session:
    """The session a URL names (else 404) that the logged-in user ``can`` act on (else 403)."""
    return found(db.session.get(Session, session_id), can)


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
    group = load_group_or_404(slug)
    now = utcnow()
    return render_template(
        "groups/detail.html",
        group=group,
        entries=service.upcoming_schedule(
            group, current_locale(), now, limit=current_app.config["SESSIONS_SHOWN_ON_GROUP_PAGE"]
        ),
        today=now.astimezone(group.zone).date(),  # the day in Helsinki, as the form judges it
        can_edit=current_user.is_authenticated and can_edit_group(current_user, group),
        can_review=current_user.is_authenticated
        and group.kind == GroupKind.closed
        and can_review_applications(current_user, group),
    )


# --- staff ---------------------------------------------------------------------------------


def _form_values(form: GroupForm) -> dict[str, Any]:
    return {name: form[name].data for name in service.GROUP_FIELDS}


def _save_group_from_form(form: GroupForm, group: RemoteGroup | None) -> RemoteGroup | int:
    """Save when the form is valid, else the status to answer with: a refusal's message goes
    beside its field (403 for one of authority, 422 for the rest)."""
    if not form.validate_on_submit():
        return 422 if form.errors else 200
    try:
        saved = service.save_group_as(
            current_user, group, _form_values(form), form.regions.data, form.owner_region.data
        )
        db.session.commit()
    except service.ServiceError as error:
        db.session.rollback()
        form[error.field or "slug"].errors = [*form[error.field or "slug"].errors, error.message]
        return 403 if isinstance(error, service.NotAllowed) else 422
    return saved


def _render_group_form(
    form: GroupForm, group: RemoteGroup | None, status: int
) -> ResponseReturnValue:
    """The group form. Fields the user may not change are shown disabled (a browser does not
    send them; ``_sent_with_structure`` puts the group's own values back)."""
    locked = group is not None and not can_change_group_structure(current_user, group)
    if locked:
        for name in service.STRUCTURE_FIELDS:
            form[name].render_kw = {**(form[name].render_kw or {}), "disabled": True}
    show_owner = current_user.is_admin or group is not None or bool(form.owner_region.errors)
    return render_template(
        "groups/edit.html",
        form=form,
        group=group,
        structure_locked=locked,
        show_owner=show_owner,
    ), status


def _sent_with_structure(group: RemoteGroup) -> MultiDict[str, Any]:
    """The sent form, with the group's own structure in place of the fields its disabled inputs
    left out. A structure field that was sent anyway stays, for ``save_group_as`` to refuse if
    it differs."""
    formdata = request.form.copy()
    for name, value in service.current_structure(group).items():
        if name not in formdata:
            formdata.setlist(name, value if isinstance(value, list) else [value])
    return formdata


@staff_groups_bp.route("/groups/new", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def new_group() -> ResponseReturnValue:
    require(can_create_groups(current_user))
    form = GroupForm(region_choices=region_service.region_choices(current_locale()))
    if request.method == "GET" and current_user.region:
        form.regions.data = [current_user.region.slug]
        form.owner_region.data = current_user.region.slug
    result = _save_group_from_form(form, None)
    if isinstance(result, RemoteGroup):
        flash(_("The group was created with %(count)d sessions.", count=len(result.sessions)))
        return redirect(url_for("groups.group_page", slug=result.slug))
    return _render_group_form(form, None, result)


@staff_groups_bp.route("/groups/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def edit_group(slug: str) -> ResponseReturnValue:
    group = load_group_or_404(slug, can=can_edit_group)
    # The model is only the starting point of an unsent form; a sent form stands on its own,
    # so a field missing from it is not read from the model (except the structure, for those
    # who may not change it: their form shows it disabled).
    choices = region_service.region_choices(current_locale())
    if request.method == "GET":
        form = GroupForm(obj=group, region_choices=choices)
        for name, value in service.current_structure(group).items():
            form[name].data = value
        form.rotation_policy.data = group.rotation_policy.value
    elif can_change_group_structure(current_user, group):
        form = GroupForm(region_choices=choices)
    else:
        form = GroupForm(formdata=_sent_with_structure(group), region_choices=choices)
    result = _save_group_from_form(form, group)
    if isinstance(result, RemoteGroup):
        flash(_("Changes saved. Future sessions follow the new schedule."))
        return redirect(url_for("groups.group_page", slug=result.slug))
    return _render_group_form(form, group, result)


@staff_groups_bp.get("/invitations")
@roles_required(Role.coordinator)
def invitations() -> ResponseReturnValue:
    """The groups the coordinator's region is invited to take part in."""
    return render_template(
        "groups/invitations.html",
        invitations=service.pending_invitations_of(current_user.region_id),
        confirm_form=ConfirmForm(),
    )


def load_invitation_or_404(invitation_id: int) -> GroupInvitation:
    """An invitation that the logged-in coordinator's region may answer (else 404 or 403)."""
    return found(db.session.get(GroupInvitation, invitation_id), can=can_answer_invitation)


# Accepting moves turns, so it goes through a preview with an effective date: the rotation
# package's ``accept_invitation`` page. Declining changes nothing but the invitation.
@staff_groups_bp.post("/invitations/<int:invitation_id>/decline")
@roles_required(Role.coordinator)
def decline_invitation(invitation_id: int) -> ResponseReturnValue:
    invitation = load_invitation_or_404(invitation_id)
    require_confirmation()
    commit_or_flash_error(
        lambda: service.answer_invitation(invitation, accept=False),
        _("The invitation was declined."),
    )
    return redirect(url_for("staff_groups.invitations"))


def _editable_session(session_id: int) -> Session:
    return load_session_or_404(session_id, can=can_edit_session)


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
    require_confirmation()
    commit_or_flash_error(lambda: service.restore_session(session), _("The session was restored."))
    return redirect(url_for("groups.group_page", slug=session.group.slug))


@staff_groups_bp.post("/groups/<slug>/regenerate")
@roles_required(Role.admin, Role.coordinator)
def regenerate(slug: str) -> ResponseReturnValue:
    group = load_group_or_404(slug, can=can_edit_group)
    require_confirmation()
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
