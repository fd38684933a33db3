"""Public group pages and the staff pages that create and edit groups and sessions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime, time
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from remote_groups.extensions import db
from remote_groups.formatting import (
    HELSINKI,
    current_locale,
    date_full,
    language_name,
    today_in_helsinki,
)
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.groups import service
from remote_groups.groups.forms import (
    AppliesFromForm,
    CancelSessionForm,
    GroupEditForm,
    JoinGroupsForm,
    SessionForm,
)
from remote_groups.groups.models import (
    GroupInvitation,
    GroupKind,
    Publication,
    RemoteGroup,
    Session,
)
from remote_groups.i18n import LANGUAGE_COOKIE, SUPPORTED
from remote_groups.regions import service as region_service
from remote_groups.regions.models import Region, Role, User
from remote_groups.regions.permissions import (
    can_answer_invitation,
    can_change_group_structure,
    can_create_groups,
    can_edit_group,
    can_edit_session,
    can_publish_group,
    can_review_applications,
    can_see_group,
    found,
    require,
    roles_required,
)
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error, safe_local_path

AppliesFromFormT = TypeVar("AppliesFromFormT", bound=AppliesFromForm)

public_bp = Blueprint("groups", __name__)
staff_groups_bp = Blueprint("staff_groups", __name__, url_prefix="/staff")


def load_group_or_404(
    slug: str, can: Callable[[User, RemoteGroup], bool] | None = None
) -> RemoteGroup:
    """The group a URL names (else 404) that the logged-in user ``can`` act on (else 403)."""
    return found(service.group_by_slug(slug), can)


def load_visible_group_or_404(slug: str) -> RemoteGroup:
    """A group's public pages: a published group, or a draft for the staff who edit it (they
    check it before it is public); for anyone else a draft does not exist (404)."""
    group = service.group_by_slug(slug)
    return found(group if group is not None and can_see_group(current_user, group) else None)


def load_public_group_or_404(slug: str) -> RemoteGroup:
    """A published group, for what clients do with one (apply, subscribe): nobody, staff
    included, acts on a draft as a client would, so a draft sends no client mail."""
    group = service.group_by_slug(slug)
    return found(group if group is not None and group.published else None)


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
    group = load_visible_group_or_404(slug)
    now = utcnow()
    return render_template(
        "groups/detail.html",
        group=group,
        entries=service.upcoming_schedule(
            group, current_locale(), now, limit=current_app.config["SESSIONS_SHOWN_ON_GROUP_PAGE"]
        ),
        today=now.astimezone(group.zone).date(),  # the day in Helsinki, as the form judges it
        can_edit=current_user.is_authenticated and can_edit_group(current_user, group),
        can_publish=current_user.is_authenticated and can_publish_group(current_user, group),
        can_review=current_user.is_authenticated
        and group.kind == GroupKind.closed
        and can_review_applications(current_user, group),
    )


# --- staff ---------------------------------------------------------------------------------


def _form_values(form: GroupEditForm) -> dict[str, Any]:
    return {name: form[name].data for name in service.GROUP_FIELDS}


class TurnPreview(NamedTuple):
    """What saving the form would do to the turns, found by saving it in a transaction that is
    then rolled back: the sessions whose host changes, whom that tells, and the first sessions
    from today with their hosts."""

    changes: list[service.TurnChange]
    told: dict[str, Any]
    first_sessions: list[Session]


FIRST_SESSIONS_SHOWN = 8


def _save_group_from_form(
    form: GroupEditForm, group: RemoteGroup | None, effective_from: datetime | None = None
) -> tuple[RemoteGroup | int, list[service.TurnChange]]:
    """Save in the open transaction (the caller commits or rolls back) when the form is
    valid, with the turns that saving moves; else the status to answer with, a refusal's
    message beside its field (403 for one of authority, 422 for the rest)."""
    if not form.validate_on_submit():
        return 422 if form.errors else 200, []
    current = [r.slug for r in group.regions] if group is not None else []
    regions = form.turn_order.ordered(form.regions.data, current)
    # A new group's first hosts are not news: nothing is announced for it.
    listening = service.turns_moved_in(group) if group else nullcontext([])
    try:
        with listening as moved:
            saved = service.save_group_as(
                current_user, group, _form_values(form), regions, form.owner_region.data,
                effective_from=effective_from,
            )  # fmt: skip
    except service.ServiceError as error:
        db.session.rollback()
        form[error.field or "slug"].errors = [*form[error.field or "slug"].errors, error.message]
        return 403 if isinstance(error, service.NotAllowed) else 422, []
    return saved, moved


def _effective_from(form: GroupEditForm, group: RemoteGroup | None) -> datetime | None:
    """The chosen "turns change from" day, as the first instant of it in the group's zone."""
    day = form.applies_from.data
    if day is None or form.applies_from.errors:
        return None
    return start_of(day, group.zone if group else HELSINKI)


