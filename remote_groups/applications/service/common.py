"""What every change of an application goes through: :func:`move`, the one place its state
changes (asking the lifecycle's table, :mod:`remote_groups.applications.lifecycle`), and
:func:`notify`, the announcement of a change the applicant hears of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from remote_groups import events
from remote_groups.applications import lifecycle
from remote_groups.applications.lifecycle import Action, Actor
from remote_groups.applications.models import Application, ApplicationDecision
from remote_groups.regions.models import User


def move(
    application: Application,
    action: Action,
    actor: Actor,
    now: datetime,
    by: User | None = None,
    message: str | None = None,
) -> None:
    """The one place an application's state changes: the next state from the lifecycle's
    table (refused there if illegal, before anything changes), recorded in its history."""
    to_status = lifecycle.transition(application.status, action, actor, name=application.name)
    application.decisions.append(
        ApplicationDecision(
            from_status=application.status,
            to_status=to_status,
            actor=actor.value,
            by_user=by,
            message=message or None,
            at=now,
        )
    )
    application.status = to_status
    application.updated_at = now


def notify(application: Application, kind: str, version: str = "", **context: Any) -> None:
    """Announce a change the applicant hears of (``notifications.applications`` mails it)."""
    events.application_changed.send(application, kind=kind, version=version, context=context)
