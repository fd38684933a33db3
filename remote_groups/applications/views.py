"""The application form and the applicant's status page (no login), and coordinator review."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from remote_groups.applications import lifecycle
from remote_groups.applications.forms import (
    ApplicationForm,
    BulkDecisionForm,
    ContactForm,
    DecisionForm,
    ReviewFilterForm,
    SelectionForm,
)
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.service import (
    applying,
    export,
    reviewing,
    seats,
    sending,
    waitlist,
)
from remote_groups.encryption import UndecryptableData
from remote_groups.extensions import csrf, db
from remote_groups.formatting import current_locale
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.groups.views import load_group_or_404, load_public_group_or_404
from remote_groups.regions.models import Role, User
from remote_groups.regions.permissions import (
    can_decide_on_application,
    can_read_application,
    can_review_applications,
    found,
    require,
    roles_required,
)
from remote_groups.security.web import rate_limited
from remote_groups.service import ServiceError
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error

bp = Blueprint("applications", __name__)
log = logging.getLogger(__name__)


def _course_or_404(
    slug: str, can: Callable[[User, RemoteGroup], bool] | None = None
) -> RemoteGroup:
    """A closed course (an open group has no applications: 404), which the logged-in user
    ``can`` act on (else 403)."""
    group = load_group_or_404(slug)
    if group.kind != GroupKind.closed:
        abort(404)
    return found(group, can)


def _public_course_or_404(slug: str) -> RemoteGroup:
    """A published closed course: a draft takes no applications (404, as for no course)."""
    group = load_public_group_or_404(slug)
    if group.kind != GroupKind.closed:
        abort(404)
    return group


def _application_or_404(token: str) -> Application:
    """The application a status link names: the token is the applicant's key."""
    return found(applying.application_by_token(token))