def start_of(day: date, zone: ZoneInfo = HELSINKI) -> datetime:
    """The first instant of ``day`` in ``zone``: where a change of turns begins."""
    return datetime.combine(day, time(0), tzinfo=zone)


def applies_from_form(
    form_class: type[AppliesFromFormT],
    prepare: Callable[[AppliesFromFormT], None] | None = None,
    *,
    suggest_when_sent_without: bool = False,
) -> AppliesFromFormT:
    """The form naming the day a change of turns applies from, as this request sends it: a
    POST confirms the change (refused with 400 without a valid CSRF token), a GET is a look, a
    plain form without a token. A look's day is the suggested one (after the next two weeks)
    unless another is asked; so is a confirmation's that sends none, if
    ``suggest_when_sent_without``. ``prepare`` sets what the form needs before it is validated
    (its choices)."""
    posted = request.method == "POST"
    if posted:
        require_confirmation()
    asked = MultiDict(request.form if posted else request.args)
    if not posted or suggest_when_sent_without:
        suggested = service.suggested_effective_day(today_in_helsinki())
        asked.setdefault("applies_from", suggested.isoformat())
    form = form_class(formdata=asked, meta={"csrf": False})  # the token: require_confirmation
    if prepare is not None:
        prepare(form)
    return form


def _turn_preview(saved: RemoteGroup, moved: list[service.TurnChange]) -> TurnPreview:
    now = utcnow()
    upcoming = sorted(
        (s for s in saved.sessions if not s.cancelled and s.starts_at > now),
        key=lambda s: s.starts_at,
    )
    return TurnPreview(moved, service.who_is_told(moved), upcoming[:FIRST_SESSIONS_SHOWN])


def _submit_group_form(form: GroupEditForm, group: RemoteGroup | None) -> ResponseReturnValue:
    """Save the group form, unless saving would move turns already given and the coordinator
    has not yet chosen from which day: then nothing is saved and the form comes back with a
    preview (sessions by date, host before and after, who is told) and an "applies from" day,
    suggested after the sessions already announced. The "preview" button shows it at any
    time, even for a new group; "apply" saves with the day chosen. Whatever a preview
    computed is rolled back."""
    action = request.form.get("turns")
    suggested = service.suggested_effective_day(today_in_helsinki())
    if action == "preview" and form.applies_from.data is None:
        form.applies_from.data = suggested
    if action == "apply" and form.applies_from.data is None:
        form.validate_on_submit()
        form.applies_from.errors = [*form.applies_from.errors, _("Choose a day.")]
        return _render_group_form(form, group, 422)
    result, moved = _save_group_from_form(form, group, _effective_from(form, group))
    if not isinstance(result, RemoteGroup):
        return _render_group_form(form, group, result)
    if action is None and moved:
        # Saving would move turns: nothing is saved; the preview shows what saving does
        # from the suggested day, not from today.
        db.session.rollback()
        form.applies_from.data = suggested
        result, moved = _save_group_from_form(form, group, _effective_from(form, group))
        if not isinstance(result, RemoteGroup):
            return _render_group_form(form, group, result)
        action = "preview"
    if action == "preview":
        page = _render_group_form(form, group, 200, preview=_turn_preview(result, moved))
        db.session.rollback()  # the preview saved in the transaction; a look changes nothing
        return page
    db.session.commit()
    if group is None:
        # A new group is a draft (``Publication``), published on its own page.
        flash(
            _(
                "The group was created as a draft with %(count)d sessions. Only staff see it"
                " until it is published.",
                count=len(result.sessions),
            )
        )
    elif moved:
        day = date_full(form.applies_from.data)
        flash(_("Saved. The turns change from %(day)s; those they concern are told.", day=day))
    else:
        flash(_("Changes saved. Future sessions follow the new schedule."))
    warn_of_missing_texts(result)
    return redirect(url_for("groups.group_page", slug=result.slug))


