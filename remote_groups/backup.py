"""Export one region's data as a JSON document, and import such a document.

The nightly ``pg_dump`` backs up the whole database (README, "Backups"). A region export is a
readable copy of one region's own data: to move the region to another installation, or to
restore it alone into a fresh one.

The document (``format`` "remote_groups.region-export", ``version`` 1) holds:

- ``region``: the region with its names and contact address;
- ``users``: the region's staff *with their password hashes*, so that after an import into a
  fresh installation everyone logs in with the password they had. Whoever holds the file can
  try to crack those hashes: keep it as carefully as a database dump;
- ``blackouts``: the dates on which the region cannot host;
- ``groups``: the groups the region owns, with the participating regions in rotation order
  (other regions by slug: they must exist where the file is imported);
- ``sessions``: every session of those groups, times as aware UTC in ISO 8601, with the host
  region (slug), lead and co-facilitators (email), status and reasons, calendar UID and
  sequence, and the flags that keep a session as set by hand. The UID is imported as it is,
  so calendars that subscribed to a feed or got an invitation before the move recognise the
  session afterwards: a random UUID for a session created since migration 0006, and for an
  older one the UID it was published with, ``session-<id>@<host>`` (any single line of
  printable characters without spaces is taken). It came after the first documents of
  version 1 were written: a session without one gets a new UUID, and the version stays 1 (an
  older installation ignores it);
- ``applications``, only when asked for: applications to those groups with their decision log
  and the date the applicant took a seat. They hold personal and possibly health-related data:
  the needs in plain text (decrypted for the file, encrypted again with this installation's
  newest data key on import), so the file must be kept encrypted.

Left out on purpose:

- secret tokens (staff and participant feed tokens, application status tokens): imported rows
  get new ones, so a leaked export opens no feed; the old feed and status links stop working;
- the mail outbox: a delivery queue of rendered messages carrying those links, not region data;
  mail still waiting at export time is not carried over;
- email subscriptions to open groups: clients' addresses, not needed to run the groups;
- swap requests: an accepted swap lives on in its sessions (host and ``host_fixed``);
- login throttling: short-lived counters that expire on their own;
- administrators, who belong to no region.

Staff named by email (facilitators, who added a blackout, who decided on an application) are
looked up in the file, then in the database. Someone found in neither is left out of that
place, as if their account had been deleted (the columns allow exactly that), and the import
reports them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Boolean, Column, Date, Enum, Integer, String, Time, func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import joinedload, selectinload, undefer

from remote_groups.applications.models import Application, ApplicationDecision, Participant
from remote_groups.encryption import EncryptedText
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.groups.service import GROUP_FIELDS
from remote_groups.regions.models import Region, User
from remote_groups.rotation.models import Blackout
from remote_groups.types import UTCDateTime, utcnow

FORMAT = "remote_groups.region-export"
VERSION = 1

# The columns written as they are; references to other rows are written by slug or email.
REGION_FIELDS = ("slug", "name_fi", "name_sv", "name_en", "contact_email")
# A one-time password stays one-time in the new installation. ``session_version`` is left
# out: no login of the old installation works in the new one anyway (another secret key).
USER_FIELDS = (
    "email", "name", "role", "language", "active", "password_hash", "password_must_change",
    "created_at",
)  # fmt: skip
BLACKOUT_FIELDS = ("start_date", "end_date", "reason", "created_at")
GROUP_EXPORT_FIELDS = (*GROUP_FIELDS, "timezone", "created_at", "updated_at")
SESSION_FIELDS = (
    "uid", "occurrence_date", "starts_at", "ends_at", "status", "cancel_reason", "change_reason",
    "topic", "sequence", "locked", "host_fixed", "edited_at", "created_at", "updated_at",
)  # fmt: skip
APPLICATION_FIELDS = (
    "name", "email", "phone", "language", "needs", "motivation", "consent_at", "status",
    "offer_expires_at", "created_at", "updated_at", "anonymized_at",
)  # fmt: skip
DECISION_FIELDS = ("from_status", "to_status", "actor", "message", "at")
# Session fields that an older document of the same version may lack.
SESSION_FIELDS_ADDED_LATER = ("uid",)
USER_FIELDS_ADDED_LATER = ("password_must_change",)

SECTIONS = ("users", "blackouts", "groups", "sessions", "applications")


class BackupError(Exception):
    """An export or import that cannot be done. The message names the item and the field;
    nothing has been written."""


# --- export ----------------------------------------------------------------------------------


def export_region(slug: str, *, with_applications: bool = False) -> dict[str, Any]:
    """The region's data as a JSON-ready document (see the module docstring)."""
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
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "region": _fields(region, REGION_FIELDS),
        "users": [_fields(user, USER_FIELDS) for user in users],
        "blackouts": [
            {**_fields(blackout, BLACKOUT_FIELDS), "created_by": _email(blackout.created_by)}
            for blackout in blackouts
        ],
        "groups": [
            {**_fields(group, GROUP_EXPORT_FIELDS), "regions": [r.slug for r in group.regions]}
            for group in groups
        ],
        "sessions": [
            {
                "group": session.group.slug,
                **_fields(session, SESSION_FIELDS),
                "host_region": session.host_region.slug if session.host_region else None,
                "lead_facilitator": _email(session.lead_facilitator),
                "co_facilitators": sorted(user.email for user in session.co_facilitators),
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
            **_fields(application, APPLICATION_FIELDS),
            "home_region": application.home_region.slug,
            "decisions": [
                {**_fields(decision, DECISION_FIELDS), "by": _email(decision.by_user)}
                for decision in application.decisions
            ],
            "participant_since": (
                _to_json(application.participant.created_at) if application.participant else None
            ),
        }
        for application in applications
    ]


