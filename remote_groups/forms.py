"""Form pieces that every domain's forms share, so that a rule and its plain-language message
exist once: the required-field message, the email field, the pattern of a web address name,
and the form behind every button that changes something."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from remote_groups.security.input_limits import single_line

REQUIRED = _l("Fill in this field.")
#: A web address name (slug): lowercase letters and digits in parts joined by single hyphens.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def email_field(label: Any, **kwargs: Any) -> EmailField:
    """An email field with one plain-language rule and message everywhere."""
    return EmailField(
        label,
        validators=[
            DataRequired(REQUIRED),
            Length(max=254),
            single_line,
            Email(_l("Check the email address. It should look like name@example.fi.")),
        ],
        **kwargs,
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token to check."""


def require_confirmation() -> None:
    """Refuse a button's request (400) unless it carries a valid CSRF token."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
