"""Pages about the service itself: the accessibility statement (saavutettavuusseloste /
tillgänglighetsutlåtande) that the Act on the Provision of Digital Services (306/2019)
requires."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.regions.models import Region

bp = Blueprint("pages", __name__)

# The day the service was last assessed (tests/browser/) and this statement checked against
# it. Move it forward when the statement is reviewed again.
ASSESSED_ON = date(2026, 11, 23)
STATEMENT_PREPARED_ON = date(2026, 11, 23)

# The supervising authority's site, in the reader's language.
SUPERVISOR_SITE = {
    "fi": "https://www.saavutettavuusvaatimukset.fi",
    "sv": "https://www.tillganglighetskrav.fi",
    "en": "https://www.webaccessibility.fi",
}


@bp.get("/accessibility")
def accessibility() -> ResponseReturnValue:
    return render_template(
        "pages/accessibility.html",
        regions=db.session.scalars(select(Region).order_by(Region.slug)).all(),
        assessed_on=ASSESSED_ON,
        prepared_on=STATEMENT_PREPARED_ON,
        supervisor_site=SUPERVISOR_SITE.get(str(get_locale()), SUPERVISOR_SITE["fi"]),
    )