def _fields(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _to_json(getattr(row, name)) for name in names}


def _to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | time):  # datetimes too: aware UTC, so with "+00:00"
        return value.isoformat()
    return value


def _email(user: User | None) -> str | None:
    return user.email if user else None


def summary(document: dict[str, Any]) -> str:
    """How many items of each kind the document holds, e.g. "users: 3, groups: 1, …"."""
    return ", ".join(f"{key}: {len(document[key])}" for key in SECTIONS if key in document)


# --- import ----------------------------------------------------------------------------------


def import_region(document: Any) -> list[str]:
    """Check ``document`` as a whole, then write it in one transaction and commit.

    Refuses (BackupError, naming the item and the field) a document it cannot read, a region
    or group slug or a staff email that this database already has, and regions it refers to
    that are neither in the file nor here. On any refusal, including one from the database
    while writing, everything is rolled back.

    Returns the emails of staff whom the file names (as facilitators, say) but who are neither
    in the file nor in this database: those places are left empty.
    """
    plan = _read_document(document)
    try:
        found = _look_up(plan)
        _write(plan, found)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return found.unknown_staff


@dataclass
class _Row:
    """One item of the document: its place there (for messages), its column values and its
    references to other items (slugs and emails)."""

    place: str
    values: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    region: _Row
    users: list[_Row]
    blackouts: list[_Row]
    groups: list[_Row]
    sessions: list[_Row]
    applications: list[_Row]


@dataclass
class _Found:
    """What the document refers to that this database already holds."""

    regions: dict[str, Region]
    staff: dict[str, User]
    unknown_staff: list[str]


