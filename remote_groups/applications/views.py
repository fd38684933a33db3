"""The application form and the applicant's status page (no login), and coordinator review."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from remote_groups.applications import service
from remote_groups.applications.forms import (
    ApplicationForm,
    BulkDecisionForm,
    ContactForm,
    DecisionForm,
    ReviewFilterForm,
    SelectionForm,
)
from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.extensions import db
from remote_groups.formatting import current_locale
from remote_groups.groups import service as group_service
from remote_groups.groups.forms import ConfirmForm
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.regions.models import Role
from remote_groups.regions.permissions import can_review_applications, require, roles_required
from remote_groups.security.web import rate_limited
from remote_groups.service import ServiceError
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error

bp = Blueprint("applications", __name__)


def _course_or_404(slug: str) -> RemoteGroup:
    group = group_service.group_by_slug(slug)
    if group is None or group.kind != GroupKind.closed:
        abort(404)
    return group


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- applicants -----------------------------------------------------------------------------


@bp.route("/groups/<slug>/apply", methods=["GET", "POST"])
@rate_limited("apply", "RATE_LIMIT_APPLICATIONS")
def apply(slug: str) -> ResponseReturnValue:
    group = _course_or_404(slug)
    now = utcnow()
    if not group.application_window_open(service.today_in(group, now)):
        return render_template("applications/closed.html", group=group), 409
    locale = current_locale()
    form = ApplicationForm(region_choices=[(r.slug, r.name(locale).text) for r in group.regions])
    if request.method == "GET":
        form.language.data = locale if locale in ("fi", "sv") else group.language
    if form.validate_on_submit():
        data = service.ApplicationInput(
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data,
            home_region=form.home_region.data,
            language=form.language.data,
            needs=form.needs.data,
            motivation=form.motivation.data,
        )
        try:
            application = service.submit_application(group, data, now)
            db.session.commit()
        except service.DuplicateApplication as duplicate:
            db.session.rollback()
            service.resend_status_link(duplicate.existing, now)
            db.session.commit()
            return render_template("applications/duplicate.html", group=group), 409
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "name"].errors = [error.message]
        else:
            return redirect(url_for("applications.received", token=application.status_token))
    status = 422 if form.errors else 200
    return render_template("applications/form.html", group=group, form=form), status


@bp.get("/applications/<token>/received")
def received(token: str) -> ResponseReturnValue:
    application = service.application_by_token(token) or abort(404)
    return render_template("applications/received.html", application=application)


def _status_page(application: Application, contact_form: ContactForm, status: int = 200):
    return render_template(
        "applications/status.html",
        application=application,
        contact_form=contact_form,
        confirm_form=ConfirmForm(),
    ), status


@bp.get("/applications/<token>")
def status(token: str) -> ResponseReturnValue:
    application = service.application_by_token(token) or abort(404)
    return _status_page(application, ContactForm(obj=application))


def _applicant_action(token: str, action, done_message: str) -> ResponseReturnValue:
    application = service.application_by_token(token) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_flash_error(lambda: action(application), done_message)
    if service.application_by_token(token) is None:
        return redirect(url_for("groups.home"))
    return redirect(url_for("applications.status", token=token))


@bp.post("/applications/<token>/withdraw")
def withdraw(token: str) -> ResponseReturnValue:
    return _applicant_action(token, service.withdraw, _("Your application was withdrawn."))


@bp.post("/applications/<token>/delete")
def delete(token: str) -> ResponseReturnValue:
    return _applicant_action(
        token, service.delete_before_decision, _("Your application was deleted.")
    )


@bp.post("/applications/<token>/confirm")
def confirm(token: str) -> ResponseReturnValue:
    return _applicant_action(token, service.confirm_offer, _("Welcome! Your place is confirmed."))


@bp.post("/applications/<token>/feed-token")
def rotate_feed(token: str) -> ResponseReturnValue:
    from remote_groups.calendar.service import rotate_participant_token

    def rotate(application: Application) -> None:
        if application.participant is None:
            raise ServiceError(_("You have no calendar link."))
        rotate_participant_token(application.participant)

    return _applicant_action(
        token, rotate, _("You have a new calendar link. The old one no longer works.")
    )


@bp.post("/applications/<token>/contact")
def contact(token: str) -> ResponseReturnValue:
    application = service.application_by_token(token) or abort(404)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            service.update_contact(application, form.name.data, form.email.data, form.phone.data)
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
    group = _course_or_404(slug)
    require(can_review_applications(current_user, group))
    return group


@bp.get("/staff/courses/<slug>/applications")
@roles_required(Role.coordinator)
def review(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    locale = current_locale()
    filters = ReviewFilterForm(request.args)
    filters.status.choices = [("", _("All"))] + [(s.value, s.label) for s in ApplicationStatus]
    filters.region.choices = [("", _("All"))] + [
        (r.slug, r.name(locale).text) for r in group.regions
    ]
    applications = service.applications_for_review(
        group, filters.status.data, filters.region.data, filters.language.data
    )
    return render_template(
        "applications/review.html",
        group=group,
        applications=applications,
        filters=filters,
        bulk_form=BulkDecisionForm(),
        seats_taken=service.seats_taken(group.id),
    )


@bp.get("/staff/applications/<int:application_id>")
@roles_required(Role.coordinator)
def detail(application_id: int) -> ResponseReturnValue:
    application = db.session.get(Application, application_id) or abort(404)
    require(can_review_applications(current_user, application.group))
    return render_template("applications/detail.html", application=application, form=DecisionForm())


@bp.post("/staff/applications/<int:application_id>/decide")
@roles_required(Role.coordinator)
def decide(application_id: int) -> ResponseReturnValue:
    application = db.session.get(Application, application_id) or abort(404)
    require(can_review_applications(current_user, application.group))
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            service.decide(
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
            flash(_("The decision was saved and the applicant was told by email."))
            return redirect(url_for("applications.review", slug=application.group.slug))
    return render_template("applications/detail.html", application=application, form=form), 422


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
        lambda: service.decide(
            chosen, ApplicationStatus(form.decision.data), current_user, form.message.data
        ),
        _("%(count)d decisions were saved.", count=len(chosen)),
    )
    return redirect(url_for("applications.review", slug=slug))


@bp.route("/staff/courses/<slug>/selection", methods=["GET", "POST"])
@roles_required(Role.coordinator)
def selection(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    form = SelectionForm()
    if form.validate_on_submit() and commit_or_flash_error(
        lambda: service.confirm_selection(group, form.accept.data, current_user),
        lambda counts: _(
            "%(accepted)d accepted, %(waitlisted)d on the waiting list.",
            accepted=counts[0],
            waitlisted=counts[1],
        ),
    ):
        return redirect(url_for("applications.review", slug=slug))
    suggestion = service.suggestion_for(group)
    pending = service.applications_for_review(group, None, None, None)
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
        seats_taken=service.seats_taken(group.id),
    )


@bp.get("/staff/courses/<slug>/participants.csv")
@roles_required(Role.coordinator)
def participants_csv(slug: str) -> ResponseReturnValue:
    group = _reviewable(slug)
    include_needs = request.args.get("include_needs") == "1"
    body = service.participants_csv(group, current_locale(), include_needs)
    return Response(
        "\ufeff" + body,  # a BOM, so spreadsheet programs read UTF-8 names right
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{group.slug}-participants.csv"'},
    )
