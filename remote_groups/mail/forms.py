from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField
from wtforms.validators import DataRequired, Email, InputRequired, Length

from remote_groups.groups.forms import REQUIRED


class SubscribeForm(FlaskForm):
    email = EmailField(
        _l("Your email"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=254),
            Email(_l("Check the email address. It should look like name@example.fi.")),
        ],
    )
    language = RadioField(
        _l("Language of the reminders"),
        choices=[("fi", "suomi"), ("sv", "svenska")],
        validators=[InputRequired(_l("Choose a language."))],
        default="fi",
    )
