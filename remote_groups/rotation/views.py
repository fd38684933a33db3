"""Turns: "My turns", "Our turns", blackouts, facilitator assignment, swaps, the rotation
page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from remote_groups.extensions import db
from remote_groups.formatting import (
    current_locale,
    datetime_short,
    value_in_helsinki,
)
from remote_groups.forms import ConfirmForm, require_confirmation
from remote_groups.groups import service as group_service
from remote_groups.groups.forms import AppliesFromForm
from remote_groups.groups.schedule import holiday_lookup, skips
from remote_groups.groups.views import (
    applies_from_form,
    load_group_or_404,
    load_invitation_or_404,
    load_session_or_404,
    start_of,
)
from remote_groups.regions.models import Role
from remote_groups.regions.permissions import (
    acts_for_region,
    can_answer_swap,
    can_approve_blackout,
    can_approve_swap,
    can_assign_facilitators,
    can_edit_group,
    can_propose_for_region,
    can_propose_swap,
    can_remove_blackout,
    can_replan_for_blackout,
    can_withdraw_swap,
    coordinates_region,
    found,
    roles_required,
)
from remote_groups.regions.service import coordinators_of
from remote_groups.rotation import service
from remote_groups.rotation.forms import (
    BlackoutForm,
    BlackoutReplanForm,
    FacilitatorsForm,
    JoinForm,
    SwapForm,
)
from remote_groups.rotation.models import Blackout, BlackoutStatus, SwapRequest, SwapStatus
from remote_groups.service import ServiceError
from remote_groups.types import utcnow
from remote_groups.web import commit_or_flash_error, safe_local_path

bp = Blueprint("rotation", __name__, url_prefix="/staff")


@bp.get("/my-turns")
@login_required
def my_turns() -> ResponseReturnValue:
    region_id = current_user.region_id
    return render_template(
        "rotation/my_turns.html",
        sessions=service.sessions_of_facilitator(current_user),
        open_turns=service.unfilled_turns(region_id, days=60) if region_id else [],
        coordinators=coordinators_of(region_id)
        if region_id and current_user.role == Role.facilitator
        else [],
        confirm_form=ConfirmForm(),
    )


@bp.post("/sessions/<int:session_id>/volunteer")
@login_required
def volunteer(session_id: int) -> ResponseReturnValue:
    require_confirmation()
    session = load_session_or_404(session_id)
    commit_or_flash_error(
        lambda: service.volunteer(session, current_user),
        _("You lead this session now. Thank you!"),
    )
    return redirect(safe_local_path(request.form.get("next"), url_for("rotation.my_turns")))


def _render_our_turns(blackout_form: BlackoutForm, status: int = 200) -> ResponseReturnValue:
    """The region's turns. What waits for the person comes first (swap requests to answer,
    facilitators' proposals to approve), then the turns, the requests and the dates."""
    region = current_user.region
    if region is None:
        abort(404)
    now = utcnow()
    can_coordinate = coordinates_region(current_user, region.id)
    can_act = acts_for_region(current_user, region)
    return render_template(
        "rotation/our_turns.html",
        region=region,
        turns=service.region_turns(region.id, now, limit=60),
        unfilled={s.id for s in service.unfilled_turns(region.id, now)},
        blackouts=service.region_blackouts(region.id, value_in_helsinki(now)),
        swaps=service.swaps_of_region(region.id),
        to_answer=service.swaps_waiting_for(region.id) if can_coordinate else [],
        blackout_proposals=service.blackouts_to_approve(region.id) if can_coordinate else [],
        swap_proposals=service.swaps_to_approve(region.id) if can_coordinate else [],
        blackout_form=blackout_form,
        confirm_form=ConfirmForm(),
        can_coordinate=can_coordinate,
        can_act=can_act,
        can_propose=can_act or can_propose_for_region(current_user, region.id),
        coordinators=[] if can_coordinate else coordinators_of(region.id),
    ), status


@bp.get("/our-turns")
@login_required
def our_turns() -> ResponseReturnValue:
    return _render_our_turns(BlackoutForm())


