"""Telling staff members: the one way a notice to a staff member is queued (in their own
language, addressed to them by name). Who hears of a region's news is its active
coordinators (``regions.service.coordinators_of``)."""

from __future__ import annotations

import logging
from datetime import datetime

from remote_groups.outbox.models import MessageKind
from remote_groups.outbox.queue import InvalidRecipient, enqueue, render_message
from remote_groups.regions.models import User

log = logging.getLogger(__name__)


def tell(
    person: User,
    kind: MessageKind,
    key: str,
    *,
    session_id: int | None = None,
    expires_at: datetime | None = None,
    **context: object,
) -> None:
    """Queue the ``kind`` notice for one staff member, once per ``key``. An address the outbox
    cannot send to is skipped and logged (by the user's id, never the address), so that one
    bad row does not stop the change that caused the notice, nor the notices to the others."""
    message = render_message(kind.value, person.language, person=person, **context)
    try:
        enqueue(
            kind=kind,
            key=key,
            recipient=person.email,
            language=person.language,
            message=message,
            expires_at=expires_at,
            session_id=session_id,
        )
    except InvalidRecipient:
        log.warning("skipped the %s notice to user %s: invalid address", kind.value, person.id)
