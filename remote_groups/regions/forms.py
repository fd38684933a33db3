from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from remote_groups.formatting import language_choices
from remote_groups.forms import REQUIRED, SLUG_PATTERN, email_field
from remote_groups.regions.models import Role
from remote_groups.regions.passwords import password_problem


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class RegionSettingsForm(FlaskForm):
    """What a region's own coordinators choose about how its staff work."""

    facilitators_act_directly = BooleanField(
        _l("Facilitators act directly"),
        description=_l(
            "The region's facilitators mark the dates it cannot host and offer its sessions to "
            "other regions themselves. Otherwise what they propose waits for a coordinator's "
            "approval."
        ),
    )


class RegionForm(RegionSettingsForm):
    """The whole region, for administrators."""

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


def check_password_strength(known_words: list[str], field: Any) -> None:
    """A WTForms check: the shared password rule of ``regions.passwords``."""
    if field.data and (problem := password_problem(field.data, known_words)) is not None:
        raise ValidationError(problem)


class UserForm(FlaskForm):
    email = email_field(_l("Email"))
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    # A new user gets the least privilege unless the administrator chooses more.
    role = SelectField(
        _l("Role"),
        choices=[(role.value, role.label) for role in Role],
        default=Role.facilitator.value,
    )
    region = SelectField(_l("Region"), validate_choice=False)
    language = SelectField(_l("Language"), choices=language_choices(("fi", "sv", "en")))
    password = PasswordField(
        _l("New password"),
        description=_l(
            "Usually left empty: a new user gets an email with a link to choose their own"
            " password, and an existing user keeps theirs. A password typed here is one-time:"
            " the user must replace it with their own when they next log in."
        ),
        validators=[Optional(strip_whitespace=False)],
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.region.choices = [("", _l("No region (administrators)")), *region_choices]
        self._region_slugs = {slug for slug, _ in region_choices}

    def validate_password(self, field: Any) -> None:
        check_password_strength([self.email.data or "", self.name.data or ""], field)

    def validate_region(self, field: Any) -> None:
        if field.data and field.data not in self._region_slugs:
            raise ValidationError(_l("Unknown region: %(slugs)s", slugs=field.data))
        if not field.data and self.role.data != Role.admin.value:
            raise ValidationError(_l("Coordinators and facilitators belong to a region."))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


def new_password_field() -> PasswordField:
    return PasswordField(
        _l("New password"),
        description=_l(
            "At least 12 characters, not easy to guess. Several unrelated words are a good"
            " password."
        ),
        validators=[InputRequired(REQUIRED)],
    )


def new_password_again_field() -> PasswordField:
    return PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(REQUIRED),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )


class NewPasswordForm(FlaskForm):
    """A password chosen through a mailed link: the new one twice."""

    new_password = new_password_field()
    new_password_again = new_password_again_field()


class PasswordChangeForm(FlaskForm):
    """A staff member's own new password: the current one, and the new one twice."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    new_password = new_password_field()
    new_password_again = new_password_again_field()