@bp.post("/blackouts")
@roles_required(Role.coordinator, Role.facilitator)
def add_blackout() -> ResponseReturnValue:
    """Whoever acts for the region marks the dates and goes on to plan the groups they touch
    again; another facilitator's dates wait for a coordinator's approval."""
    form = BlackoutForm()
    if form.validate_on_submit():
        try:
            blackout = service.add_blackout(
                current_user.region,
                form.start_date.data,
                form.end_date.data,
                form.reason.data,
                current_user,
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(url_for("rotation.our_turns"))
        if blackout.waiting:
            flash(_("Your proposal was sent to your coordinator for approval."))
            return redirect(url_for("rotation.our_turns", _anchor="blackouts"))
        flash(_("The dates were saved. Check below how the turns change, then confirm."))
        return redirect(url_for("rotation.blackout_replan", blackout_id=blackout.id))
    return _render_our_turns(form, 422)


@bp.post("/blackouts/<int:blackout_id>/delete")
@roles_required(Role.coordinator, Role.admin, Role.facilitator)
def delete_blackout(blackout_id: int) -> ResponseReturnValue:
    require_confirmation()
    blackout = found(db.session.get(Blackout, blackout_id), can=can_remove_blackout)
    db.session.delete(blackout)
    db.session.commit()
    flash(_("The dates were removed."))
    return redirect(url_for("rotation.our_turns"))


def _decision() -> bool:
    """The button pressed on a proposal's page: approve (True) or decline (False)."""
    decision = request.form.get("decision")
    if decision not in ("approve", "decline"):
        abort(400)
    return decision == "approve"


@bp.route("/blackouts/<int:blackout_id>/proposal", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin)
def answer_blackout_proposal(blackout_id: int) -> ResponseReturnValue:
    """A facilitator's proposed dates: what they are, which groups meet on them, and the
    coordinator's approve or decline. Approved dates go on to the re-plan of those groups."""
    blackout = found(db.session.get(Blackout, blackout_id), can=can_approve_blackout)
    if request.method == "POST":
        require_confirmation()
        approve = _decision()
        done = commit_or_flash_error(
            lambda: service.answer_blackout(blackout, approve=approve, by=current_user),
            _("You approved the dates. Check below how the turns change, then confirm.")
            if approve
            else _("You declined the dates. The facilitator was told."),
        )
        if done and approve:
            return redirect(url_for("rotation.blackout_replan", blackout_id=blackout.id))
        return redirect(url_for("rotation.our_turns", _anchor="proposals"))
    if not blackout.waiting:
        flash(_("This proposal has already been answered."), "error")
        return redirect(url_for("rotation.our_turns", _anchor="proposals"))
    return render_template(
        "rotation/blackout_proposal.html",
        blackout=blackout,
        groups=service.groups_touched(blackout),
        confirm_form=ConfirmForm(),
    )


@bp.route("/blackouts/<int:blackout_id>/replan", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin, Role.facilitator)
def blackout_replan(blackout_id: int) -> ResponseReturnValue:
    """Every group that meets on a blackout's dates, planned again from one place: first a
    preview (each session whose host changes, by date and region, the leads who stop and who
    is told) from the day chosen (suggested: after the sessions already announced); one
    confirmation then plans all of them again from that day."""
    blackout = found(db.session.get(Blackout, blackout_id), can=can_replan_for_blackout)
    form = applies_from_form(BlackoutReplanForm)
    valid = form.validate()
    if blackout.status != BlackoutStatus.approved:
        flash(_("These dates are not in use: they wait for approval or were declined."), "error")
        return redirect(url_for("rotation.our_turns", _anchor="blackouts"))
    effective_from = start_of(form.applies_from.data) if valid else None
    if request.method == "POST" and effective_from is not None:
        commit_or_flash_error(
            lambda: service.replan_for_blackout(blackout, effective_from),
            lambda count: ngettext(
                "The groups were planned again: %(num)d turn changed.",
                "The groups were planned again: %(num)d turns changed.",
                count,
            ),
        )
        return redirect(url_for("rotation.our_turns"))
    replans: list[service.BlackoutReplan] = []
    if effective_from is not None:
        replans = service.preview_blackout_replan(blackout, effective_from)
    changes = [change for replan in replans for change in replan.changes]
    told = group_service.who_is_told(changes)
    told["leads"] = list({person.id: person for person in told["leads"]}.values())  # once each
    page = render_template(
        "rotation/blackout_replan.html",
        blackout=blackout,
        form=form,
        replans=replans,
        changes=changes,
        told=told,
        confirm_form=ConfirmForm(),  # the look's form has no token; confirming needs one
    )
    db.session.rollback()  # the preview planned on the rows; a look changes nothing
    return page, 422 if form.errors else 200


@bp.route("/sessions/<int:session_id>/facilitators", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin)
def facilitators(session_id: int) -> ResponseReturnValue:
    session = load_session_or_404(session_id, can=can_assign_facilitators)
    hosts = service.region_facilitators([session.host_region_id] if session.host_region_id else [])
    everyone = service.region_facilitators([r.id for r in session.group.regions])
    form = FacilitatorsForm()
    form.lead.choices = [("", _("No lead yet"))] + [(str(u.id), u.name) for u in hosts]
    form.co_facilitators.choices = [(str(u.id), f"{u.name}") for u in everyone]
    if request.method == "GET":
        form.lead.data = str(session.lead_facilitator_id or "")
        form.co_facilitators.data = [str(u.id) for u in session.co_facilitators]
    elif form.validate_on_submit():
        people = {str(u.id): u for u in everyone}
        lead = people.get(form.lead.data) if form.lead.data else None
        try:
            if form.lead.data and lead is None:
                raise ServiceError(_("The lead facilitator must come from the host region."))
            unknown = [i for i in form.co_facilitators.data if i not in people]
            if unknown:
                raise ServiceError(_("Co-facilitators must come from a participating region."))
            service.assign_facilitators(
                session, lead, [people[i] for i in form.co_facilitators.data]
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form.lead.errors = [error.message]
        else:
            flash(_("The facilitators were saved."))
            return redirect(url_for("rotation.our_turns"))
    status = 422 if form.errors else 200
    return render_template("rotation/facilitators.html", session=session, form=form), status


@bp.route("/sessions/<int:session_id>/swap", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin, Role.facilitator)
def propose_swap(session_id: int) -> ResponseReturnValue:
    """Offer a session to another region. A facilitator whose region does not let them act
    directly proposes it: the page says so and names the coordinators who approve it."""
    session = load_session_or_404(session_id, can=can_propose_swap)
    direct = session.host_region is not None and acts_for_region(current_user, session.host_region)
    locale = current_locale()
    now = utcnow()
    form = SwapForm()
    others = [r for r in session.group.regions if r.id != session.host_region_id]
    form.to_region.choices = [(r.slug, r.name(locale).text) for r in others]
    candidates = service.swap_candidates(session, now)
    form.other_session.choices = [("", _("No exchange: hand the session over"))] + [
        (
            str(s.id),
            f"{datetime_short(s.starts_at)} – {s.host_region.name(locale).text}",
        )
        for s in candidates
    ]
    if form.validate_on_submit():
        region = next((r for r in others if r.slug == form.to_region.data), None)
        other = next((s for s in candidates if str(s.id) == form.other_session.data), None)
        try:
            if region is None:
                raise ServiceError(
                    _("Choose another region that takes part in the group."), "to_region"
                )
            if form.other_session.data and other is None:
                raise ServiceError(_("Choose a session from the list."), "other_session")
            swap = service.propose_swap(
                session,
                by=current_user,
                to_region=region,
                other_session=other,
                message=form.message.data,
                now=now,
            )
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            form[error.field or "to_region"].errors = [error.message]
        else:
            if swap.status == SwapStatus.proposed:
                flash(_("Your proposal was sent to your coordinator for approval."))
                return redirect(url_for("rotation.our_turns", _anchor="requests"))
            flash(_("The request was sent to the other region's coordinator."))
            if can_edit_group(current_user, session.group):
                return redirect(url_for("rotation.group_rotation", slug=session.group.slug))
            return redirect(url_for("rotation.our_turns", _anchor="requests"))
    status = 422 if form.errors else 200
    page = render_template(
        "rotation/swap.html",
        session=session,
        form=form,
        direct=direct,
        coordinators=[] if direct else coordinators_of(session.host_region_id),
    )
    return page, status


@bp.route("/swaps/<int:swap_id>/proposal", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin)
def answer_swap_proposal(swap_id: int) -> ResponseReturnValue:
    """A facilitator's swap proposal: the coordinator of their region sends it on to the
    other region or declines it; the facilitator is told either way."""
    swap = found(db.session.get(SwapRequest, swap_id), can=can_approve_swap)
    if request.method == "POST":
        require_confirmation()
        approve = _decision()
        commit_or_flash_error(
            lambda: service.answer_swap_proposal(swap, approve=approve, by=current_user),
            _("You approved the proposal. It was sent to the other region's coordinator.")
            if approve
            else _("You declined the proposal. The facilitator was told."),
        )
        return redirect(url_for("rotation.our_turns", _anchor="proposals"))
    if swap.status != SwapStatus.proposed:
        flash(_("This proposal has already been answered."), "error")
        return redirect(url_for("rotation.our_turns", _anchor="proposals"))
    return render_template("rotation/swap_proposal.html", swap=swap, confirm_form=ConfirmForm())


def _answer(swap_id: int, accept: bool) -> ResponseReturnValue:
    require_confirmation()
    swap = found(db.session.get(SwapRequest, swap_id), can=can_answer_swap)

    commit_or_flash_error(
        lambda: service.answer_swap(swap, accept=accept, by=current_user),
        _("You accepted the request.") if accept else _("You declined the request."),
    )
    return redirect(request.referrer or url_for("rotation.our_turns"))


@bp.post("/swaps/<int:swap_id>/accept")
@roles_required(Role.coordinator, Role.admin)
def accept_swap(swap_id: int) -> ResponseReturnValue:
    return _answer(swap_id, True)


@bp.post("/swaps/<int:swap_id>/decline")
@roles_required(Role.coordinator, Role.admin)
def decline_swap(swap_id: int) -> ResponseReturnValue:
    return _answer(swap_id, False)


@bp.post("/swaps/<int:swap_id>/withdraw")
@roles_required(Role.coordinator, Role.admin, Role.facilitator)
def withdraw_swap(swap_id: int) -> ResponseReturnValue:
    require_confirmation()
    swap = found(db.session.get(SwapRequest, swap_id), can=can_withdraw_swap)
    commit_or_flash_error(
        lambda: service.withdraw_swap(swap, by=current_user), _("The request was withdrawn.")
    )
    return redirect(url_for("rotation.our_turns"))


@bp.route("/groups/<slug>/rotation", methods=["GET", "POST"])
@roles_required(Role.coordinator, Role.admin)
def group_rotation(slug: str) -> ResponseReturnValue:
    """The group's turns week by week, and a re-plan: what planning the turns again would
    change from the day chosen (suggested: after the next two weeks), with who is told;
    saving it applies exactly that."""
    group = load_group_or_404(slug, can=can_edit_group)
    now = utcnow()
    form = applies_from_form(AppliesFromForm, suggest_when_sent_without=True)
    effective_from = start_of(form.applies_from.data, group.zone) if form.validate() else None
    if request.method == "POST" and effective_from is not None:
        commit_or_flash_error(
            lambda: service.apply_plan(group, now, effective_from),
            lambda preview: _(
                "The new plan was saved: %(count)d turns changed.", count=len(preview.changes)
            ),
        )
        return redirect(url_for("rotation.group_rotation", slug=slug))
    changes: list[group_service.TurnChange] = []
    try:
        preview = service.preview_plan(group, now, effective_from)
        changes = service.turn_changes(group, preview, now, effective_from)
    except ServiceError as error:
        flash(str(error.message), "error")
        preview = service.PlanPreview({}, {}, {})
    locale = current_locale()
    page = render_template(
        "rotation/group_rotation.html",
        group=group,
        preview=preview,
        changes=changes,
        told=group_service.who_is_told(changes),
        form=form,
        counts=service.host_counts(group),
        holidays=skips(group.schedule, holiday_lookup(locale)),
        blackouts=service.group_blackouts(group),
        swaps=service.open_swaps_for_group(group.id),
        confirm_form=ConfirmForm(),
        now=now,
        regions_by_slug={r.slug: r for r in group.regions},
    )
    db.session.rollback()  # the preview flushes; a page view changes nothing
    return page, 422 if form.errors else 200


# --- joining a group ------------------------------------------------------------------------

JOIN_NOTICE_DAYS = group_service.TURN_NOTICE_DAYS  # the suggested first day, as for any change


@bp.route("/invitations/<int:invitation_id>/accept", methods=["GET", "POST"])
@roles_required(Role.coordinator)
def accept_invitation(invitation_id: int) -> ResponseReturnValue:
    """Accepting an invitation moves other regions' turns: first a preview of every session
    whose host changes, by date and region, with who will be told, and the day the change
    applies from (nothing before it moves); accepting then applies exactly that."""
    invitation = load_invitation_or_404(invitation_id)
    group = invitation.group
    form = applies_from_form(JoinForm)
    valid = form.validate()
    if not invitation.pending:
        flash(_("This invitation has already been answered."), "error")
        return redirect(url_for("staff_groups.invitations"))
    effective_from = start_of(form.applies_from.data, group.zone) if valid else None
    if request.method == "POST" and effective_from is not None:
        commit_or_flash_error(
            lambda: group_service.answer_invitation(
                invitation, accept=True, effective_from=effective_from
            ),
            _("Your region now takes part in the group and takes its turns."),
        )
        return redirect(url_for("staff_groups.invitations"))
    changes: list[group_service.TurnChange] = []
    if effective_from is not None:
        changes = service.preview_joining(invitation, effective_from)
    told = group_service.who_is_told(changes)
    page = render_template(
        "rotation/accept_invitation.html",
        invitation=invitation,
        group=group,
        form=form,
        changes=changes,
        told=told,
        confirm_form=ConfirmForm(),  # the look's form has no token; accepting needs one
    )
    db.session.rollback()  # the preview planned on the rows; a look changes nothing
    return page, 422 if form.errors else 200