def warn_of_missing_texts(group: RemoteGroup) -> None:
    """Saved with a language's texts missing: say which, since its pages show another
    language's text instead (marked for the reader, but a Swedish reader gets Finnish)."""
    missing = group.missing_languages()
    if missing:
        flash(
            _(
                "Some texts are missing in: %(languages)s. Pages in these languages show the"
                " text in another language until you add them.",
                languages=", ".join(language_name(code) for code in missing),
            ),
            "warning",
        )


# The marker of a language whose texts a group lacks, on its staff pages.
MISSING_TEXTS = {
    "fi": _l("Finnish text missing"),
    "sv": _l("Swedish text missing"),
    "en": _l("English text missing"),
}


@staff_groups_bp.app_template_global()
def missing_text_label(code: str) -> str:
    return str(MISSING_TEXTS[code])


def _render_group_form(
    form: GroupEditForm, group: RemoteGroup | None, status: int, preview: TurnPreview | None = None
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
        preview=preview,
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
    form = GroupEditForm(region_choices=region_service.region_choices(current_locale()))
    if request.method == "GET":
        if current_user.region:
            form.regions.data = [current_user.region.slug]
            form.owner_region.data = current_user.region.slug
        return _render_group_form(form, None, 200)
    return _submit_group_form(form, None)


@staff_groups_bp.route("/groups/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def edit_group(slug: str) -> ResponseReturnValue:
    group = load_group_or_404(slug, can=can_edit_group)
    # The model is only the starting point of an unsent form; a sent form stands on its own,
    # so a field missing from it is not read from the model (except the structure, for those
    # who may not change it: their form shows it disabled).
    choices = region_service.region_choices(current_locale())
    if request.method == "GET":
        form = GroupEditForm(obj=group, region_choices=choices)
        for name, value in service.current_structure(group).items():
            form[name].data = value
        form.rotation_policy.data = group.rotation_policy.value
        form.turn_order.data = {r.slug: place for place, r in enumerate(group.regions, 1)}
        return _render_group_form(form, group, 200)
    if can_change_group_structure(current_user, group):
        form = GroupEditForm(region_choices=choices)
    else:
        form = GroupEditForm(formdata=_sent_with_structure(group), region_choices=choices)
    return _submit_group_form(form, group)


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


def _schedule_report(report: service.RegenerationReport) -> str:
    return _(
        "Schedule updated: %(created)d new, %(moved)d moved, %(removed)d removed, "
        "%(kept)d kept as they were.",
        created=len(report.created),
        moved=len(report.moved),
        removed=len(report.removed),
        kept=len(report.kept),
    )


@staff_groups_bp.route("/groups/<slug>/regenerate", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def regenerate(slug: str) -> ResponseReturnValue:
    """Bring the sessions in line with the weekly schedule (new holidays, a changed term).
    That can move turns, so first a look: the sessions added, moved and removed, and every
    session whose host would change from the day chosen (suggested: after the next two
    weeks), with who is told; then the same, done."""
    group = load_group_or_404(slug, can=can_edit_group)
    form = applies_from_form(AppliesFromForm, suggest_when_sent_without=True)
    effective_from = start_of(form.applies_from.data, group.zone) if form.validate() else None
    if request.method == "POST" and effective_from is not None:
        commit_or_flash_error(
            lambda: service.regenerate_sessions(group, effective_from=effective_from),
            _schedule_report,
        )
        return redirect(url_for("groups.group_page", slug=group.slug))
    moved: list[service.TurnChange] = []
    report = service.RegenerationReport()
    if effective_from is not None:
        try:
            with service.turns_moved_in(group) as moved:
                report = service.regenerate_sessions(group, effective_from=effective_from)
        except service.ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(url_for("groups.group_page", slug=group.slug))
    page = render_template(
        "groups/regenerate.html",
        group=group,
        form=form,
        report=report,
        changes=moved,
        told=service.who_is_told(moved),
        confirm_form=ConfirmForm(),  # the look's form has no token; updating needs one
    )
    db.session.rollback()  # the look updated the rows in the transaction; it changes nothing
    return page, 422 if form.errors else 200


# --- a region joins groups ----------------------------------------------------------------


@staff_groups_bp.route("/regions/<slug>/groups", methods=["GET", "POST"])
@roles_required(Role.admin)
def join_groups(slug: str) -> ResponseReturnValue:
    """An administrator brings a region (typically a new one) into the groups they choose in
    one step, instead of editing each group: first a look at every session whose host would
    change, group by group, and who would be told, from the day chosen; then the same, done."""
    region = found(db.session.scalar(select(Region).where(Region.slug == slug)))
    open_groups = service.groups_to_join(region, today_in_helsinki())
    choices = [(g.slug, g.title(current_locale()).text) for g in open_groups]
    form = applies_from_form(JoinGroupsForm, lambda form: setattr(form.groups, "choices", choices))
    first_look = request.method == "GET" and not request.args.getlist("groups")
    valid = form.validate() and not first_look
    if first_look:
        form.groups.errors = []  # nothing chosen yet is no mistake
    chosen = [g for g in open_groups if g.slug in (form.groups.data or [])] if valid else []
    effective_from = start_of(form.applies_from.data) if valid else None
    if request.method == "POST" and effective_from is not None:
        region_name = region.name(current_locale()).text
        commit_or_flash_error(
            lambda: service.join_groups(region, chosen, effective_from),
            _("%(region)s now takes part in the groups chosen.", region=region_name),
        )
        return redirect(url_for("staff.regions"))
    moved: list[tuple[RemoteGroup, list[service.TurnChange]]] = []
    if effective_from is not None:
        for group in chosen:
            with service.turns_moved_in(group) as found_here:
                service.join_groups(region, [group], effective_from)
            moved.append((group, found_here))
    every_change = [change for _group, changes in moved for change in changes]
    page = render_template(
        "groups/join_groups.html",
        region=region,
        form=form,
        moved=moved,
        told=service.who_is_told(every_change),
        looked=effective_from is not None,
        confirm_form=ConfirmForm(),  # the look's form has no token; joining needs one
    )
    db.session.rollback()  # the preview joined in the transaction; a look changes nothing
    return page, 422 if form.errors else 200


# --- publication: a draft is made public, or taken back, on a page that says what follows --


def _publication_page(slug: str, publication: Publication) -> ResponseReturnValue:
    """Ask first (GET: what changes, and which texts are missing), then do it (POST)."""
    group = load_group_or_404(slug, can=can_publish_group)
    form = ConfirmForm()
    if form.validate_on_submit():
        done = (
            _("The group is public now.")
            if publication == Publication.published
            else _("The group is a draft again. Only staff see it.")
        )
        commit_or_flash_error(lambda: service.set_publication(group, publication), done)
        return redirect(url_for("groups.group_page", slug=group.slug))
    if request.method == "POST":
        abort(400)
    return render_template(
        "groups/publication.html",
        group=group,
        form=form,
        publishing=publication == Publication.published,
        missing=[language_name(code) for code in group.missing_languages()],
    )


@staff_groups_bp.route("/groups/<slug>/publish", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def publish_group(slug: str) -> ResponseReturnValue:
    return _publication_page(slug, Publication.published)


@staff_groups_bp.route("/groups/<slug>/unpublish", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def unpublish_group(slug: str) -> ResponseReturnValue:
    return _publication_page(slug, Publication.draft)
