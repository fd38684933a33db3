"""A region export document written into this database, in one transaction.

The document is read and checked as a whole first (:func:`.document.read_document`), then
checked against this database. Staff named by email (facilitators, who added a blackout, who
decided on an application) are looked up in the file, then in the database. Someone found in
neither is left out of that place, as if their account had been deleted (the columns allow
exactly that), and the import reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError

from remote_groups.applications.models import Application, ApplicationDecision, Participant
from remote_groups.backup.document import BackupError, Plan, read_document
from remote_groups.backup.tables import SCHEMA
from remote_groups.extensions import db
from remote_groups.groups.models import Publication, RemoteGroup, Session
from remote_groups.regions.models import Region, User
from remote_groups.rotation.models import Blackout
from remote_groups.running.models import (
    ParticipantAttendance,
    RegionAttendance,
    SessionMaterial,
    SessionNote,
)


def import_region(document: Any) -> list[str]:
    """Check ``document`` as a whole, then write it in one transaction and commit.

    Refuses (BackupError, naming the item and the field) a document it cannot read, a region
    or group slug or a staff email that this database already has, and regions it refers to
    that are neither in the file nor here. On any refusal, including one from the database
    while writing, everything is rolled back.

    Returns the emails of staff whom the file names (as facilitators, say) but who are neither
    in the file nor in this database: those places are left empty.
    """
    plan = read_document(document, SCHEMA)
    try:
        found = _look_up(plan)
        _write(plan, found)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return found.unknown_staff


@dataclass
class _Found:
    """What the document refers to that this database already holds."""

    regions: dict[str, Region]
    staff: dict[str, User]
    unknown_staff: list[str]


def _look_up(plan: Plan) -> _Found:
    """Refuse what this database already has; find the regions and staff the file refers to."""
    slug = plan.region.values["slug"]
    if db.session.scalar(select(Region.id).where(Region.slug == slug)) is not None:
        raise BackupError(f"region.slug: region {slug!r} already exists in this database.")
    taken_groups = db.session.scalars(
        select(RemoteGroup.slug)
        .where(RemoteGroup.slug.in_([g.values["slug"] for g in plan.groups]))
        .order_by(RemoteGroup.slug)
    ).all()
    if taken_groups:
        raise BackupError(f"groups: already in this database: {', '.join(taken_groups)}.")
    emails = [user.values["email"] for user in plan.users]
    taken_emails = db.session.scalars(
        select(User.email).where(func.lower(User.email).in_(emails)).order_by(User.email)
    ).all()
    if taken_emails:
        raise BackupError(f"users: already in this database: {', '.join(taken_emails)}.")

    region_refs = [
        *((g.place, "regions", s) for g in plan.groups for s in g.refs["regions"]),
        *((s.place, "host_region", s.refs["host_region"]) for s in plan.sessions),
        *((a.place, "home_region", a.refs["home_region"]) for a in plan.applications),
        *(
            (row.place, "region", row.refs["region"])
            for s in plan.sessions
            if s.refs["record"]
            for row in (*s.refs["record"]["counts"], *s.refs["record"]["marks"])
        ),
    ]
    wanted = {ref for _, _, ref in region_refs if ref and ref != slug}
    regions = {
        region.slug: region
        for region in db.session.scalars(select(Region).where(Region.slug.in_(wanted)))
    }
    for place, name, ref in region_refs:
        if ref and ref != slug and ref not in regions:
            raise BackupError(f"{place}.{name}: no region {ref!r} in the file or in this database.")

    staff_refs = {
        *(b.refs[who] for b in plan.blackouts for who in ("created_by", "answered_by")),
        *(s.refs["lead_facilitator"] for s in plan.sessions),
        *(email for s in plan.sessions for email in s.refs["co_facilitators"]),
        *(d.refs["by"] for a in plan.applications for d in a.refs["decisions"]),
        *(
            s.refs["record"]["note"].refs["updated_by"]
            for s in plan.sessions
            if s.refs["record"] and s.refs["record"]["note"]
        ),
    } - {None, *emails}
    staff = {
        user.email.lower(): user
        for user in db.session.scalars(select(User).where(func.lower(User.email).in_(staff_refs)))
    }
    return _Found(regions, staff, sorted(staff_refs - staff.keys()))


def _write(plan: Plan, found: _Found) -> None:
    region = Region(**plan.region.values)
    _save(region, "region")
    regions = {**found.regions, region.slug: region}
    staff = dict(found.staff)
    for row in plan.users:
        user = User(**row.values, region=region)
        _save(user, row.place)
        staff[user.email] = user
    for row in plan.blackouts:
        created_by = staff.get(row.refs["created_by"])
        answered_by = staff.get(row.refs["answered_by"])
        blackout = Blackout(
            **row.values, region=region, created_by=created_by, answered_by=answered_by
        )
        _save(blackout, row.place)
    groups = {}
    for row in plan.groups:
        # A document from before drafts lacks the publication: every group then was public.
        values = {"publication": Publication.published, **row.values}
        group = RemoteGroup(**values, owner_region=region)
        group.set_regions([regions[ref] for ref in row.refs["regions"]])
        _save(group, row.place)
        groups[group.slug] = group
    for row in plan.sessions:
        session = Session(
            **row.values,
            group=groups[row.refs["group"]],
            host_region=regions.get(row.refs["host_region"]),
            lead_facilitator=staff.get(row.refs["lead_facilitator"]),
            co_facilitators=[staff[e] for e in row.refs["co_facilitators"] if e in staff],
        )
        _save(session, row.place)
        if row.refs["record"]:
            _write_record(session, row.refs["record"], regions, staff)
    for row in plan.applications:
        group = groups[row.refs["group"]]
        application = Application(
            **row.values, group=group, home_region=regions[row.refs["home_region"]]
        )
        application.decisions = [
            ApplicationDecision(**decision.values, by_user=staff.get(decision.refs["by"]))
            for decision in row.refs["decisions"]
        ]
        if row.refs["participant_since"] is not None:
            application.participant = Participant(
                group=group, created_at=row.refs["participant_since"]
            )
        _save(application, row.place)


def _write_record(
    session: Session, record: dict[str, Any], regions: dict[str, Region], staff: dict[str, User]
) -> None:
    """A session's record; its marks name no participant (``document``: left out)."""
    note = record["note"]
    if note is not None:
        updated_by = staff.get(note.refs["updated_by"])
        _save(SessionNote(**note.values, session_id=session.id, updated_by=updated_by), note.place)
    for row in record["materials"]:
        _save(SessionMaterial(**row.values, session_id=session.id), row.place)
    for row in record["counts"]:
        region = regions[row.refs["region"]]
        _save(RegionAttendance(**row.values, session_id=session.id, region=region), row.place)
    for row in record["marks"]:
        region_id = regions[row.refs["region"]].id
        _save(
            ParticipantAttendance(**row.values, session_id=session.id, region_id=region_id),
            row.place,
        )


def _save(row: db.Model, place: str) -> None:
    """Add and flush one item, so a refusal by the database names the item."""
    db.session.add(row)
    try:
        db.session.flush()
    except (IntegrityError, DataError) as error:
        reason = str(error.orig).splitlines()[0]
        raise BackupError(f"{place}: the database refused it ({reason}).") from None
