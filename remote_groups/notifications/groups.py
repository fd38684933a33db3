"""Group news by mail: a session moved (to its facilitators), a session cancelled (to its
participants, held for the undo window), a region invited to take part (to its
coordinators)."""

from __future__ import annotations

from datetime import datetime

from flask import url_for

from remote_groups import events
from remote_groups.groups.models import GroupInvitation, Session
from remote_groups.notifications.staff import tell
from remote_groups.notifications.sweep import (
    invitation_history,
    participants_of,
    queue_invitation,
)
from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import undo_window
from remote_groups.regions.service import coordinators_of


@events.region_invited.connect
def tell_coordinators_of_invitation(invitation: GroupInvitation) -> None:
    """The active coordinators of an invited region hear of the invitation at once, in their
    own language, with the link to the page where they answer it."""
    for person in coordinators_of(invitation.region_id):
        tell(
            person,
            MessageKind.group_invitation,
            f"{invitation.id}:{person.id}",
            group=invitation.group,
            invitation=invitation,
            answer_url=url_for("staff_groups.invitations", _external=True),
        )


@events.session_cancelled.connect
def tell_participants_of_cancellation(session: Session, *, now: datetime) -> None:
    """The participants who hold an invitation to a cancelled session get its calendar
    cancellation at once, held for the undo window: restoring the session within it takes
    the mail back (``groups.service.restore_session``), and nothing went out."""
    held_until = now + undo_window()
    history = invitation_history(session)
    for person in participants_of(session.group_id, now):
        sent = history.get(person.email.lower(), [])
        queue_invitation(session, person, sent, held_until=held_until)


@events.session_moved.connect
def tell_facilitators_of_move(session: Session, *, previous_start: datetime) -> None:
    """The lead and co-facilitators of a moved session hear of it at once, in their own
    language, with the old and the new time."""
    people = [p for p in [session.lead_facilitator, *session.co_facilitators] if p is not None]
    for person in {p.id: p for p in people}.values():
        tell(
            person,
            MessageKind.session_moved,
            f"{session.id}:{session.sequence}:{person.id}",
            expires_at=session.starts_at,
            session_id=session.id,
            session=session,
            group=session.group,
            previous_start=previous_start,
        )
