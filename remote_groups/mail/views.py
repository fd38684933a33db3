"""Email subscriptions to open groups (double opt-in, one-click unsubscribe) and the
administrators' outbox page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from remote_groups.extensions import csrf, db
from remote_groups.groups import service as group_service
from remote_groups.groups.forms import ConfirmForm
from remote_groups.groups.models import GroupKind
from remote_groups.mail.forms import SubscribeForm
from remote_groups.mail.models import OutboxMessage, OutboxStatus, Subscription
from remote_groups.mail.service import enqueue, render_message
from remote_groups.regions.models import Role
from remote_groups.regions.permissions import roles_required
from remote_groups.security.web import rate_limited
from remote_groups.types import utcnow

bp = Blueprint("mail", __name__)


def _subscription(token: str) -> Subscription:
    found = db.session.scalar(select(Subscription).where(Subscription.token == token))
    return found or abort(404)


@bp.post("/groups/<slug>/subscribe")
@rate_limited("subscribe", "RATE_LIMIT_SUBSCRIPTIONS")
def subscribe(slug: str) -> ResponseReturnValue:
    group = group_service.group_by_slug(slug)
    if group is None or group.kind != GroupKind.open:
        abort(404)
    form = SubscribeForm()
    if not form.validate_on_submit():
        return render_template("mail/subscribe.html", group=group, form=form), 422
    email = form.email.data.strip().lower()
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.group_id == group.id, Subscription.email == email)
    )
    if subscription is None:
        subscription = Subscription(group=group, email=email, language=form.language.data)
        db.session.add(subscription)
        db.session.flush()
    if not subscription.active:
        subscription.language = form.language.data
        if subscription.unsubscribed_at is not None:  # coming back needs a new confirmation
            subscription.unsubscribed_at = subscription.confirmed_at = None
        # Asked for now: the retention rule deletes it if not confirmed within
        # SUBSCRIPTION_UNCONFIRMED_DAYS from here, not from the first request.
        subscription.created_at = utcnow()
        message = render_message(
            "subscription_confirm",
            subscription.language,
            group=group,
            confirm_url=url_for("mail.confirm", token=subscription.token, _external=True),
        )
        enqueue(
            kind="subscription_confirm",
            key=f"{subscription.id}:{utcnow():%Y%m%d%H}",
            recipient=email,
            language=subscription.language,
            message=message,
        )
    db.session.commit()
    # The same answer whether or not the address was already subscribed.
    return render_template("mail/subscribe.html", group=group, form=None)


@bp.route("/subscriptions/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    subscription = _subscription(token)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        subscription.confirmed_at = subscription.confirmed_at or utcnow()
        subscription.unsubscribed_at = None
        db.session.commit()
        flash(_("Thank you! You will get email reminders before each session."))
        return redirect(url_for("groups.group_page", slug=subscription.group.slug))
    return render_template("mail/confirm.html", subscription=subscription, form=form)


@bp.route("/subscriptions/<token>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail programs POST here without our form
def unsubscribe(token: str) -> ResponseReturnValue:
    subscription = _subscription(token)
    if request.method == "POST":
        subscription.unsubscribed_at = subscription.unsubscribed_at or utcnow()
        db.session.commit()
        return render_template("mail/unsubscribed.html", subscription=subscription)
    return render_template("mail/unsubscribe.html", subscription=subscription)


@bp.get("/staff/outbox")
@roles_required(Role.admin)
def outbox() -> ResponseReturnValue:
    return _outbox_page()


def _outbox_page(code: int = 200) -> ResponseReturnValue:
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    problems = db.session.scalars(
        select(OutboxMessage)
        .where(
            (OutboxMessage.status == OutboxStatus.failed)
            | ((OutboxMessage.status == OutboxStatus.pending) & (OutboxMessage.attempts > 0))
        )
        .order_by(OutboxMessage.id.desc())
        .limit(100)
    )
    return render_template(
        "mail/outbox.html",
        counts={status: counts.get(status, 0) for status in OutboxStatus},
        problems=list(problems),
        form=ConfirmForm(),
    ), code


@bp.post("/staff/outbox/<int:message_id>/resend")
@roles_required(Role.admin)
def resend(message_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(OutboxMessage, message_id) or abort(404)
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
    return redirect(url_for("mail.outbox"))
