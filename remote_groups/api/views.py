"""The JSON API. Reading is public; creating a group needs a logged-in coordinator or admin
and validates through the same form, and the same authority rule, as the staff page. What it
reads and answers is declared in ``schemas.py``, which the OpenAPI document is built from."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from remote_groups.api import schemas
from remote_groups.api.openapi import openapi_document
from remote_groups.extensions import db
from remote_groups.groups import service
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.groups.views import load_visible_group_or_404
from remote_groups.regions.models import Region
from remote_groups.regions.permissions import can_create_groups
from remote_groups.security.input_limits import SUPPORTED_DATES

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def region_json(region: Region) -> schemas.Region:
    return schemas.Region(
        slug=region.slug,
        name=schemas.Names(fi=region.name_fi, sv=region.name_sv, en=region.name_en),
    )


def group_json(group: RemoteGroup) -> schemas.Group:
    data = schemas.Group(
        slug=group.slug,
        kind=group.kind.value,
        language=group.language,
        title=schemas.Texts(fi=group.title_fi, sv=group.title_sv, en=group.title_en),
        description=schemas.Texts(
            fi=group.description_fi, sv=group.description_sv, en=group.description_en
        ),
        theme=group.theme,
        schedule=schemas.Schedule(
            weekday=group.weekday,
            start_time=group.start_time.strftime("%H:%M"),
            duration_minutes=group.duration_minutes,
            timezone=group.timezone,
            term_start=group.term_start.isoformat(),
            term_end=group.term_end.isoformat(),
            skip_holidays=group.skip_holidays,
        ),
        regions=[r.slug for r in group.regions],
        owner_region=group.owner_region.slug,
        url=url_for("groups.group_page", slug=group.slug, _external=True),
    )
    if group.kind.value == "closed":
        data["capacity"] = group.capacity
        data["application_window"] = schemas.ApplicationWindow(
            opens=group.application_opens.isoformat() if group.application_opens else None,
            closes=group.application_closes.isoformat() if group.application_closes else None,
        )
    return data


def session_json(session: Session, staff: bool = False) -> schemas.Session:
    """A session; staff also see who leads it (public items name only the host region)."""
    zone = session.group.zone
    item = schemas.Session(
        id=session.id,
        starts_at=session.starts_at.astimezone(zone).isoformat(),
        ends_at=session.ends_at.astimezone(zone).isoformat(),
        status=session.status.value,
        host_region=session.host_region.slug if session.host_region else None,
        topic=session.topic,
    )
    if staff:
        lead = session.lead_facilitator
        item["lead_facilitator"] = schemas.Facilitator(id=lead.id, name=lead.name) if lead else None
    return item


def api_error(status: int, message: str, fields: dict[str, list[str]] | None = None) -> Response:
    detail = schemas.ErrorDetail(code=status, message=message)
    if fields:
        detail["fields"] = fields
    response = jsonify(schemas.Error(error=detail))
    response.status_code = status
    return response


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.get("/regions")
def regions() -> ResponseReturnValue:
    items = db.session.scalars(select(Region).order_by(Region.slug))
    return jsonify(schemas.RegionList(items=[region_json(r) for r in items]))


@bp.get("/groups")
def groups() -> ResponseReturnValue:
    for name, values in schemas.GROUP_FILTERS.items():
        if request.args.get(name) not in (None, *values):
            return api_error(400, schemas.filter_message(name))
    kind, language = request.args.get("kind"), request.args.get("language")
    found = service.groups_for_listing(kind, language)
    return jsonify(schemas.GroupList(items=[group_json(g) for g in found]))


@bp.get("/groups/<slug>")
def group(slug: str) -> ResponseReturnValue:
    found = load_visible_group_or_404(slug)
    return jsonify(group_json(found))


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        abort(api_error(400, f"{name} must be a date like 2027-01-31"))
    first, last = SUPPORTED_DATES
    if not first <= value <= last:
        abort(api_error(400, f"{name} must be a date from {first} to {last}"))
    return value


@bp.get("/groups/<slug>/sessions")
def group_sessions(slug: str) -> ResponseReturnValue:
    found = load_visible_group_or_404(slug)
    start, end = (_date_arg(name) for name in schemas.SESSION_DATE_FILTERS)
    staff = current_user.is_authenticated
    items = [
        session_json(s, staff)
        for s in found.sessions
        if (start is None or s.starts_at.astimezone(found.zone).date() >= start)
        and (end is None or s.starts_at.astimezone(found.zone).date() <= end)
    ]
    return jsonify(schemas.SessionList(items=items))


@bp.post("/groups")
def create_group() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return api_error(401, "log in as a coordinator or an administrator")
    if not can_create_groups(current_user):
        return api_error(403, "only coordinators and administrators create groups")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return api_error(400, "send a JSON object with Content-Type: application/json")
    regions = [(r.slug, r.slug) for r in db.session.scalars(select(Region))]
    form = schemas.group_form(payload, regions)
    if not form.validate():
        fields = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        return api_error(422, "invalid group", fields)
    try:
        saved = service.save_group_as(
            current_user,
            None,
            {name: form[name].data for name in service.GROUP_FIELDS},
            form.regions.data,
            form.owner_region.data,
        )
        db.session.commit()
    except service.ServiceError as error:
        db.session.rollback()
        status, summary = (
            (403, str(error.message))
            if isinstance(error, service.NotAllowed)
            else (422, "invalid group")
        )
        return api_error(status, summary, {error.field or "slug": [str(error.message)]})
    created = schemas.CreatedGroup(
        **group_json(saved), invited_regions=[i.region.slug for i in saved.pending_invitations]
    )
    return jsonify(created), 201
