"""Group and session forms. The JSON API validates through the same forms, so a rule and its
localized message exist once."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from remote_groups.formatting import language_labels, today_in_helsinki, weekday_name
from remote_groups.forms import REQUIRED, SLUG_PATTERN
from remote_groups.groups.models import MAX_DURATION_MINUTES, GroupKind, RotationPolicy
from remote_groups.security.input_limits import database_integer, single_line, supported_date
from remote_groups.validators import is_meeting_url

MAX_TERM_YEARS = 3


def years_later(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def duration_field(**kwargs: Any) -> IntegerField:
    return IntegerField(
        _l("Length in minutes"),
        validators=[
            InputRequired(REQUIRED),
            database_integer,
            NumberRange(
                min=1,
                max=MAX_DURATION_MINUTES,
                message=_l("The length must be 1–480 minutes (at most 8 hours)."),
            ),
        ],
        **kwargs,
    )


def https_only(form: Any, field: Any) -> None:
    """An https link that calendar feeds and invitations can carry: the feeds' own rule
    (:func:`is_meeting_url`), applied here so that a link they cannot write is refused when
    it is typed, not found later in every feed of the region."""
    url = field.data or ""
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValidationError(_l("The meeting link must not contain spaces or line breaks."))
    if not url.lower().startswith("https://"):
        raise ValidationError(_l("The meeting link must start with https://"))
    if not is_meeting_url(url):
        raise ValidationError(_l("The meeting link is not a web address."))


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def weekday_choices() -> list[tuple[int, str]]:
    return [(day, weekday_name(day)) for day in range(7)]


class GroupForm(FlaskForm):
    slug = StringField(
        _l("Web address name"),
        description=_l("Lowercase letters, digits and hyphens, e.g. wellbeing-spring"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=80),
            single_line,
            Regexp(SLUG_PATTERN, message=_l("Use lowercase letters a–z, digits and hyphens.")),
        ],
    )
    kind = RadioField(
        _l("Kind of group"),
        choices=[(kind.value, kind.label) for kind in GroupKind],
        validators=[InputRequired(REQUIRED)],
        default=GroupKind.open.value,
    )
    language = RadioField(
        _l("Language of the group"),
        choices=language_labels(("fi", "sv")),
        validators=[InputRequired(REQUIRED)],
        default="fi",
    )
    title_fi = StringField(
        _l("Title in Finnish"), validators=[Optional(), Length(max=200), single_line]
    )
    title_sv = StringField(
        _l("Title in Swedish"), validators=[Optional(), Length(max=200), single_line]
    )
    title_en = StringField(
        _l("Title in English"), validators=[Optional(), Length(max=200), single_line]
    )
    description_fi = TextAreaField(
        _l("What the group is, in Finnish"), validators=[Optional(), Length(max=5000)]
    )
    description_sv = TextAreaField(
        _l("What the group is, in Swedish"), validators=[Optional(), Length(max=5000)]
    )
    description_en = TextAreaField(
        _l("What the group is, in English"), validators=[Optional(), Length(max=5000)]
    )
    audience_fi = TextAreaField(
        _l("Who it is for, in Finnish"), validators=[Optional(), Length(max=2000)]
    )
    audience_sv = TextAreaField(
        _l("Who it is for, in Swedish"), validators=[Optional(), Length(max=2000)]
    )
    audience_en = TextAreaField(
        _l("Who it is for, in English"), validators=[Optional(), Length(max=2000)]
    )
    theme = StringField(_l("Theme"), validators=[Optional(), Length(max=80), single_line])
    meeting_url = URLField(
        _l("Meeting link"),
        validators=[DataRequired(REQUIRED), Length(max=500), https_only],
    )
    weekday = SelectField(
        _l("Weekday"),
        coerce=int,
        validators=[InputRequired(REQUIRED)],
        validate_choice=False,
    )
    start_time = TimeField(_l("Start time"), validators=[InputRequired(REQUIRED)])
    duration_minutes = duration_field(default=90)
    term_start = DateField(
        _l("First day of the term"), validators=[InputRequired(REQUIRED), supported_date]
    )
    term_end = DateField(
        _l("Last day of the term"), validators=[InputRequired(REQUIRED), supported_date]
    )
    skip_holidays = BooleanField(_l("No sessions on Finnish public holidays"), default=True)
    reminder_hours = StringField(
        _l("Reminders, hours before each session"),
        description=_l("For example 24, or 24,2 for two reminders."),
        default="24",
        validators=[
            Optional(),
            Length(max=40),  # the column's width: a longer list would not fit
            Regexp(
                r"^\s*\d{1,3}(\s*,\s*\d{1,3})*\s*$",
                message=_l("Write whole hours separated by commas, for example 24,2."),
            ),
        ],
    )
    rotation_policy = SelectField(
        _l("How regions take turns"),
        description=_l(
            "In turn: the regions host one after another in the turn order, and a region "
            "that cannot host a week is given the next turn instead. Fixed weeks: each region "
            "hosts by the week number (with two regions, one the even weeks and the other the "
            "odd ones), so the weeks are easy to remember. Preview the turns to see the first "
            "sessions before you save."
        ),
        choices=[(policy.value, policy.label) for policy in RotationPolicy],
        default=RotationPolicy.round_robin.value,
    )
    regions = CheckboxListField(_l("Participating regions, in turn order"), validate_choice=False)
    owner_region = SelectField(_l("Organizing region"), validate_choice=False)
    capacity = IntegerField(
        _l("Places"),
        validators=[
            Optional(),
            database_integer,
            NumberRange(min=1, message=_l("A course needs at least one place.")),
        ],
    )
    application_opens = DateField(_l("Applications open"), validators=[Optional(), supported_date])
    application_closes = DateField(
        _l("Applications close"), validators=[Optional(), supported_date]
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.weekday.choices = weekday_choices()
        self.regions.choices = region_choices
        self.owner_region.choices = region_choices
        self._region_slugs = {slug for slug, _ in region_choices}

    def validate_weekday(self, field: Any) -> None:
        if field.data is None or not 0 <= field.data <= 6:
            raise ValidationError(_l("Choose a weekday."))

    def validate_term_end(self, field: Any) -> None:
        if self.term_start.data and field.data and field.data < self.term_start.data:
            raise ValidationError(_l("The term cannot end before it starts."))
        start = None if self.term_start.errors else self.term_start.data
        if start and field.data and field.data > years_later(start, MAX_TERM_YEARS):
            # Every session of a term is generated and stored at once (a term running to
            # 2207 made 9,331 of them): a longer programme is several terms.
            raise ValidationError(
                _l("A term can be at most %(years)d years long.", years=MAX_TERM_YEARS)
            )

    def validate_regions(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one region."))
        unknown = [slug for slug in field.data if slug not in self._region_slugs]
        if unknown:
            raise ValidationError(_l("Unknown region: %(slugs)s", slugs=", ".join(unknown)))
        if len(set(field.data)) != len(field.data):
            raise ValidationError(_l("Each region can be chosen once."))

    def validate_owner_region(self, field: Any) -> None:
        if field.data and field.data not in self._region_slugs:
            raise ValidationError(_l("Unknown region: %(slugs)s", slugs=field.data))

    def validate(self, extra_validators: Any = None) -> bool:
        """Field rules first, then the rules between fields. (Inline ``validate_<field>``
        methods are skipped when a field is empty, and these rules are about empty fields.)"""
        valid = super().validate(extra_validators)
        for name, message in self._rules_between_fields():
            self[name].errors = [*self[name].errors, message]
            valid = False
        return valid

    def _rules_between_fields(self) -> list[tuple[str, Any]]:
        problems: list[tuple[str, Any]] = []
        own_title = self.title_fi if self.language.data == "fi" else self.title_sv
        if not own_title.data:
            problems.append((own_title.name, _l("Give a title in the group's own language.")))
        if self.kind.data == GroupKind.closed.value:
            if self.capacity.data is None and not self.capacity.errors:
                problems.append(("capacity", _l("A closed course needs a number of places.")))
            opens, closes = self.application_opens.data, self.application_closes.data
            if not (opens and closes):
                problems.append(
                    ("application_closes", _l("A closed course needs an application period."))
                )
            elif closes < opens:
                problems.append(
                    ("application_closes", _l("Applications cannot close before they open."))
                )
        return problems


class SessionForm(FlaskForm):
    """Move a single session, change its topic, or lock it against regeneration."""

    day = DateField(_l("Date"), validators=[InputRequired(REQUIRED), supported_date])
    start_time = TimeField(_l("Start time"), validators=[InputRequired(REQUIRED)])
    duration_minutes = duration_field()
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=200), single_line])
    locked = BooleanField(_l("Keep this session as it is when the schedule is regenerated"))
    reason = TextAreaField(
        _l("Reason for the change"),
        description=_l("Shown to participants when the time changes."),
        validators=[Optional(), Length(max=500)],
    )


class CancelSessionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for cancelling"),
        description=_l("Shown on the group page and in calendars."),
        validators=[DataRequired(REQUIRED), Length(max=500)],
    )


def applies_from_field(label: Any, required: bool = True) -> DateField:
    """The day from which a change of turns applies."""
    return DateField(
        label,
        description=_l(
            "Sessions before this day keep their host regions and lead facilitators. "
            "The suggestion leaves the next two weeks as they were announced."
        ),
        validators=[InputRequired(REQUIRED) if required else Optional(), supported_date],
    )


def from_tomorrow(form: Any, field: Any) -> None:
    """A change of turns applies from tomorrow at the earliest: never to what is under way."""
    if field.data is not None and field.data <= today_in_helsinki():
        raise ValidationError(_l("Choose a day from tomorrow on."))


class TurnOrderField(Field):
    """Each region's place in the turns, sent as one number input per region taking part
    (``turn_order-<slug>``), so the order can be set without JavaScript. ``data`` maps each
    sent slug to its place; a place left empty is None (the region keeps its order)."""

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.data: dict[str, int | None] = {}
        self.raw_data = []
        if formdata is None:
            return
        prefix = f"{self.name}-"
        for key in formdata:
            if not key.startswith(prefix):
                continue
            raw = (formdata.get(key) or "").strip()
            self.raw_data.append(raw)
            if not raw:
                self.data[key[len(prefix) :]] = None
            elif raw.isdecimal() and 1 <= int(raw) <= 999:
                self.data[key[len(prefix) :]] = int(raw)
            else:
                self.process_errors.append(_l("Give each place as a whole number, 1 or more."))
                return

    def ordered(self, slugs: list[str], current: list[str]) -> list[str]:
        """``slugs`` in turn order: by the places given, then as the group had them, then as
        sent. The regions' checkboxes arrive in the order of the list, not of the turns."""
        known = {slug: index for index, slug in enumerate(current)}

        def place(item: tuple[int, str]) -> tuple[float, int, int]:
            sent_index, slug = item
            given = self.data.get(slug)
            return (given if given is not None else float("inf"),
                    known.get(slug, len(known)), sent_index)  # fmt: skip

        return [slug for _, slug in sorted(enumerate(slugs), key=place)]


class GroupEditForm(GroupForm):
    """The staff page's group form: the API's fields, plus the turn order of the regions and,
    when saving moves turns already given, the day from which the change applies."""

    turn_order = TurnOrderField(_l("Turn order"))
    applies_from = applies_from_field(_l("The turns change from"), required=False)
    validate_applies_from = from_tomorrow


class AppliesFromForm(FlaskForm):
    """The day a change of turns applies from: sessions before it keep their hosts and leads."""

    applies_from = applies_from_field(_l("The turns change from"))
    validate_applies_from = from_tomorrow


class JoinGroupsForm(AppliesFromForm):
    """An administrator brings a region into chosen groups at once, with turns from a day on."""

    groups = CheckboxListField(_l("Groups the region joins"), validate_choice=False)
    applies_from = applies_from_field(_l("The region takes turns from"))

    def validate_groups(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one group."))
        known = {value for value, _label in field.choices or []}
        if any(slug not in known for slug in field.data):
            raise ValidationError(_l("Choose among the groups listed."))
