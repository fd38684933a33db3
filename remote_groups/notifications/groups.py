"""Group news by mail: a session moved (to its facilitators), a region invited to take part
(to its coordinators)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import url_for

from remote_groups import events
from remote_groups.groups.models import GroupInvitation, Session
from remote_groups.notifications.rotation import coordinators_of
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import InvalidRecipient, enqueue, render_message

log = logging.getLogger(__name__)


@events.region_invited.connect
def tell_coordinators_of_invitation(invitation: GroupInvitation) -> None:
    """The active coordinators of an invited region hear of the invitation at once, in their
    own language, with the link to the page where they answer it."""
    for person in coordinators_of(invitation.region_id):
        message = render_message(
            "group_invitation",
            person.language,
            person=person,
            group=invitation.group,
            invitation=invitation,
            answer_url=url_for("staff_groups.invitations", _external=True),
        )
        try:
            enqueue(
                kind=MessageKind.group_invitation,
                key=f"{invitation.id}:{person.id}",
                recipient=person.email,
                language=person.language,
                message=message,
            )
        except InvalidRecipient:
            log.warning("skipped an invalid coordinator address for invitation %s", invitation.id)


@events.session_moved.connect
def tell_facilitators_of_move(session: Session, *, previous_start: datetime) -> None:
    """The lead and co-facilitators of a moved session hear of it at once, in their own
    language, with the old and the new time."""
    people = [p for p in [session.lead_facilitator, *session.co_facilitators] if p is not None]
    for person in {p.id: p for p in people}.values():
        message = render_message(
            "session_moved",
            person.language,
            person=person,
            session=session,
            group=session.group,
            previous_start=previous_start,
        )
        try:
            enqueue(
                kind=MessageKind.session_moved,
                key=f"{session.id}:{session.sequence}:{person.id}",
                recipient=person.email,
                language=person.language,
                message=message,
                expires_at=session.starts_at,
                session_id=session.id,
            )
        except InvalidRecipient:
            log.warning("skipped an invalid facilitator address for session %s", session.id)
