"""A region of this database as a region export document (:mod:`.document` describes it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload, undefer

from remote_groups.applications.models import Application, ApplicationDecision
from remote_groups.backup.document import (
    APPLICATION_FIELDS,
    BLACKOUT_FIELDS,
    COUNT_FIELDS,
    DECISION_FIELDS,
    FORMAT,
    MARK_FIELDS,
    MATERIAL_FIELDS,
    NOTE_FIELDS,
    REGION_FIELDS,
    SESSION_FIELDS,
    USER_FIELDS,
    VERSION,
    BackupError,
    json_fields,
    to_json,
)
from remote_groups.backup.tables import GROUP_EXPORT_FIELDS
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.regions.models import Region, User
from remote_groups.rotation.models import Blackout
from remote_groups.running.models import (
    ParticipantAttendance,
    RegionAttendance,
    SessionMaterial,
    SessionNote,
)
from remote_groups.types import utcnow


def export_region(slug: str, *, with_applications: bool = False) -> dict[str, Any]:
    """The region's data as a JSON-ready document (see :mod:`.document`)."""
    region = db.session.scalar(select(Region).where(Region.slug == slug))
    if region is None:
        raise BackupError(f"No region {slug!r}.")
    users = db.session.scalars(select(User).where(User.region_id == region.id).order_by(User.email))
    blackouts = db.session.scalars(
        select(Blackout)
        .where(Blackout.region_id == region.id)
        .options(joinedload(Blackout.created_by))
        .order_by(Blackout.start_date, Blackout.id)
    )
    groups = list(
        db.session.scalars(
            select(RemoteGroup)
            .where(RemoteGroup.owner_region_id == region.id)
            .order_by(RemoteGroup.slug)
        )
    )
    group_ids = [group.id for group in groups]
    sessions = db.session.scalars(
        select(Session)
        .join(Session.group)
        .where(Session.group_id.in_(group_ids))
        .options(
            joinedload(Session.host_region),
            joinedload(Session.lead_facilitator),
            selectinload(Session.co_facilitators),
        )
        .order_by(RemoteGroup.slug, Session.occurrence_date)
    )
    records = _session_records(group_ids)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "region": json_fields(region, REGION_FIELDS),
        "users": [json_fields(user, USER_FIELDS) for user in users],
        "blackouts": [
            {
                **json_fields(blackout, BLACKOUT_FIELDS),
                "created_by": _email(blackout.created_by),
                "answered_by": _email(blackout.answered_by),
            }
            for blackout in blackouts
        ],
        "groups": [
            {**json_fields(group, GROUP_EXPORT_FIELDS), "regions": [r.slug for r in group.regions]}
            for group in groups
        ],
        "sessions": [
            {
                "group": session.group.slug,
                **json_fields(session, SESSION_FIELDS),
                "host_region": session.host_region.slug if session.host_region else None,
                "lead_facilitator": _email(session.lead_facilitator),
                "co_facilitators": sorted(user.email for user in session.co_facilitators),
                **records.get(session.id, {}),
            }
            for session in sessions
        ],
    }
    if with_applications:
        document["applications"] = _export_applications(group_ids)
    return document


def _export_applications(group_ids: list[int]) -> list[dict[str, Any]]:
    applications = db.session.scalars(
        select(Application)
        .join(Application.group)
        .where(Application.group_id.in_(group_ids))
        .options(
            joinedload(Application.home_region),
            undefer(Application.needs),
            selectinload(Application.decisions).joinedload(ApplicationDecision.by_user),
            selectinload(Application.participant),
        )
        .order_by(RemoteGroup.slug, Application.created_at, Application.id)
    )
    return [
        {
            "group": application.group.slug,
            **json_fields(application, APPLICATION_FIELDS),
            "home_region": application.home_region.slug,
            "decisions": [
                {**json_fields(decision, DECISION_FIELDS), "by": _email(decision.by_user)}
                for decision in application.decisions
            ],
            "participant_since": (
                to_json(application.participant.created_at) if application.participant else None
            ),
        }
        for application in applications
    ]


def _session_records(group_ids: list[int]) -> dict[int, dict[str, Any]]:
    """session id → {"record": …} for the sessions of those groups that have one (a session
    without one has no "record", as in documents written before records existed)."""
    of_groups = select(Session.id).where(Session.group_id.in_(group_ids))
    records: dict[int, dict[str, Any]] = {}

    def record(session_id: int) -> dict[str, Any]:
        entry = records.setdefault(
            session_id, {"record": {"note": None, "materials": [], "counts": [], "marks": []}}
        )
        return entry["record"]

    for note in db.session.scalars(
        select(SessionNote)
        .where(SessionNote.session_id.in_(of_groups))
        .options(joinedload(SessionNote.updated_by))
    ):
        record(note.session_id)["note"] = {
            **json_fields(note, NOTE_FIELDS),
            "updated_by": _email(note.updated_by),
        }
    for material in db.session.scalars(
        select(SessionMaterial)
        .where(SessionMaterial.session_id.in_(of_groups))
        .order_by(SessionMaterial.session_id, SessionMaterial.position)
    ):
        record(material.session_id)["materials"].append(json_fields(material, MATERIAL_FIELDS))
    for count in db.session.scalars(
        select(RegionAttendance)
        .join(RegionAttendance.region)
        .where(RegionAttendance.session_id.in_(of_groups))
        .options(joinedload(RegionAttendance.region))
        .order_by(RegionAttendance.session_id, Region.slug)
    ):
        record(count.session_id)["counts"].append(
            {"region": count.region.slug, **json_fields(count, COUNT_FIELDS)}
        )
    marks = db.session.execute(
        select(ParticipantAttendance, Region.slug)
        .join(Region, ParticipantAttendance.region_id == Region.id)
        .where(ParticipantAttendance.session_id.in_(of_groups))
        .order_by(
            ParticipantAttendance.session_id,
            Region.slug,
            ParticipantAttendance.present,
            ParticipantAttendance.recorded_at,
        )
    )
    for mark, slug in marks:
        record(mark.session_id)["marks"].append({"region": slug, **json_fields(mark, MARK_FIELDS)})
    return records


def _email(user: User | None) -> str | None:
    return user.email if user else None
