"""Staff login and accounts, and the administrators' region and user pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from remote_groups.extensions import db, login_manager
from remote_groups.formatting import current_locale
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.regions import access_links, logins, service
from remote_groups.regions.forms import (
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    RegionForm,
    RegionSettingsForm,
    UserForm,
)
from remote_groups.regions.models import Region, Role, StaffLinkPurpose, User
from remote_groups.regions.permissions import (
    can_edit_region_settings,
    can_manage_regions_and_users,
    found,
    roles_required,
)
from remote_groups.security import throttle
from remote_groups.security.web import rate_limited
from remote_groups.service import ServiceError
from remote_groups.web import commit_or_flash_error, safe_local_path

bp = Blueprint("staff", __name__, url_prefix="/staff")

login_manager.login_view = "staff.login"
login_manager.login_message = None
bp.before_app_request(logins.staff_session_rules)


def _locked_message(seconds: int) -> str:
    minutes = throttle.minutes_to_wait(seconds)
    return ngettext(
        "There have been too many failed logins with this email. Logging in with it is locked"
        " for %(num)d minute.",
        "There have been too many failed logins with this email. Logging in with it is locked"
        " for %(num)d minutes.",
        minutes,
    )


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login", "RATE_LIMIT_LOGIN")
def login() -> ResponseReturnValue:
    """Log in; after LOGIN_LOCKOUT_AFTER failures from one address the email is locked there,
    with a growing wait, and while locked even the right password is refused (and not
    checked). Other addresses are not locked by them (see ``throttle.login_locked_for``)."""
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data
        address = request.remote_addr or "-"
        locked = throttle.login_locked_for(email, address)
        if locked is None:
            user = service.authenticate(email, form.password.data)
            if user is not None:
                throttle.login_succeeded(email, address)
                db.session.commit()
                logins.start_login(user)
                if user.password_must_change:
                    flash(_("Please choose your own password before you go on."))
                    return redirect(url_for("staff.account"))
                return redirect(
                    safe_local_path(request.args.get("next"), url_for("staff_home.home"))
                )
            form.password.errors.append(_("The email or the password is wrong."))
            locked = throttle.login_failed(email, address)
        if locked is not None:
            form.password.errors.append(_locked_message(locked))
            page = render_template("regions/login.html", form=form)
            return page, 429, {"Retry-After": str(locked)}
    return render_template("regions/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Log out on every device: the user's session version goes up, so no copy of any of
    their session cookies works any more (a cookie lives in the browser, and only this tells
    a copied one from the real one)."""
    require_confirmation()
    current_user.end_sessions()
    db.session.commit()
    logins.end_login()
    flash(_("You have logged out."))
    return redirect(url_for("groups.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    """The staff member's own account: who they are, and their own new password."""
    form = PasswordChangeForm()
    user: User = current_user._get_current_object()
    address = request.remote_addr or "-"
    if form.validate_on_submit():
        # Guessing the current password here is guessing a password: it counts, and locks,
        # as at the login.
        locked = throttle.login_locked_for(user.email, address)
        if locked is None:
            try:
                service.change_own_password(
                    user, form.current_password.data, form.new_password.data
                )
            except ServiceError as error:
                db.session.rollback()
                form[error.field or "new_password"].errors.append(error.message)
                if error.field == "current_password":
                    locked = throttle.login_failed(user.email, address)
            else:
                throttle.login_succeeded(user.email, address)
                db.session.commit()
                logins.start_login(user)  # this browser stays in, with the new session version
                flash(_("Your password was changed. Your other logins have ended."))
                return redirect(url_for("staff_home.home"))
        if locked is not None:
            form.current_password.errors.append(_locked_message(locked))
            page = render_template("regions/account.html", form=form)
            return page, 429, {"Retry-After": str(locked)}
    status = 422 if form.errors else 200
    return render_template("regions/account.html", form=form), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limited("login", "RATE_LIMIT_LOGIN")
def forgot_password() -> ResponseReturnValue:
    """Ask for a link to choose a new password. The answer is the same for every address, so
    it tells nobody whether an address has an account (``service.request_password_reset``)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        db.session.commit()
        return render_template(
            "regions/forgot_password_sent.html",
            email=form.email.data,
            link_hours=access_links.LINK_HOURS,
        )
    status = 422 if form.errors else 200
    return render_template("regions/forgot_password.html", form=form), status


@bp.route("/access/<token>", methods=["GET", "POST"])
@rate_limited("login", "RATE_LIMIT_LOGIN")
def access_link(token: str) -> ResponseReturnValue:
    """The mailed single-use link (an invitation or a password reset): choose a password.
    An unknown, used or expired link gets a page that says so and where to ask for a new one.
    The token is in the path: the logs redact it, and no Referer carries it on."""
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    link = access_links.open_link(token)
    if link is None:
        page = render_template(
            "regions/access_link_closed.html", link_hours=access_links.LINK_HOURS
        )
        return page, 404, headers
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            access_links.use_link(link, form.new_password.data)
        except ServiceError as error:
            db.session.rollback()
            form.new_password.errors.append(error.message)
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logins.end_login()  # whoever was logged in here, the sessions just ended
            flash(_("Your password is set. Log in with it."))
            return redirect(url_for("staff.login"))
    status = 422 if form.errors else 200
    page = render_template("regions/access_link.html", form=form, link=link)
    return page, status, headers


# --- administrators: regions and users ---------------------------------------------------


@bp.get("/regions")
@roles_required(Role.admin)
def regions() -> ResponseReturnValue:
    return render_template(
        "regions/regions.html", regions=db.session.scalars(select(Region).order_by(Region.slug))
    )


@bp.route("/regions/new", methods=["GET", "POST"])
@bp.route("/regions/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.admin, Role.coordinator)
def edit_region(slug: str | None = None) -> ResponseReturnValue:
    """Administrators edit the whole region; its own coordinators, its settings only
    (``can_edit_region_settings``)."""
    region = None
    if slug:
        region = found(
            db.session.scalar(select(Region).where(Region.slug == slug)),
            can=can_edit_region_settings,
        )
    full = can_manage_regions_and_users(current_user)
    if not full and region is None:
        abort(403)
    form = RegionForm(obj=region) if full else RegionSettingsForm(obj=region)
    if form.validate_on_submit():
        try:
            if full:
                saved = service.save_region(region, form.data)
            else:
                service.save_region_settings(region, form.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "slug"].errors.append(error.message)
        else:
            flash(_("The region was saved."))
            if full and region is None:  # a new region: next, the groups it joins
                return redirect(url_for("staff_groups.join_groups", slug=saved.slug))
            return redirect(url_for("staff.regions" if full else "rotation.our_turns"))
    status = 422 if form.errors else 200
    page = render_template("regions/region_edit.html", form=form, region=region, full=full)
    return page, status


@bp.get("/users")
@roles_required(Role.admin)
def users() -> ResponseReturnValue:
    return render_template(
        "regions/users.html",
        users=db.session.scalars(select(User).order_by(User.email)),
    )


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@roles_required(Role.admin)
def deactivate_user(user_id: int) -> ResponseReturnValue:
    """Ask first (GET), then deactivate (POST): the user is logged out everywhere, cannot log
    in, and their calendar links stop working. Reactivating undoes all but the links."""
    user = found(db.session.get(User, user_id))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.deactivate_user(user, by=current_user)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            page = render_template(
                "regions/user_deactivate.html", form=form, user=user, error=error.message
            )
            return page, 409
        flash(_("%(name)s was deactivated.", name=user.name))
        return redirect(url_for("staff.users"))
    if request.method == "POST":
        abort(400)
    return render_template("regions/user_deactivate.html", form=form, user=user, error=None)


@bp.post("/users/<int:user_id>/reactivate")
@roles_required(Role.admin)
def reactivate_user(user_id: int) -> ResponseReturnValue:
    user = found(db.session.get(User, user_id))
    require_confirmation()
    service.reactivate_user(user)
    db.session.commit()
    flash(_("%(name)s can log in again.", name=user.name))
    return redirect(url_for("staff.users"))


@bp.post("/users/<int:user_id>/send-link")
@roles_required(Role.admin)
def send_access_link(user_id: int) -> ResponseReturnValue:
    """Mail the user a new link to choose their password (the invitation again, if they never
    used it). Their password stays as it is until they use the link."""
    user = found(db.session.get(User, user_id))
    require_confirmation()
    commit_or_flash_error(
        lambda: service.send_access_link(user),
        lambda purpose: (
            _("A new invitation was sent to %(email)s.", email=user.email)
            if purpose == StaffLinkPurpose.invitation
            else _("A link to choose a new password was sent to %(email)s.", email=user.email)
        ),
    )
    return redirect(url_for("staff.users"))


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit_user(user_id: int | None = None) -> ResponseReturnValue:
    user = found(db.session.get(User, user_id)) if user_id else None
    form = UserForm(obj=user, region_choices=service.region_choices(current_locale()))
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
        form.region.data = user.region.slug if user.region else ""
    if form.validate_on_submit():
        region = (
            db.session.scalar(select(Region).where(Region.slug == form.region.data))
            if form.region.data
            else None
        )
        try:
            if user is not None and user.id == current_user.id and form.password.data:
                # A password set here is one-time, for someone else.
                raise ServiceError(_("Change your own password on your account page."), "password")
            service.save_user(
                user,
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
                region=region,
                language=form.language.data,
                password=form.password.data or None,
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "email"].errors.append(error.message)
        else:
            if user is None and not form.password.data:
                flash(
                    _(
                        "The user was saved. They got an email with a link to choose their"
                        " password, valid for %(hours)d hours.",
                        hours=access_links.LINK_HOURS,
                    )
                )
            else:
                flash(_("The user was saved."))
            return redirect(url_for("staff.users"))
    status = 422 if form.errors else 200
    return render_template("regions/user_edit.html", form=form, user=user), status
