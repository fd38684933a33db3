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
from remote_groups.outbox.queue import enqueue, render_message


@events.application_changed.connect
def tell_applicant(
    application: Application, *, kind: str, version: str = "", context: dict[str, Any]
) -> None:
    """The message ``application_<kind>`` to the applicant, once per ``version`` (the kind
    itself when empty)."""
    message_kind = MessageKind(f"application_{kind}")
    message = render_message(
        message_kind.value,
        application.language,
        application=application,
        group=application.group,
        status_url=status_url(application),
        **context,
    )
    enqueue(
        kind=message_kind,
        key=f"{application.id}:{version or kind}",
        recipient=application.email,
        language=application.language,
        message=message,
        application_id=application.id,
    )


@events.participant_accepted.connect
def invite_to_next_sessions(application: Application, *, now: datetime) -> None:
    """Calendar invitations for the sessions of the coming week go out at once; the sweep
    sends the rest a week ahead of each session."""
    person = Recipient.participant(application)
    for session in application.group.sessions:
        if not session.cancelled and now < session.starts_at <= now + INVITE_AHEAD:
            invite(session, person)
