"""Applicants' mail: each change of their application (received, decided, offered, …) in
their own language with their status link, and a new participant's first calendar
invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from remote_groups import events
from remote_groups.applications.models import Application
from remote_groups.applications.service.applying import status_url
from remote_groups.notifications.sweep import INVITE_AHEAD, Recipient, invite
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import RenderedMessage, enqueue, render_message


@events.application_changed.connect
def tell_applicant(
    application: Application,
    *,
    kind: str,
    version: str = "",
    held_until: datetime | None = None,
    context: dict[str, Any],
) -> None:
    """The message ``application_<kind>`` to the applicant, once per ``version`` (the kind
    itself when empty), held until ``held_until`` when given (the undo window)."""
    message_kind = MessageKind(f"application_{kind}")
    enqueue(
        kind=message_kind,
        key=f"{application.id}:{version or kind}",
        recipient=application.email,
        language=application.language,
        message=applicant_message(application, kind, context),
        application_id=application.id,
        held_until=held_until,
    )


def applicant_message(
    application: Application, kind: str, context: dict[str, Any]
) -> RenderedMessage:
    """The mail ``application_<kind>`` as the applicant reads it, in their language: what
    :func:`tell_applicant` queues and what the send page shows before it is sent."""
    return render_message(
        MessageKind(f"application_{kind}").value,
        application.language,
        application=application,
        group=application.group,
        status_url=status_url(application),
        **context,
    )


@events.participant_accepted.connect
def invite_to_next_sessions(
    application: Application, *, now: datetime, held_until: datetime | None = None
) -> None:
    """Calendar invitations for the sessions of the coming week go out with the acceptance
    (held with it); the sweep sends the rest a week ahead of each session."""
    person = Recipient.participant(application)
    for session in application.group.sessions:
        if not session.cancelled and now < session.starts_at <= now + INVITE_AHEAD:
            invite(session, person, held_until=held_until)
