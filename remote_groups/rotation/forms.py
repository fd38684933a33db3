from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from remote_groups.forms import REQUIRED
from remote_groups.groups.forms import AppliesFromForm, applies_from_field
from remote_groups.security.input_limits import single_line, supported_date


class BlackoutForm(FlaskForm):
    start_date = DateField(_l("First day"), validators=[InputRequired(REQUIRED), supported_date])
    end_date = DateField(_l("Last day"), validators=[InputRequired(REQUIRED), supported_date])
    reason = StringField(
        _l("Reason"),
        description=_l("For example: staff training, holiday season."),
        validators=[DataRequired(REQUIRED), Length(max=300), single_line],
    )

    def validate_end_date(self, field: Any) -> None:
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValidationError(_l("The last day cannot be before the first day."))


class FacilitatorsForm(FlaskForm):
    lead = SelectField(_l("Lead facilitator"), validate_choice=False)
    co_facilitators = SelectMultipleField(_l("Co-facilitators"), validate_choice=False)


class SwapForm(FlaskForm):
    to_region = SelectField(_l("Region to ask"), validate_choice=False)
    other_session = SelectField(
        _l("Session to take in exchange"),
        description=_l("Leave empty to hand the session over without an exchange."),
        validate_choice=False,
        validators=[Optional()],
    )
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=1000)])


class BlackoutReplanForm(AppliesFromForm):
    """Planning the groups a blackout touches again: from which day. Sessions before it keep
    their host regions and their leads."""

    applies_from = applies_from_field(_l("The changes apply from"))


class JoinForm(AppliesFromForm):
    """Accepting an invitation: from which day the region takes turns. Sessions before it
    keep their hosts and their leads."""

    applies_from = applies_from_field(_l("Our region takes turns from"))