@bp.after_request
def no_store(response: Response) -> Response:
    """Applicants' pages: never cached, and their addresses (a status page's holds its token)
    never sent to another site. ``same-origin``, not ``no-referrer``: over HTTPS the CSRF
    check refuses a form sent without a Referer from this site, so with ``no-referrer`` no
    button of the status page worked."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


# --- applicants -----------------------------------------------------------------------------


# The address the received page names, kept in the visitor's session until it is shown once.
APPLIED_TO = "applied_to"


@bp.route("/groups/<slug>/apply", methods=["GET", "POST"])
@csrf.exempt
@rate_limited("apply", "RATE_LIMIT_APPLICATIONS")
def apply(slug: str) -> ResponseReturnValue:
    """The application form.

    A new application and one this person has sent already get the same answer, a redirect
    to the same page; only the mail differs (a receipt, or the existing application's link).
    So the answer never tells anyone whether a person has applied to the course.

    The form checks its own CSRF token (the view is exempt from the app-wide check, which
    answers with an error page): when the session is gone (expired, cookies cleared), the
    form comes back with everything typed and asks to send it again.
    """
    group = _public_course_or_404(slug)
    now = utcnow()
    if not group.application_window_open(applying.today_in(group, now)):
        return render_template("applications/closed.html", group=group), 409
    locale = current_locale()
    form = ApplicationForm(region_choices=[(r.slug, r.name(locale).text) for r in group.regions])
    if request.method == "GET":
        form.language.data = locale if locale in ("fi", "sv") else group.language
    if form.validate_on_submit():
        data = applying.ApplicationInput(
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data,
            home_region=form.home_region.data,
            language=form.language.data,
            needs=form.needs.data,
            motivation=form.motivation.data,
            share_needs=bool(form.share_needs.data),
        )
        try:
            applying.submit_application(group, data, now)
            db.session.commit()
        except applying.DuplicateApplication as duplicate:
            db.session.rollback()
            applying.resend_status_link(duplicate.existing, now)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "name"].errors = [error.message]
        if not form.errors:
            session[APPLIED_TO] = data.email.strip().lower()
            return redirect(url_for("applications.received", slug=group.slug))
    status = 400 if form.csrf_token.errors else 422 if form.errors else 200
    return render_template("applications/form.html", group=group, form=form), status


@bp.get("/groups/<slug>/apply/received")
def received(slug: str) -> ResponseReturnValue:
    """The same page after any application; the link to the application is in the mail."""
    group = _public_course_or_404(slug)
    email = session.pop(APPLIED_TO, None)
    return render_template("applications/received.html", group=group, email=email)


def _status_page(application: Application, contact_form: ContactForm, status: int = 200):
    # What the applicant has been told: a decision not yet sent (or whose mail is still in
    # its undo window) shows only once its mail goes out, so the page never says more than it.
    shown = application.told_status(utcnow())
    return render_template(
        "applications/status.html",
        application=application,
        shown_status=shown,
        # The buttons shown are the moves the lifecycle's table allows the applicant now, in
        # the state they know of and in the state the application is in.
        applicant_can=lifecycle.allowed_actions(application.status, Actor.applicant)
        & lifecycle.allowed_actions(shown, Actor.applicant),
        contact_form=contact_form,
        confirm_form=ConfirmForm(),
    ), status


@bp.get("/applications/<token>")
def status(token: str) -> ResponseReturnValue:
    application = _application_or_404(token)
    return _status_page(application, ContactForm(obj=application))


def _applicant_action(token: str, action, done_message: str) -> ResponseReturnValue:
    application = _application_or_404(token)
    require_confirmation()
    commit_or_flash_error(lambda: action(application), done_message)
    if applying.application_by_token(token) is None:
        return redirect(url_for("groups.home"))
    return redirect(url_for("applications.status", token=token))


def _confirmation_page(token: str, action: Action, endpoint: str) -> ResponseReturnValue:
    """Before a step that cannot be undone, a page that says what it does, with the button
    that does it and a way back (no JavaScript needed). Only for a step the application
    allows now; otherwise back to the status page, which shows what it does allow."""
    application = _application_or_404(token)
    if not lifecycle.allowed(application.status, action, Actor.applicant):
        return redirect(url_for("applications.status", token=token))
    return render_template(
        "applications/confirm_step.html",
        application=application,
        step=action.value,
        action_url=url_for(endpoint, token=token),
        confirm_form=ConfirmForm(),
    )


@bp.get("/applications/<token>/withdraw")
def confirm_withdraw(token: str) -> ResponseReturnValue:
    return _confirmation_page(token, Action.withdraw, "applications.withdraw")


@bp.post("/applications/<token>/withdraw")
def withdraw(token: str) -> ResponseReturnValue:
    return _applicant_action(token, applying.withdraw, _("Your application was withdrawn."))


@bp.get("/applications/<token>/delete")
def confirm_delete(token: str) -> ResponseReturnValue:
    return _confirmation_page(token, Action.delete, "applications.delete")


@bp.post("/applications/<token>/delete")
def delete(token: str) -> ResponseReturnValue:
    return _applicant_action(
        token, applying.delete_before_decision, _("Your application was deleted.")
    )


@bp.post("/applications/<token>/confirm")
def confirm(token: str) -> ResponseReturnValue:
    return _applicant_action(token, waitlist.confirm_offer, _("Welcome! Your place is confirmed."))


@bp.post("/applications/<token>/feed-token")
def rotate_feed(token: str) -> ResponseReturnValue:
    return _applicant_action(
        token,
        applying.rotate_feed_token,
        _("You have a new calendar link. The old one no longer works."),
    )


@bp.post("/applications/<token>/contact")
def contact(token: str) -> ResponseReturnValue:
    application = _application_or_404(token)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            applying.update_contact(application, form.name.data, form.email.data, form.phone.data)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "name"].errors = [error.message]
        else:
            flash(_("Your details were saved."))
            return redirect(url_for("applications.status", token=token))
    return _status_page(application, form, 422)


# --- coordinators ---------------------------------------------------------------------------


def _reviewable(slug: str) -> RemoteGroup:
    return _course_or_404(slug, can=can_review_applications)


def _readable(
    group: RemoteGroup, status: str | None, region: str | None, language: str | None
) -> list[Application]:
    return [
        a
        for a in reviewing.applications_for_review(group, status, region, language)
        if can_read_application(current_user, a)
    ]


@bp.get("/staff/courses/<slug>/applications")
@roles_required(Role.coordinator)
def review(slug: str) -> ResponseReturnValue:
    """The course's coordinators list and decide; a coordinator whose region no longer takes
    part lists their own clients' applications only, without deciding."""
    group = _course_or_404(slug)
    can_decide = can_review_applications(current_user, group)
    require(can_decide or bool(_readable(group, None, None, None)))
    locale = current_locale()
    filters = ReviewFilterForm(request.args)
    filters.status.choices = [("", _("All"))] + [(s.value, s.label) for s in ApplicationStatus]
    filters.region.choices = [("", _("All"))] + [
        (r.slug, r.name(locale).text) for r in group.regions
    ]
    applications = _readable(group, filters.status.data, filters.region.data, filters.language.data)
    return render_template(
        "applications/review.html",
        group=group,
        applications=applications,
        filters=filters,
        bulk_form=BulkDecisionForm(),
        seats_taken=seats.seats_taken(group.id),
        can_decide=can_decide,
        unsent=sending.unsent_application_ids(group.id) if can_decide else set(),
    )


@bp.get("/staff/applications/<int:application_id>")
@roles_required(Role.coordinator)
def detail(application_id: int) -> ResponseReturnValue:
    application = found(db.session.get(Application, application_id), can=can_read_application)
    return render_template(
        "applications/detail.html",
        application=application,
        form=DecisionForm(),
        can_decide=can_review_applications(current_user, application.group),
    )


@bp.post("/staff/applications/<int:application_id>/decide")
@roles_required(Role.coordinator)
def decide(application_id: int) -> ResponseReturnValue:
    application = found(db.session.get(Application, application_id), can=can_decide_on_application)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            reviewing.decide(
                [application],
                ApplicationStatus(form.decision.data),
                current_user,
                form.message.data,
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form.decision.errors = [error.message]
        else:
            flash(
                _(
                    "The decision was saved. The applicant is told when you send the course's"
                    " decisions."
                )
            )
            return redirect(url_for("applications.review", slug=application.group.slug))
    page = render_template(
        "applications/detail.html", application=application, form=form, can_decide=True
    )
    return page, 422


@bp.post("/staff/courses/<slug>/applications/bulk")
@roles_required(Role.coordinator)
def bulk(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    form = BulkDecisionForm()
    if not form.validate_on_submit() or not form.applications.data:
        flash(_("Choose the applications and a decision."), "error")
        return redirect(url_for("applications.review", slug=slug))
    chosen = [db.session.get(Application, i) for i in form.applications.data]
    if any(a is None or a.group_id != group.id for a in chosen):
        abort(404)
    commit_or_flash_error(
        lambda: reviewing.decide(
            chosen, ApplicationStatus(form.decision.data), current_user, form.message.data
        ),
        _(
            "%(count)d decisions were saved. The applicants are told when you send the"
            " course's decisions.",
            count=len(chosen),
        ),
    )
    return redirect(url_for("applications.review", slug=slug))


@bp.route("/staff/courses/<slug>/selection", methods=["GET", "POST"])
@roles_required(Role.coordinator)
def selection(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    form = SelectionForm()
    if form.validate_on_submit() and commit_or_flash_error(
        lambda: reviewing.confirm_selection(group, form.accept.data, current_user),
        lambda counts: _(
            "%(accepted)d accepted, %(waitlisted)d on the waiting list. The applicants are"
            " told when you send the course's decisions.",
            accepted=counts[0],
            waitlisted=counts[1],
        ),
    ):
        return redirect(url_for("applications.review", slug=slug))
    suggestion = reviewing.suggestion_for(group)
    pending = reviewing.applications_for_review(group, None, None, None)
    pending = [
        a
        for a in pending
        if a.status in (ApplicationStatus.submitted, ApplicationStatus.waitlisted)
    ]
    return render_template(
        "applications/selection.html",
        group=group,
        suggestion=suggestion,
        suggested=set(suggestion.accept),
        applications=pending,
        form=form,
        seats_taken=seats.seats_taken(group.id),
    )


@bp.get("/staff/courses/<slug>/participants.csv")
@roles_required(Role.coordinator)
def participants_csv(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    include_needs = request.args.get("include_needs") == "1"
    body = export.participants_csv(group, current_locale(), include_needs)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{group.slug}-participants.csv"'},
    )


@dataclass(frozen=True)
class ShownNeeds:
    text: str | None
    unreadable: bool = False


@bp.app_template_global()
def decrypted_needs(application: Application) -> ShownNeeds:
    """An application's needs for the review page. A value no data key opens is shown as
    unreadable (and logged), with the rest of the application, instead of a 500."""
    try:
        return ShownNeeds(application.needs)
    except UndecryptableData:
        log.exception("the needs of application %s cannot be decrypted", application.id)
        return ShownNeeds(None, unreadable=True)
