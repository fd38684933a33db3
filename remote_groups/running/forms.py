"""The session's page as one form: attendance (one question per participant of a course, or a
count per home region for an open group), the links shared and the note for the next
facilitator. Its fields depend on the course's participants and the network's regions, so
:func:`record_form` builds it for the session."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from remote_groups.applications.models import Participant
from remote_groups.regions.models import Region
from remote_groups.running.models import MAX_MATERIALS
from remote_groups.running.service import MAX_NOTE_LENGTH, Material, RecordInput
from remote_groups.security.input_limits import single_line
from remote_groups.validators import is_meeting_url

# Empty rows shown after the saved links, for new ones (no JavaScript adds rows).
BLANK_MATERIAL_ROWS = 3
PRESENT, ABSENT = "present", "absent"


def web_link(form: Any, field: Any) -> None:
    """A link that opens in a browser: http or https, with no spaces (the feeds' rule,
    :func:`is_meeting_url`)."""
    url = field.data or ""
    if not url:
        return
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValidationError(_l("A web address has no spaces. Check the link."))
    if not is_meeting_url(url):
        raise ValidationError(_l("Write the whole web address, starting with https://"))


class MaterialForm(Form):
    """One link: both of its fields, or neither (an empty row is left out)."""

    title = StringField(
        _l("Name of the link"), validators=[Optional(), Length(max=200), single_line]
    )
    url = StringField(_l("Web address"), validators=[Optional(), Length(max=500), web_link])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        title, url = (self.title.data or "").strip(), (self.url.data or "").strip()
        if url and not title:
            self.title.errors = [*self.title.errors, _l("Give the link a name.")]
            valid = False
        if title and not url:
            self.url.errors = [*self.url.errors, _l("Write the web address of the link.")]
            valid = False
        return valid


class RecordForm(FlaskForm):
    materials = FieldList(FormField(MaterialForm), max_entries=MAX_MATERIALS)
    note = TextAreaField(
        _l("Note for the next facilitator (optional)"),
        description=_l(
            "What was done, what to continue with. Do not write names or anything about "
            "anyone's health here."
        ),
        validators=[Optional(), Length(max=MAX_NOTE_LENGTH)],
    )

    # The names of the attendance fields, in the order shown.
    mark_fields: list[tuple[int, str]] = []
    count_fields: list[tuple[int, str]] = []

    def record(self) -> RecordInput:
        """What the valid form says, as the service takes it."""
        return RecordInput(
            marks={
                participant_id: _mark(self[name].data) for participant_id, name in self.mark_fields
            },
            counts={
                region_id: int(self[name].data) if self[name].data else None
                for region_id, name in self.count_fields
            },
            materials=[
                Material(entry.title.data.strip(), entry.url.data.strip())
                for entry in self.materials
                if (entry.title.data or "").strip()
            ],
            note=self.note.data or "",
        )


def _mark(value: str | None) -> bool | None:
    return {PRESENT: True, ABSENT: False}.get(value or "")


def record_form(
    participants: list[Participant],
    regions: list[tuple[Region, str]],
    *,
    marks_open: bool,
    **kwargs: Any,
) -> RecordForm:
    """The form for a session: a present/absent question per participant and a count per
    region (``regions``: each with its name in the reader's language), those only when
    attendance can be marked (``marks_open``)."""

    class SessionRecordForm(RecordForm):
        pass

    marks: list[tuple[int, str]] = []
    counts: list[tuple[int, str]] = []
    if marks_open:
        for participant in participants:
            name = f"present_{participant.id}"
            setattr(
                SessionRecordForm,
                name,
                RadioField(
                    participant.application.name,
                    choices=[(PRESENT, _l("Present")), (ABSENT, _l("Absent"))],
                    validators=[Optional()],
                ),
            )
            marks.append((participant.id, name))
        for region, label in regions:
            name = f"count_{region.id}"
            setattr(
                SessionRecordForm,
                name,
                StringField(
                    label,
                    validators=[
                        Optional(),
                        Regexp(r"^[0-9]{1,3}$", message=_l("Write a whole number from 0 to 999.")),
                    ],
                    filters=[lambda value: value.strip() if isinstance(value, str) else value],
                ),
            )
            counts.append((region.id, name))
    SessionRecordForm.mark_fields = marks
    SessionRecordForm.count_fields = counts
    return SessionRecordForm(**kwargs)
