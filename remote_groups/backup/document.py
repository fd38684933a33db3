"""The region export document: what it holds, writing its values, reading and checking it.

This module needs no database and no app, and imports no models: what reading takes from the
models (the fields of a group, the column each field is read as) it is given as a
:class:`Schema` (:data:`remote_groups.backup.tables.SCHEMA`).

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
- which participant an attendance mark was: a session's ``record`` (a session that has one:
  the note for the next facilitator, the links shared, an open group's counts per region and
  a course's marks) carries each mark with the participant's home region and whether they
  came, so the network's counts survive, but not the person;
- login throttling: short-lived counters that expire on their own;
- administrators, who belong to no region.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

FORMAT = "remote_groups.region-export"
VERSION = 1

# The columns written as they are; references to other rows are written by slug or email.
# A group's fields are the groups domain's (``tables.GROUP_EXPORT_FIELDS``).
REGION_FIELDS = (
    "slug", "name_fi", "name_sv", "name_en", "contact_email", "facilitators_act_directly",
)  # fmt: skip
# A one-time password stays one-time in the new installation. ``session_version`` is left
# out: no login of the old installation works in the new one anyway (another secret key).
USER_FIELDS = (
    "email", "name", "role", "language", "active", "password_hash", "password_must_change",
    "created_at",
)  # fmt: skip
# A facilitator's proposal keeps its state: a proposed or declined blackout is not in use.
BLACKOUT_FIELDS = ("start_date", "end_date", "reason", "created_at", "status", "answered_at")
SESSION_FIELDS = (
    "uid", "occurrence_date", "starts_at", "ends_at", "status", "cancel_reason", "change_reason",
    "topic", "sequence", "locked", "host_fixed", "edited_at", "created_at", "updated_at",
)  # fmt: skip
APPLICATION_FIELDS = (
    "name", "email", "phone", "language", "needs", "motivation", "consent_at", "status",
    "offer_expires_at", "created_at", "updated_at", "anonymized_at", "needs_shared_at",
)  # fmt: skip
DECISION_FIELDS = ("from_status", "to_status", "actor", "message", "at", "unsent", "told_at")
# A session's record (``running``), under the session's optional "record".
NOTE_FIELDS = ("text", "updated_at")
MATERIAL_FIELDS = ("position", "title", "url")
COUNT_FIELDS = ("count", "recorded_at")
MARK_FIELDS = ("present", "recorded_at")
# Session fields that an older document of the same version may lack.
SESSION_FIELDS_ADDED_LATER = ("uid",)
USER_FIELDS_ADDED_LATER = ("password_must_change",)
REGION_FIELDS_ADDED_LATER = ("facilitators_act_directly",)
BLACKOUT_FIELDS_ADDED_LATER = ("status", "answered_at")
GROUP_FIELDS_ADDED_LATER = ("publication",)
APPLICATION_FIELDS_ADDED_LATER = ("needs_shared_at",)
DECISION_FIELDS_ADDED_LATER = ("unsent", "told_at")

SECTIONS = ("users", "blackouts", "groups", "sessions", "applications")


class BackupError(Exception):
    """An export or import that cannot be done. The message names the item and the field;
    nothing has been written."""


@dataclass(frozen=True)
class Schema:
    """What reading a document takes from the models, which this module does not import: the
    fields of a group, and ``value(kind, name, value, place)``, an item's field as its
    column's value, checked against the column's type and length (BackupError naming
    ``place`` if it does not fit). ``kind`` is the item's section ("region", "users",
    "blackouts", "groups", "sessions", "applications", or "decisions" of an application)."""

    group_fields: tuple[str, ...]
    value: Callable[[str, str, Any, str], Any]


# --- writing ---------------------------------------------------------------------------------


def json_fields(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: to_json(getattr(row, name)) for name in names}


def to_json(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | time):  # datetimes too: aware UTC, so with "+00:00"
        return value.isoformat()
    return value


def summary(document: dict[str, Any]) -> str:
    """How many items of each kind the document holds, e.g. "users: 3, groups: 1, …"."""
    return ", ".join(f"{key}: {len(document[key])}" for key in SECTIONS if key in document)


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One item of the document: its place there (for messages), its column values and its
    references to other items (slugs and emails)."""

    place: str
    values: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    region: Row
    users: list[Row]
    blackouts: list[Row]
    groups: list[Row]
    sessions: list[Row]
    applications: list[Row]


class _Item:
    """A JSON object of the document, read field by field with errors that say where."""

    def __init__(self, place: str, data: Any, schema: Schema):
        if not isinstance(data, dict):
            raise BackupError(f"{place or 'The file'}: expected a JSON object.")
        self.place, self.data, self.schema = place, data, schema

    def at(self, name: str) -> str:
        return f"{self.place}.{name}" if self.place else name

    def get(self, name: str) -> Any:
        if name not in self.data:
            raise BackupError(f"{self.at(name)}: missing.")
        return self.data[name]

    def row(self, kind: str, names: tuple[str, ...], may_lack: tuple[str, ...] = ()) -> Row:
        """The item's values of ``names``, read as the columns of ``kind``'s table. A field
        in ``may_lack`` that the item does not have is left out, so the model's default fills
        it in."""
        values = {
            name: self.schema.value(kind, name, self.get(name), self.at(name))
            for name in names
            if name in self.data or name not in may_lack
        }
        return Row(self.place, values)

    def item(self, name: str) -> _Item:
        return _Item(self.at(name), self.get(name), self.schema)

    def items(self, name: str) -> list[_Item]:
        value = self.get(name)
        if not isinstance(value, list):
            raise BackupError(f"{self.at(name)}: expected a list.")
        return [
            _Item(f"{self.at(name)}[{index}]", entry, self.schema)
            for index, entry in enumerate(value)
        ]

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
            return None if value is None else aware(value)
        except ValueError as error:
            raise BackupError(f"{self.at(name)}: {error}.") from None


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, not {value!r}")
    return value


def aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(as_text(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC)


def read_document(document: Any, schema: Schema) -> Plan:
    """Everything that can be checked without the database: format, version, fields and
    types, repeats, and references between items of the file."""
    root = _Item("", document, schema)
    if root.data.get("format") != FORMAT:
        raise BackupError(f"format: expected {FORMAT!r}; this is not a region export.")
    if root.get("version") != VERSION:
        raise BackupError(
            f"version: {root.data['version']!r} is not supported; "
            f"this installation reads version {VERSION}."
        )
    if root.moment("exported_at") is None:
        raise BackupError("exported_at: must not be empty.")
    region = root.item("region").row("region", REGION_FIELDS, may_lack=REGION_FIELDS_ADDED_LATER)

    users = [
        item.row("users", USER_FIELDS, may_lack=USER_FIELDS_ADDED_LATER)
        for item in root.items("users")
    ]
    for user in users:
        user.values["email"] = user.values["email"].strip().lower()
    _refuse_repeats(users, "email", lambda row: row.values["email"])

    blackouts = []
    for item in root.items("blackouts"):
        blackout = item.row("blackouts", BLACKOUT_FIELDS, may_lack=BLACKOUT_FIELDS_ADDED_LATER)
        blackout.refs["created_by"] = _lower(item.optional_key("created_by"))
        blackout.refs["answered_by"] = _lower(item.optional_key("answered_by"))
        blackouts.append(blackout)

    groups = []
    for item in root.items("groups"):
        group = item.row("groups", schema.group_fields, may_lack=GROUP_FIELDS_ADDED_LATER)
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
        session = item.row("sessions", SESSION_FIELDS, may_lack=SESSION_FIELDS_ADDED_LATER)
        if "uid" in session.values:
            _check_calendar_uid(session.values["uid"], item.at("uid"))
        session.refs["group"] = _group_in_file(item, group_slugs)
        session.refs["host_region"] = item.optional_key("host_region")
        session.refs["lead_facilitator"] = _lower(item.optional_key("lead_facilitator"))
        session.refs["co_facilitators"] = [e.lower() for e in item.keys("co_facilitators")]
        session.refs["record"] = (
            _session_record(item.item("record")) if "record" in item.data else None
        )
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
        application = item.row(
            "applications", APPLICATION_FIELDS, may_lack=APPLICATION_FIELDS_ADDED_LATER
        )
        application.refs["group"] = _group_in_file(item, group_slugs)
        application.refs["home_region"] = item.key("home_region")
        application.refs["participant_since"] = item.moment("participant_since")
        decisions = []
        for entry in item.items("decisions"):
            decision = entry.row("decisions", DECISION_FIELDS, may_lack=DECISION_FIELDS_ADDED_LATER)
            decision.refs["by"] = _lower(entry.optional_key("by"))
            decisions.append(decision)
        application.refs["decisions"] = decisions
        applications.append(application)
    _refuse_repeats(applications, "email", lambda row: f"{row.refs['group']} {row.values['email']}")
    return Plan(region, users, blackouts, groups, sessions, applications)


def _session_record(item: _Item) -> dict[str, Any]:
    """A session's record: the note (who wrote it by email), the links, the open group's counts
    and the course's attendance marks, each by region slug."""
    note = None
    if item.get("note") is not None:
        entry = item.item("note")
        note = entry.row("notes", NOTE_FIELDS)
        note.refs["updated_by"] = _lower(entry.optional_key("updated_by"))
    counts, marks = [], []
    for entry in item.items("counts"):
        counts.append(entry.row("counts", COUNT_FIELDS))
        counts[-1].refs["region"] = entry.key("region")
    for entry in item.items("marks"):
        marks.append(entry.row("marks", MARK_FIELDS))
        marks[-1].refs["region"] = entry.key("region")
    _refuse_repeats(counts, "region", lambda row: row.refs["region"])
    return {
        "note": note,
        "materials": [entry.row("materials", MATERIAL_FIELDS) for entry in item.items("materials")],
        "counts": counts,
        "marks": marks,
    }


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


def _refuse_repeats(rows: list[Row], name: str, key: Callable[[Row], str]) -> None:
    """Refuse two items with the same key (which the database would refuse later anyway)."""
    seen: set[str] = set()
    for row in rows:
        value = key(row)
        if value in seen:
            raise BackupError(f"{row.place}.{name}: {value!r} appears twice in the file.")
        seen.add(value)
