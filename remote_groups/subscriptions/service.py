"""Subscribing to an open group's reminders, confirming, unsubscribing, and forgetting.

The confirmation mail is the mechanism of the double opt-in itself, so this module queues it
in the outbox; the reminders are the notifications layer's (``notifications.sweep``).
Callers commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import and_, delete, or_, select

from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import enqueue, render_message
from remote_groups.subscriptions.models import Subscription
from remote_groups.types import utcnow

log = logging.getLogger(__name__)


def by_token(token: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.token == token))


def subscribe(
    group: RemoteGroup, email: str, language: str, now: datetime | None = None
) -> Subscription:
    """Ask for reminders of an open ``group`` at ``email``: a confirmation link is mailed
    unless the subscription is active already. Whoever asks gets the same answer either way,
    so the page does not tell who subscribed."""
    assert group.kind == GroupKind.open, "only open groups have subscriptions"
    now = now or utcnow()
    email = email.strip().lower()
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.group_id == group.id, Subscription.email == email)
    )
    if subscription is None:
        subscription = Subscription(group=group, email=email, language=language)
        db.session.add(subscription)
        db.session.flush()
    if not subscription.active:
        subscription.language = language
        if subscription.unsubscribed_at is not None:  # coming back needs a new confirmation
            subscription.unsubscribed_at = subscription.confirmed_at = None
        # Asked for now: the retention rule deletes it if not confirmed within
        # SUBSCRIPTION_UNCONFIRMED_DAYS from here, not from the first request.
        subscription.created_at = now
        message = render_message(
            "subscription_confirm",
            subscription.language,
            group=group,
            confirm_url=url_for("subscriptions.confirm", token=subscription.token, _external=True),
        )
        enqueue(
            kind=MessageKind.subscription_confirm,
            key=f"{subscription.id}:{now:%Y%m%d%H}",
            recipient=email,
            language=subscription.language,
            message=message,
        )
    return subscription


def confirm(subscription: Subscription, now: datetime | None = None) -> None:
    subscription.confirmed_at = subscription.confirmed_at or now or utcnow()
    subscription.unsubscribed_at = None


def unsubscribe(subscription: Subscription, now: datetime | None = None) -> None:
    subscription.unsubscribed_at = subscription.unsubscribed_at or now or utcnow()


def forget_subscriptions(
    now: datetime, unconfirmed_days: int | None = None, unsubscribed_days: int | None = None
) -> int:
    """Delete subscriptions never confirmed ``SUBSCRIPTION_UNCONFIRMED_DAYS`` after they were
    asked for, and ended ones ``SUBSCRIPTION_UNSUBSCRIBED_DAYS`` after they ended."""
    config = current_app.config
    unconfirmed = int(
        unconfirmed_days
        if unconfirmed_days is not None
        else config["SUBSCRIPTION_UNCONFIRMED_DAYS"]
    )
    unsubscribed = int(
        unsubscribed_days
        if unsubscribed_days is not None
        else config["SUBSCRIPTION_UNSUBSCRIBED_DAYS"]
    )
    result = db.session.execute(
        delete(Subscription)
        .where(
            or_(
                and_(
                    Subscription.confirmed_at.is_(None),
                    Subscription.created_at < now - timedelta(days=unconfirmed),
                ),
                Subscription.unsubscribed_at < now - timedelta(days=unsubscribed),
            )
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.info("deleted %d old subscriptions", result.rowcount)
    return result.rowcount
