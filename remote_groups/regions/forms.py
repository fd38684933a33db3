from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from remote_groups.groups.forms import REQUIRED, SLUG_PATTERN, email_field
from remote_groups.regions.models import Role


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class RegionForm(FlaskForm):
    slug = StringField(
        _l("Web address name"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=60),
            Regexp(SLUG_PATTERN, message=_l("Use lowercase letters a–z, digits and hyphens.")),
        ],
    )
    name_fi = StringField(
        _l("Name in Finnish"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    name_sv = StringField(
        _l("Name in Swedish"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    contact_email = email_field(_l("Contact email"))


class UserForm(FlaskForm):
    email = email_field(_l("Email"))
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    role = SelectField(_l("Role"), choices=[(role.value, role.label) for role in Role])
    region = SelectField(_l("Region"), validate_choice=False)
    language = SelectField(
        _l("Language"), choices=[("fi", "suomi"), ("sv", "svenska"), ("en", "English")]
    )
    password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. Leave empty to keep the current password."),
        validators=[Optional(), Length(min=12, max=200)],
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.region.choices = [("", _l("No region (administrators)")), *region_choices]
        self._region_slugs = {slug for slug, _ in region_choices}

    def validate_region(self, field: Any) -> None:
        if field.data and field.data not in self._region_slugs:
            raise ValidationError(_l("Unknown region: %(slugs)s", slugs=field.data))
        if not field.data and self.role.data != Role.admin.value:
            raise ValidationError(_l("Coordinators and facilitators belong to a region."))
