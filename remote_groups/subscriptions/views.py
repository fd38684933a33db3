"""Email subscriptions to open groups: subscribe (double opt-in), confirm, unsubscribe
(one click, RFC 8058)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from remote_groups.extensions import csrf, db
from remote_groups.forms import ConfirmForm
from remote_groups.groups.models import GroupKind
from remote_groups.groups.views import load_public_group_or_404
from remote_groups.regions.permissions import found
from remote_groups.security.web import rate_limited
from remote_groups.subscriptions import service
from remote_groups.subscriptions.forms import SubscribeForm
from remote_groups.subscriptions.models import Subscription

bp = Blueprint("subscriptions", __name__)


def _subscription(token: str) -> Subscription:
    return found(service.by_token(token))


@bp.post("/groups/<slug>/subscribe")
@rate_limited("subscribe", "RATE_LIMIT_SUBSCRIPTIONS")
def subscribe(slug: str) -> ResponseReturnValue:
    group = load_public_group_or_404(slug)
    if group.kind != GroupKind.open:
        abort(404)
    form = SubscribeForm()
    if not form.validate_on_submit():
        return render_template("subscriptions/subscribe.html", group=group, form=form), 422
    service.subscribe(group, form.email.data, form.language.data)
    db.session.commit()
    # The same answer whether or not the address was already subscribed.
    return render_template("subscriptions/subscribe.html", group=group, form=None)


@bp.route("/subscriptions/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    subscription = _subscription(token)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        service.confirm(subscription)
        db.session.commit()
        flash(_("Thank you! You will get email reminders before each session."))
        return redirect(url_for("groups.group_page", slug=subscription.group.slug))
    return render_template("subscriptions/confirm.html", subscription=subscription, form=form)


@bp.route("/subscriptions/<token>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail programs POST here without our form
def unsubscribe(token: str) -> ResponseReturnValue:
    subscription = _subscription(token)
    if request.method == "POST":
        service.unsubscribe(subscription)
        db.session.commit()
        return render_template("subscriptions/unsubscribed.html", subscription=subscription)
    return render_template("subscriptions/unsubscribe.html", subscription=subscription)
