from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from remote_groups.formatting import language_choices, language_labels
from remote_groups.forms import REQUIRED, email_field
from remote_groups.security.input_limits import record_id, single_line

PHONE_PATTERN = r"^\+?[0-9 ()-]{5,30}$"


class ContactForm(FlaskForm):
    name = StringField(
        _l("Your name"), validators=[DataRequired(REQUIRED), Length(max=120), single_line]
    )
    email = email_field(_l("Email"), description=_l("We send the answer to this address."))
    phone = TelField(
        _l("Phone number (optional)"),
        validators=[
            Optional(),
            Length(max=40),
            single_line,
            Regexp(PHONE_PATTERN, message=_l("Check the phone number: digits, spaces and +.")),
        ],
    )


class ApplicationForm(ContactForm):
    home_region = RadioField(
        _l("Your welfare region"),
        validators=[InputRequired(_l("Choose your welfare region."))],
        validate_choice=False,
    )
    language = RadioField(
        _l("Language you want us to use"),
        choices=language_choices(("fi", "sv")),
        validators=[InputRequired(_l("Choose a language."))],
    )
    needs = TextAreaField(
        _l("What helps you take part? (optional)"),
        description=_l(
            "For example an assistant, an interpreter, large text or breaks. "
            "The course coordinators see this. The facilitators see it only if you tick the "
            "box below."
        ),
        validators=[Optional(), Length(max=2000)],
    )
    share_needs = BooleanField(
        _l("Facilitators of the sessions may see what I wrote about my needs"),
        description=_l(
            "Optional. Then the person leading a session knows how to help you. "
            "You can leave this empty."
        ),
    )
    motivation = TextAreaField(
        _l("Why do you want to join the course?"),
        description=_l("A few sentences are enough."),
        validators=[DataRequired(REQUIRED), Length(max=2000)],
    )
    consent = BooleanField(
        _l("I agree that my information is stored and handled as described above."),
        validators=[DataRequired(_l("You must agree before you can send the application."))],
    )

    def __init__(self, *args: Any, region_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.home_region.choices = region_choices


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            ("accepted", _l("Accept")),
            ("waitlisted", _l("Put on the waiting list")),
            ("rejected", _l("Do not accept")),
        ],
        validators=[InputRequired(REQUIRED)],
    )
    message = TextAreaField(
        _l("Message to the applicant (optional)"),
        validators=[Optional(), Length(max=1000)],
    )


class BulkDecisionForm(DecisionForm):
    applications = SelectMultipleField(_l("Applications"), coerce=record_id, validate_choice=False)


class SelectionForm(FlaskForm):
    accept = SelectMultipleField(
        _l("Accept these applicants"), coerce=record_id, validate_choice=False
    )


class ReviewFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False)
    region = SelectField(_l("Region"), validate_choice=False)
    language = SelectField(
        _l("Language"), choices=[("", _l("All")), *language_labels(("fi", "sv"))]
    )
