"""What every change of an application goes through: :func:`move`, the one place its state
changes (asking the lifecycle's table, :mod:`remote_groups.applications.lifecycle`), and
:func:`notify`, the announcement of a change the applicant hears of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from remote_groups import events
from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import (
    Application,
    ApplicationDecision,
    ApplicationStatus,
)
from remote_groups.regions.models import User


def unsent_decision(application: Application) -> ApplicationDecision | None:
    """The application's latest decision if it is still unsent (nobody has been told)."""
    latest = application.decisions[-1] if application.decisions else None
    return latest if latest is not None and latest.unsent else None


def known_status(application: Application) -> ApplicationStatus:
    """The state a coordinator decides from: before their own decision still unsent, which a
    new decision replaces."""
    unsent = unsent_decision(application)
    return unsent.from_status if unsent and unsent.from_status else application.status


def move(
    application: Application,
    action: Action,
    actor: Actor,
    now: datetime,
    by: User | None = None,
    message: str | None = None,
) -> None:
    """The one place an application's state changes: the next state from the lifecycle's
    table (refused there if illegal, before anything changes), recorded in its history.

    A coordinator's decision while an earlier one is still unsent replaces it: nobody was told
    of that one, so the move is from the state before it, and it leaves the history (a draft,
    not a move anyone saw). Any other move after an unsent decision (the applicant withdraws)
    means that decision is never sent: it no longer says what is true."""
    replaced = unsent_decision(application) if actor == Actor.coordinator else None
    before = known_status(application) if replaced is not None else application.status
    to_status = lifecycle.transition(before, action, actor, name=application.name)
    if replaced is not None:
        application.decisions.remove(replaced)
    for earlier in application.decisions:
        earlier.unsent = False
    application.decisions.append(
        ApplicationDecision(
            from_status=before,
            to_status=to_status,
            actor=actor.value,
            by_user=by,
            message=message or None,
            at=now,
        )
    )
    application.status = to_status
    application.updated_at = now


def notify(
    application: Application,
    kind: str,
    version: str = "",
    held_until: datetime | None = None,
    **context: Any,
) -> None:
    """Announce a change the applicant hears of (``notifications.applications`` mails it);
    ``held_until``: the end of the mail's undo window, if it has one."""
    events.application_changed.send(
        application, kind=kind, version=version, held_until=held_until, context=context
    )