class _Item:
    """A JSON object of the document, read field by field with errors that say where."""

    def __init__(self, place: str, data: Any):
        if not isinstance(data, dict):
            raise BackupError(f"{place or 'The file'}: expected a JSON object.")
        self.place, self.data = place, data

    def at(self, name: str) -> str:
        return f"{self.place}.{name}" if self.place else name

    def get(self, name: str) -> Any:
        if name not in self.data:
            raise BackupError(f"{self.at(name)}: missing.")
        return self.data[name]

    def row(
        self, model: type[db.Model], names: tuple[str, ...], may_lack: tuple[str, ...] = ()
    ) -> _Row:
        """The item's values of ``names``. A field in ``may_lack`` that the item does not have
        is left out, so the model's default fills it in."""
        values = {
            name: _from_json(model.__table__.c[name], self.get(name), self.at(name))
            for name in names
            if name in self.data or name not in may_lack
        }
        return _Row(self.place, values)

    def item(self, name: str) -> _Item:
        return _Item(self.at(name), self.get(name))

    def items(self, name: str) -> list[_Item]:
        value = self.get(name)
        if not isinstance(value, list):
            raise BackupError(f"{self.at(name)}: expected a list.")
        return [_Item(f"{self.at(name)}[{index}]", entry) for index, entry in enumerate(value)]

    def key(self, name: str) -> str:
        """A reference to another item, by slug or email."""
        value = self.get(name)
        if not isinstance(value, str) or not value.strip():
            raise BackupError(f"{self.at(name)}: expected a slug or an email address.")
        return value.strip()

    def optional_key(self, name: str) -> str | None:
        return None if self.get(name) is None else self.key(name)

    def keys(self, name: str) -> list[str]:
        value = self.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise BackupError(f"{self.at(name)}: expected a list of slugs or email addresses.")
        return [v.strip() for v in value]

    def moment(self, name: str) -> datetime | None:
        value = self.get(name)
        try:
            return None if value is None else _aware(value)
        except ValueError as error:
            raise BackupError(f"{self.at(name)}: {error}.") from None


def _from_json(column: Column[Any], value: Any, place: str) -> Any:
    """A document value as the column's Python value, checked against its type and length."""
    if value is None:
        if column.nullable:
            return None
        raise BackupError(f"{place}: must not be empty.")
    kind = column.type
    try:
        if isinstance(kind, EncryptedText):  # plain text in the file, encrypted when saved
            return _text(value)
        if isinstance(kind, UTCDateTime):
            return _aware(value)
        if isinstance(kind, Enum):  # before String: an Enum is a String
            return kind.enum_class(value)
        if isinstance(kind, String):
            text = _text(value)
            if kind.length is not None and len(text) > kind.length:
                raise ValueError(f"longer than {kind.length} characters")
            return text
        if isinstance(kind, Boolean):
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, not {value!r}")
            return value
        if isinstance(kind, Integer):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected a whole number, not {value!r}")
            return value
        if isinstance(kind, Date):
            return date.fromisoformat(_text(value))
        if isinstance(kind, Time):
            return time.fromisoformat(_text(value))
    except ValueError as error:
        raise BackupError(f"{place}: {error}.") from None
    raise TypeError(f"no conversion from JSON for {kind!r} ({place})")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, not {value!r}")
    return value


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC)


def _read_document(document: Any) -> _Plan:
    """Everything that can be checked without the database: format, version, fields and
    types, repeats, and references between items of the file."""
    root = _Item("", document)
    if root.data.get("format") != FORMAT:
        raise BackupError(f"format: expected {FORMAT!r}; this is not a region export.")
    if root.get("version") != VERSION:
        raise BackupError(
            f"version: {root.data['version']!r} is not supported; "
            f"this installation reads version {VERSION}."
        )
    if root.moment("exported_at") is None:
        raise BackupError("exported_at: must not be empty.")
    region = root.item("region").row(Region, REGION_FIELDS)

    users = [
        item.row(User, USER_FIELDS, may_lack=USER_FIELDS_ADDED_LATER)
        for item in root.items("users")
    ]
    for user in users:
        user.values["email"] = user.values["email"].strip().lower()
    _refuse_repeats(users, "email", lambda row: row.values["email"])

    blackouts = []
    for item in root.items("blackouts"):
        blackout = item.row(Blackout, BLACKOUT_FIELDS)
        blackout.refs["created_by"] = _lower(item.optional_key("created_by"))
        blackouts.append(blackout)

    groups = []
    for item in root.items("groups"):
        group = item.row(RemoteGroup, GROUP_EXPORT_FIELDS)
        group.refs["regions"] = item.keys("regions")
        if not group.refs["regions"]:
            raise BackupError(f"{item.at('regions')}: a group needs at least one region.")
        if len(set(group.refs["regions"])) < len(group.refs["regions"]):
            raise BackupError(f"{item.at('regions')}: a region appears twice.")
        groups.append(group)
    _refuse_repeats(groups, "slug", lambda row: row.values["slug"])
    group_slugs = {group.values["slug"] for group in groups}

    sessions = []
    for item in root.items("sessions"):
        session = item.row(Session, SESSION_FIELDS, may_lack=SESSION_FIELDS_ADDED_LATER)
        if "uid" in session.values:
            _check_calendar_uid(session.values["uid"], item.at("uid"))
        session.refs["group"] = _group_in_file(item, group_slugs)
        session.refs["host_region"] = item.optional_key("host_region")
        session.refs["lead_facilitator"] = _lower(item.optional_key("lead_facilitator"))
        session.refs["co_facilitators"] = [e.lower() for e in item.keys("co_facilitators")]
        sessions.append(session)
    _refuse_repeats(
        sessions,
        "occurrence_date",
        lambda row: f"{row.refs['group']} {row.values['occurrence_date']}",
    )
    _refuse_repeats(
        [session for session in sessions if "uid" in session.values],
        "uid",
        lambda row: row.values["uid"],
    )

    applications = []
    for item in root.items("applications") if "applications" in root.data else []:
        application = item.row(Application, APPLICATION_FIELDS)
        application.refs["group"] = _group_in_file(item, group_slugs)
        application.refs["home_region"] = item.key("home_region")
        application.refs["participant_since"] = item.moment("participant_since")
        decisions = []
        for entry in item.items("decisions"):
            decision = entry.row(ApplicationDecision, DECISION_FIELDS)
            decision.refs["by"] = _lower(entry.optional_key("by"))
            decisions.append(decision)
        application.refs["decisions"] = decisions
        applications.append(application)
    _refuse_repeats(applications, "email", lambda row: f"{row.refs['group']} {row.values['email']}")
    return _Plan(region, users, blackouts, groups, sessions, applications)


