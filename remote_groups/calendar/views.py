"""Feed routes (DESIGN.md §4), the staff token rotation, and the log filter for token URLs.

Every feed that cannot be shown (unknown slug or token, a rotated token, an inactive user, a
closed course's public URL) is the same 404, so tokens cannot be probed.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.http import http_date, is_resource_modified
from werkzeug.wrappers import Response

from remote_groups.calendar.service import content, versions
from remote_groups.calendar.service.specs import CurrentFeed
from remote_groups.extensions import db
from remote_groups.web import safe_local_path

bp = Blueprint("calendar", __name__)

#: How long browsers and proxies may reuse a feed without asking; calendar apps poll on
#: their own schedule (REFRESH-INTERVAL), and asking again is cheap (a 304).
HTTP_MAX_AGE_SECONDS = 300


def _alarm_minutes(raw: str | None) -> int | None:
    """``?alarm=0`` turns the reminder off, ``?alarm=15`` moves it; anything else: default."""
    if raw is not None and raw.isascii() and raw.isdigit():
        return int(raw)
    return None


def _serve(feed: CurrentFeed | None) -> Response:
    """Answer from the version alone when the client is up to date; build only otherwise."""
    if feed is None:
        abort(404)
    version = feed.version
    if is_resource_modified(
        request.environ, etag=version.etag, last_modified=version.last_modified
    ):
        response = Response(content.feed_bytes(feed), mimetype="text/calendar")
    else:
        response = Response(status=304)  # werkzeug drops the entity headers of a 304
    headers = response.headers
    headers["ETag"] = version.etag
    headers["Last-Modified"] = http_date(version.last_modified)
    if feed.spec.private:
        headers["Cache-Control"] = f"private, max-age={HTTP_MAX_AGE_SECONDS}"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Robots-Tag"] = "noindex"
    else:
        headers["Cache-Control"] = f"public, max-age={HTTP_MAX_AGE_SECONDS}"
    return response


@bp.get("/calendar/groups/<slug>.ics")
def group_feed(slug: str) -> ResponseReturnValue:
    return _serve(versions.group_feed(slug, request.args.get("lang")))


@bp.get("/calendar/p/<token>.ics")
def participant_feed(token: str) -> ResponseReturnValue:
    alarm = _alarm_minutes(request.args.get("alarm"))
    return _serve(versions.participant_feed(token, request.args.get("lang"), alarm))


@bp.get("/calendar/f/<token>.ics")
def facilitator_feed(token: str) -> ResponseReturnValue:
    args = request.args
    return _serve(versions.facilitator_feed(token, args.get("lang"), args.get("scope")))


@bp.get("/calendar/regions/<slug>.ics")
def region_feed(slug: str) -> ResponseReturnValue:
    args = request.args
    return _serve(versions.region_feed(slug, args.get("token"), args.get("lang")))


@bp.post("/staff/feed-token/rotate")
@login_required
def rotate_staff_token() -> ResponseReturnValue:
    """A new personal feed link for the logged-in staff member (CSRF is checked app-wide)."""
    current_user.rotate_feed_token()
    db.session.commit()
    flash(_("You have a new calendar link. The old one no longer works."))
    return redirect(safe_local_path(request.form.get("next"), url_for("rotation.my_turns")))
