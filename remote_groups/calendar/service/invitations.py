"""The invitation to one session (iMIP, RFC 6047) that the notifications layer mails."""

from __future__ import annotations

from dataclasses import replace

from flask import current_app
from flask_babel import force_locale

from remote_groups.calendar.ics import Feed, build_calendar
from remote_groups.calendar.service.content import feed_event, usable_meeting_url
from remote_groups.calendar.service.specs import FeedSpec
from remote_groups.groups.models import Session


class UnusableMeetingLink(Exception):
    """A group's stored meeting link breaks the rule calendars need (:func:`is_meeting_url`),
    as a row saved before the group form applied it may: an invitation to its sessions is
    held back until someone fixes the link (see :func:`session_invitation`)."""

    def __init__(self, group_id: int) -> None:
        super().__init__(f"group {group_id} has a meeting link calendars cannot carry")
        self.group_id = group_id


def session_invitation(session: Session, recipient: str, language: str, method: str) -> str:
    """An iMIP calendar (RFC 6047) for one session, with the same UID and SEQUENCE as the
    feeds, so an update or a cancellation by mail changes the same calendar entry.

    A ``CANCEL`` always says ``STATUS:CANCELLED``: it also removes a session that goes on
    from the calendar of a participant who left the course.

    When the group's meeting link is one calendars cannot carry, a ``CANCEL`` goes without
    it, and anything else raises :class:`UnusableMeetingLink`: an invitation is how the link
    gets into the participant's calendar, and one sent without it could not be followed by
    one with it (the same SEQUENCE), so the caller holds it back until the link is fixed."""
    if method != "CANCEL" and usable_meeting_url(session.group) is None:
        raise UnusableMeetingLink(session.group_id)
    spec = FeedSpec("participant", 0, "group", session.group_id, language)
    with force_locale(language):
        event = replace(
            feed_event(session, spec),
            organizer=current_app.config["MAIL_FROM"],
            attendee=recipient,
            cancelled=session.cancelled or method == "CANCEL",
        )
        name = str(session.group.title(language)) or session.group.slug
    feed = Feed(
        name=name,
        events=(event,),
        dtstamp=max(session.updated_at, session.group.updated_at),
        language=language,
        method=method,
    )
    return build_calendar(feed).decode("utf-8")
