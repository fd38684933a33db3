"""The retention rule as one run: what ``flask data anonymize`` and the nightly job do.

Every copy of personal data has its end (README, Security): applications are anonymized
``RETENTION_DAYS`` after their course ends, with the mail about them (outbox rows and .eml
files redacted); other mail is deleted ``OUTBOX_KEEP_DAYS`` after it went out; unconfirmed and
ended subscriptions are deleted after theirs; staff members' password links a day after they
were used or expired, the mail that carried them redacted; the notes facilitators leave for
each other go with the applications (a participant's attendance marks lose the person when
the participant is deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from remote_groups.applications.service.retention import anonymize_expired
from remote_groups.outbox.retention import purge_outbox
from remote_groups.regions.access_links import forget_links
from remote_groups.running.service import forget_notes
from remote_groups.subscriptions.service import forget_subscriptions
from remote_groups.types import utcnow


@dataclass(frozen=True)
class RetentionReport:
    anonymized: int
    purged_messages: int
    deleted_subscriptions: int
    deleted_staff_links: int
    deleted_session_notes: int


def apply_retention(now: datetime | None = None) -> RetentionReport:
    """Run every retention rule once. The caller commits."""
    now = now or utcnow()
    return RetentionReport(
        anonymized=anonymize_expired(now),
        purged_messages=purge_outbox(now),
        deleted_subscriptions=forget_subscriptions(now),
        deleted_staff_links=forget_links(now),
        deleted_session_notes=forget_notes(now),
    )
