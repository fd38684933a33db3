from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from remote_groups.formatting import language_choices
from remote_groups.forms import email_field


class SubscribeForm(FlaskForm):
    email = email_field(_l("Your email"))
    language = RadioField(
        _l("Language of the reminders"),
        choices=language_choices(("fi", "sv")),
        validators=[InputRequired(_l("Choose a language."))],
        default="fi",
    )
