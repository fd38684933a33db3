"""The accepted participants of a course as a spreadsheet file for its coordinators
(:mod:`remote_groups.applications.spreadsheet`), optionally with what helps them take part."""

from __future__ import annotations

import logging

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.applications.spreadsheet import spreadsheet_csv
from remote_groups.encryption import UndecryptableData
from remote_groups.extensions import db
from remote_groups.formatting import language_name, spreadsheet_date
from remote_groups.groups.models import RemoteGroup

log = logging.getLogger(__name__)

# The participants file's columns, in the coordinator's language.
PARTICIPANT_COLUMNS = (
    _l("Name"),
    _l("Email"),
    _l("Phone"),
    _l("Region"),
    _l("Language"),
    _l("Applied on"),
)
NEEDS_COLUMN = _l("What helps them take part")
UNREADABLE_NEEDS = _l("This cannot be decrypted: the data key is missing. Tell the administrator.")


def participants_csv(group: RemoteGroup, locale: str, include_needs: bool = False) -> str:
    """The accepted participants as a spreadsheet file (:mod:`spreadsheet`), headed in
    ``locale``, each participant's language named in it too. Dates are written as Finnish
    and Swedish Excel read a date (2.12.2026), whatever the coordinator's language: the file
    is made for those spreadsheets."""
    query = (
        select(Application)
        .where(Application.group_id == group.id, Application.status == ApplicationStatus.accepted)
        .order_by(Application.name)
    )
    accepted = db.session.scalars(query)
    with force_locale(locale):
        header = [str(label) for label in PARTICIPANT_COLUMNS]
        if include_needs:
            header.append(str(NEEDS_COLUMN))
        unreadable = str(UNREADABLE_NEEDS)
    rows = []
    for a in accepted:
        row = [
            a.name,
            a.email,
            a.phone,
            a.home_region.name(locale).text,
            language_name(a.language, reader=locale),
            spreadsheet_date(a.created_at),
        ]
        if include_needs:
            try:
                row.append(a.needs)
            except UndecryptableData:
                log.exception("the needs of application %s cannot be decrypted", a.id)
                row.append(unreadable)
        rows.append(row)
    return spreadsheet_csv(header, rows)