def _check_calendar_uid(uid: str, place: str) -> None:
    """Refuse what cannot be a session's calendar UID. Not only UUIDs: a session that existed
    before migration 0006 keeps ``session-<id>@<host>``, and an export carries it. A UID is
    written into feeds and invitations as it is, so it must be one line of printable
    characters; without spaces, so that no blank-padded copy passes for another UID. The
    column's length (255) is checked with the other fields."""
    if not uid or not uid.isprintable() or " " in uid:
        raise BackupError(
            f"{place}: {uid!r} is not a calendar UID "
            "(one line of printable characters without spaces)."
        )


def _lower(email: str | None) -> str | None:
    return email.lower() if email else None


def _group_in_file(item: _Item, group_slugs: set[str]) -> str:
    slug = item.key("group")
    if slug not in group_slugs:
        raise BackupError(f"{item.at('group')}: no group {slug!r} in the file.")
    return slug


def _refuse_repeats(rows: list[_Row], name: str, key: Callable[[_Row], str]) -> None:
    """Refuse two items with the same key (which the database would refuse later anyway)."""
    seen: set[str] = set()
    for row in rows:
        value = key(row)
        if value in seen:
            raise BackupError(f"{row.place}.{name}: {value!r} appears twice in the file.")
        seen.add(value)


def _look_up(plan: _Plan) -> _Found:
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
        *(b.refs["created_by"] for b in plan.blackouts),
        *(s.refs["lead_facilitator"] for s in plan.sessions),
        *(email for s in plan.sessions for email in s.refs["co_facilitators"]),
        *(d.refs["by"] for a in plan.applications for d in a.refs["decisions"]),
    } - {None, *emails}
    staff = {
        user.email.lower(): user
        for user in db.session.scalars(select(User).where(func.lower(User.email).in_(staff_refs)))
    }
    return _Found(regions, staff, sorted(staff_refs - staff.keys()))


def _write(plan: _Plan, found: _Found) -> None:
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
        _save(Blackout(**row.values, region=region, created_by=created_by), row.place)
    groups = {}
    for row in plan.groups:
        group = RemoteGroup(**row.values, owner_region=region)
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


def _save(row: db.Model, place: str) -> None:
    """Add and flush one item, so a refusal by the database names the item."""
    db.session.add(row)
    try:
        db.session.flush()
    except (IntegrityError, DataError) as error:
        reason = str(error.orig).splitlines()[0]
        raise BackupError(f"{place}: the database refused it ({reason}).") from None
