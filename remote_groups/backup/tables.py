"""The document's items as rows of the models' tables: the fields of a group (the groups
domain's ``GROUP_FIELDS`` and more), and how a field's JSON value becomes its column's value,
checked against the column's type and length. :data:`SCHEMA` is what
:func:`remote_groups.backup.document.read_document` is given."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import Boolean, Column, Date, Enum, Integer, String, Table, Time

from remote_groups.applications.models import Application, ApplicationDecision
from remote_groups.backup.document import BackupError, Schema, as_text, aware
from remote_groups.encryption import EncryptedText
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.groups.service import GROUP_FIELDS
from remote_groups.regions.models import Region, User
from remote_groups.rotation.models import Blackout
from remote_groups.running.models import (
    ParticipantAttendance,
    RegionAttendance,
    SessionMaterial,
    SessionNote,
)
from remote_groups.types import UTCDateTime

GROUP_EXPORT_FIELDS = (*GROUP_FIELDS, "timezone", "publication", "created_at", "updated_at")

# Each kind of item (its section of the document) and the table it is a row of.
TABLES: dict[str, Table] = {
    "region": Region.__table__,
    "users": User.__table__,
    "blackouts": Blackout.__table__,
    "groups": RemoteGroup.__table__,
    "sessions": Session.__table__,
    "applications": Application.__table__,
    "decisions": ApplicationDecision.__table__,
    "notes": SessionNote.__table__,
    "materials": SessionMaterial.__table__,
    "counts": RegionAttendance.__table__,
    "marks": ParticipantAttendance.__table__,
}


def column_value(kind: str, name: str, value: Any, place: str) -> Any:
    """The field ``name`` of an item of ``kind`` as its column's value."""
    return from_json(TABLES[kind].c[name], value, place)


def from_json(column: Column[Any], value: Any, place: str) -> Any:
    """A document value as the column's Python value, checked against its type and length."""
    if value is None:
        if column.nullable:
            return None
        raise BackupError(f"{place}: must not be empty.")
    kind = column.type
    try:
        if isinstance(kind, EncryptedText):  # plain text in the file, encrypted when saved
            return as_text(value)
        if isinstance(kind, UTCDateTime):
            return aware(value)
        if isinstance(kind, Enum):  # before String: an Enum is a String
            return kind.enum_class(value)
        if isinstance(kind, String):
            text = as_text(value)
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
            return date.fromisoformat(as_text(value))
        if isinstance(kind, Time):
            return time.fromisoformat(as_text(value))
    except ValueError as error:
        raise BackupError(f"{place}: {error}.") from None
    raise TypeError(f"no conversion from JSON for {kind!r} ({place})")


SCHEMA = Schema(group_fields=GROUP_EXPORT_FIELDS, value=column_value)
