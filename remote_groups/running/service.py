"""A session's record: reading it for the session's page, saving what its facilitator sends,
the sums the network's exchange report reads, and forgetting notes after the retention period.
Callers commit; a refusal raises ServiceError before anything changes."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, delete, func, or_, select, type_coerce
from sqlalchemy.orm import contains_eager, joinedload

from remote_groups.applications.models import Application, ApplicationStatus, Participant
from remote_groups.encryption import UndecryptableData, decrypt
from remote_groups.extensions import db
from remote_groups.formatting import HELSINKI, value_in_helsinki
from remote_groups.groups.models import (
    GroupKind,
    RemoteGroup,
    Session,
    SessionStatus,
    session_co_facilitators,
)
from remote_groups.regions.models import Region, User
from remote_groups.running.models import (
    MAX_COUNT,
    MAX_MATERIALS,
    ParticipantAttendance,
    RegionAttendance,
    SessionMaterial,
    SessionNote,
)
from remote_groups.service import ServiceError
from remote_groups.types import utcnow
from remote_groups.validators import is_meeting_url

log = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 2000
RECENT_DAYS = 14


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedNeeds:
    """What a participant agreed to show the facilitators, or that it cannot be decrypted."""

    text: str | None
    unreadable: bool = False


def participants_of(group_id: int) -> list[Participant]:
    """The course's participants (accepted, not anonymized) by name, with their applications
    and home regions in the same query. The needs are not loaded (:func:`shared_needs`)."""
    return list(
        db.session.scalars(
            select(Participant)
            .join(Participant.application)
            .where(
                Participant.group_id == group_id,
                Application.status == ApplicationStatus.accepted,
                Application.anonymized_at.is_(None),
            )
            .options(contains_eager(Participant.application).joinedload(Application.home_region))
            .order_by(Application.name, Participant.id)
        ).unique()
    )


def shared_needs(participants: Iterable[Participant]) -> dict[int, SharedNeeds]:
    """The needs of those participants who agreed to show them to the facilitators, by
    participant id, in one query. Each value is decrypted on its own, so a value that no data
    key opens is shown as unreadable (and logged without its content) while the rest read."""
    by_application = {p.application_id: p.id for p in participants}
    if not by_application:
        return {}
    stored = type_coerce(Application.__table__.c.needs, Text)
    rows = db.session.execute(
        select(Application.id, stored).where(
            Application.id.in_(by_application),
            Application.needs_shared_at.is_not(None),
            Application.__table__.c.needs.is_not(None),
        )
    )
    shown: dict[int, SharedNeeds] = {}
    for application_id, token in rows:
        try:
            shown[by_application[application_id]] = SharedNeeds(
                decrypt(token, "applications.needs")
            )
        except UndecryptableData:
            log.exception("the needs of application %s cannot be decrypted", application_id)
            shown[by_application[application_id]] = SharedNeeds(None, unreadable=True)
    return shown


def marks_of(session: Session) -> dict[int, bool]:
    """participant id → present, for the participants marked at the session."""
    rows = db.session.execute(
        select(ParticipantAttendance.participant_id, ParticipantAttendance.present).where(
            ParticipantAttendance.session_id == session.id,
            ParticipantAttendance.participant_id.is_not(None),
        )
    )
    return {participant_id: present for participant_id, present in rows}


def counts_of(session: Session) -> dict[int, int]:
    """region id → how many of its clients came to the (open group's) session."""
    rows = db.session.execute(
        select(RegionAttendance.region_id, RegionAttendance.count).where(
            RegionAttendance.session_id == session.id
        )
    )
    return {region_id: count for region_id, count in rows}


def regions_for_counting(group: RemoteGroup) -> list[Region]:
    """Every region whose clients may come to an open group: the group's own in rotation
    order first (most clients come from them), then the rest of the network by slug."""
    own = group.regions
    own_ids = {region.id for region in own}
    others = db.session.scalars(select(Region).order_by(Region.slug))
    return own + [region for region in others if region.id not in own_ids]


def note_of(session: Session) -> SessionNote | None:
    return db.session.get(SessionNote, session.id)


def materials_of(session: Session) -> list[SessionMaterial]:
    return list(
        db.session.scalars(
            select(SessionMaterial)
            .where(SessionMaterial.session_id == session.id)
            .order_by(SessionMaterial.position)
        )
    )


def previous_session(session: Session) -> Session | None:
    """The group's session before this one that was held (not cancelled): its facilitator's
    note and materials are for this one's."""
    return db.session.scalar(
        select(Session)
        .where(
            Session.group_id == session.group_id,
            Session.starts_at < session.starts_at,
            Session.status == SessionStatus.scheduled,
        )
        .order_by(Session.starts_at.desc())
        .limit(1)
    )


def attendance_can_be_marked(session: Session, now: datetime | None = None) -> bool:
    """From the session's own day (in Helsinki) on, and never for a cancelled session."""
    now = now or utcnow()
    return not session.cancelled and value_in_helsinki(session.starts_at) <= value_in_helsinki(now)


def recent_sessions_of(user: User, now: datetime | None = None) -> list[Session]:
    """The sessions the user led or co-led in the last :data:`RECENT_DAYS` days, newest first:
    "my turns" lists only coming ones, and attendance is marked after a session."""
    now = now or utcnow()
    co_led = select(session_co_facilitators.c.session_id).where(
        session_co_facilitators.c.user_id == user.id
    )
    return list(
        db.session.scalars(
            select(Session)
            .where(
                Session.ends_at <= now,
                Session.starts_at >= now - timedelta(days=RECENT_DAYS),
                Session.status == SessionStatus.scheduled,
                or_(Session.lead_facilitator_id == user.id, Session.id.in_(co_led)),
            )
            .options(joinedload(Session.group))
            .order_by(Session.starts_at.desc())
        )
    )


def last_and_next(group: RemoteGroup, now: datetime | None = None) -> list[Session]:
    """The group's last session held and its next one (those that exist), oldest first: the
    two whose record its staff keep now."""
    now = now or utcnow()
    held = Session.status == SessionStatus.scheduled
    last = db.session.scalar(
        select(Session)
        .where(Session.group_id == group.id, held, Session.starts_at <= now)
        .order_by(Session.starts_at.desc())
        .limit(1)
    )
    following = db.session.scalar(
        select(Session)
        .where(Session.group_id == group.id, held, Session.starts_at > now)
        .order_by(Session.starts_at)
        .limit(1)
    )
    return [s for s in (last, following) if s is not None]


# --- saving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    title: str
    url: str


@dataclass(frozen=True)
class RecordInput:
    """What the session's page sends. An empty mark or count (None) is "not marked": a saved
    one is removed."""

    marks: dict[int, bool | None] = field(default_factory=dict)
    counts: dict[int, int | None] = field(default_factory=dict)
    materials: list[Material] = field(default_factory=list)
    note: str = ""


def save_record(
    session: Session, user: User, data: RecordInput, now: datetime | None = None
) -> None:
    """Replace the session's record with ``data``: attendance, materials and note. Everything
    is checked first, so a refusal changes nothing."""
    now = now or utcnow()
    _check(session, data, now)
    _save_marks(session, data.marks, now)
    _save_counts(session, data.counts, now)
    _save_materials(session, data.materials)
    _save_note(session, user, data.note.strip(), now)
    db.session.flush()


def _check(session: Session, data: RecordInput, now: datetime) -> None:
    marked = any(v is not None for v in data.marks.values()) or any(
        v is not None for v in data.counts.values()
    )
    if marked and not attendance_can_be_marked(session, now):
        raise ServiceError(
            _l("Attendance can be marked on the day of the session or after it."), "attendance"
        )
    if data.marks:
        if session.group.kind != GroupKind.closed:
            raise ServiceError(_l("Only a course has participants to mark."), "attendance")
        known = {p.id for p in participants_of(session.group_id)}
        if not set(data.marks) <= known:
            raise ServiceError(_l("Someone marked is not a participant of the course."))
    if data.counts:
        if session.group.kind == GroupKind.closed:
            raise ServiceError(_l("A course's attendance is marked by name."), "attendance")
        if any(c is not None and not 0 <= c <= MAX_COUNT for c in data.counts.values()):
            raise ServiceError(_l("A count must be between 0 and 999."), "attendance")
        known = set(db.session.scalars(select(Region.id).where(Region.id.in_(data.counts))))
        if not set(data.counts) <= known:
            raise ServiceError(_l("Choose regions of the network."), "attendance")
    if len(data.materials) > MAX_MATERIALS:
        raise ServiceError(_l("At most 10 links."), "materials")
    for material in data.materials:
        if not material.title.strip() or len(material.title) > 200:
            raise ServiceError(_l("Give each link a name of at most 200 characters."), "materials")
        if len(material.url) > 500 or not is_meeting_url(material.url):
            raise ServiceError(
                _l("A link must be a web address starting with https:// or http://."),
                "materials",
            )
    if len(data.note) > MAX_NOTE_LENGTH:
        raise ServiceError(_l("The note can be at most 2000 characters."), "note")


def _save_marks(session: Session, marks: dict[int, bool | None], now: datetime) -> None:
    if not marks:
        return
    existing = {
        a.participant_id: a
        for a in db.session.scalars(
            select(ParticipantAttendance).where(
                ParticipantAttendance.session_id == session.id,
                ParticipantAttendance.participant_id.in_(marks),
            )
        )
    }
    regions = dict(
        db.session.execute(
            select(Participant.id, Application.home_region_id)
            .join(Participant.application)
            .where(Participant.id.in_(marks))
        ).all()
    )
    for participant_id, present in marks.items():
        row = existing.get(participant_id)
        if present is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(
                ParticipantAttendance(
                    session_id=session.id,
                    participant_id=participant_id,
                    region_id=regions[participant_id],
                    present=present,
                    recorded_at=now,
                )
            )
        elif row.present != present:
            row.present, row.recorded_at = present, now


def _save_counts(session: Session, counts: dict[int, int | None], now: datetime) -> None:
    if not counts:
        return
    existing = {
        row.region_id: row
        for row in db.session.scalars(
            select(RegionAttendance).where(RegionAttendance.session_id == session.id)
        )
    }
    for region_id, count in counts.items():
        row = existing.get(region_id)
        if count is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(
                RegionAttendance(
                    session_id=session.id, region_id=region_id, count=count, recorded_at=now
                )
            )
        elif row.count != count:
            row.count, row.recorded_at = count, now


def _save_materials(session: Session, materials: list[Material]) -> None:
    db.session.execute(delete(SessionMaterial).where(SessionMaterial.session_id == session.id))
    for position, material in enumerate(materials):
        db.session.add(
            SessionMaterial(
                session_id=session.id,
                position=position,
                title=material.title.strip(),
                url=material.url,
            )
        )


def _save_note(session: Session, user: User, text: str, now: datetime) -> None:
    note = db.session.get(SessionNote, session.id)
    if not text:
        if note is not None:
            db.session.delete(note)
        return
    if note is None:
        db.session.add(
            SessionNote(session_id=session.id, text=text, updated_by_id=user.id, updated_at=now)
        )
    elif note.text != text:
        note.text, note.updated_by_id, note.updated_at = text, user.id, now


# --- the network's exchange report -----------------------------------------------------------


@dataclass(frozen=True)
class MonthlyAttendance:
    """How many times clients of a region came to sessions in a month (in Helsinki)."""

    region_id: int
    month: date  # its first day
    count: int


def attendance_by_region_and_month(first: date, last: date) -> list[MonthlyAttendance]:
    """Attendance per home region per month, for sessions held from ``first`` to ``last``
    (days in Helsinki, both included): a course's participants marked present and an open
    group's counts, added up; cancelled sessions left out. Sorted by month, then region.

    Two grouped queries (a row per session and region); the months are counted in Helsinki
    time here rather than in SQL, which SQLite and PostgreSQL write differently."""
    start = datetime.combine(first, time(), HELSINKI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), HELSINKI).astimezone(UTC)
    held = (
        Session.status == SessionStatus.scheduled,
        Session.starts_at >= start,
        Session.starts_at < end,
    )
    marked = db.session.execute(
        select(ParticipantAttendance.region_id, Session.starts_at, func.count())
        .join(Session, ParticipantAttendance.session_id == Session.id)
        .where(ParticipantAttendance.present.is_(True), *held)
        .group_by(ParticipantAttendance.region_id, Session.id, Session.starts_at)
    )
    counted = db.session.execute(
        select(RegionAttendance.region_id, Session.starts_at, RegionAttendance.count)
        .join(Session, RegionAttendance.session_id == Session.id)
        .where(*held)
    )
    totals: Counter[tuple[date, int]] = Counter()
    for region_id, starts_at, count in [*marked, *counted]:
        totals[(starts_at.astimezone(HELSINKI).date().replace(day=1), region_id)] += count
    return [
        MonthlyAttendance(region_id, month, count)
        for (month, region_id), count in sorted(totals.items())
        if count
    ]


# --- retention -------------------------------------------------------------------------------


def forget_notes(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Delete the notes of the sessions of groups whose term ended ``retention_days`` ago
    (Helsinki days), when the applications to a course are anonymized: a note may name a
    participant. Attendance needs no rule of its own: a participant's marks lose the person
    when the participant row goes (``ParticipantAttendance``)."""
    now = now or utcnow()
    days = retention_days if retention_days is not None else current_app.config["RETENTION_DAYS"]
    cutoff = value_in_helsinki(now) - timedelta(days=int(days))
    ended = (
        select(Session.id)
        .join(RemoteGroup, Session.group_id == RemoteGroup.id)
        .where(RemoteGroup.term_end < cutoff)
    )
    result = db.session.execute(
        delete(SessionNote)
        .where(SessionNote.session_id.in_(ended))
        .execution_options(synchronize_session=False)
    )
    log.info("deleted %d session notes", result.rowcount)
    return result.rowcount
