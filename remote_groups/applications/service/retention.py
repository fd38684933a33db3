"""What becomes of applications after the retention period: their personal data is removed,
and every copy of it in the outbox redacted (:func:`anonymize_expired`). An applicant's own
deletion before a decision is :func:`.applying.delete_before_decision`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.extensions import db
from remote_groups.formatting import value_in_helsinki
from remote_groups.groups.models import RemoteGroup
from remote_groups.outbox.retention import redact_messages_about
from remote_groups.regions.models import new_token
from remote_groups.types import utcnow

log = logging.getLogger(__name__)


def anonymize_expired(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Remove personal data of applications to courses that ended ``retention_days`` ago,
    counted in Helsinki days, as the courses' end dates are, and every copy of it in the
    outbox: the mail about anonymized applications is redacted (also mail linked to ones
    anonymized before it was linked, e.g. by the 0008 migration's backfill). The status
    token is replaced too: its old value is in mail the applicant holds."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else current_app.config["RETENTION_DAYS"]
    cutoff = value_in_helsinki(now) - timedelta(days=int(days))
    due = list(
        db.session.scalars(
            select(Application)
            .join(RemoteGroup, Application.group_id == RemoteGroup.id)
            .where(RemoteGroup.term_end < cutoff, Application.anonymized_at.is_(None))
        )
    )
    for application in due:
        application.name = "—"
        application.email = f"anonymized-{application.id}@invalid"
        application.phone = None
        application.needs = None
        application.needs_shared_at = None
        application.motivation = ""
        application.status_token = new_token()
        application.anonymized_at = now
        for decision in application.decisions:
            decision.message = None
        if application.participant is not None:
            db.session.delete(application.participant)
    db.session.flush()
    redact_messages_about(select(Application.id).where(Application.anonymized_at.is_not(None)), now)
    log.info("anonymized %d applications", len(due))
    return len(due)
