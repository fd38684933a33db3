"""Rules for values that people type in and that later end up elsewhere (pure: no Flask, no
database), so that the form taking a value in and the code writing it out apply one rule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["is_meeting_url"]


def is_meeting_url(url: str) -> bool:
    """A web link (http or https, with a host) that calendar feeds and invitations can carry.

    The link becomes clickable in people's calendars, so ``javascript:`` or ``data:`` links
    must never get there; a space, a tab, a line break or another control character, even at
    the end where nobody sees it, would break the iCalendar content line it is written on.
    The group form asks for more (https only) and says so in its own words.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "https://[meet" is not a URL at all
        return False
    return (
        parts.scheme in ("https", "http")
        and bool(parts.netloc)
        and all(char.isprintable() and not char.isspace() for char in url)
    )
