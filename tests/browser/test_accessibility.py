"""Every public and staff page a client or staff member uses passes axe-core's WCAG 2.1 A and
AA rules in real Chromium and fits a 320 px screen, in Finnish and in Swedish; the application
form works with the keyboard alone, with focus always visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.demo import ADMIN
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session, SessionStatus
from remote_groups.rotation.models import Blackout, BlackoutStatus, SwapRequest, SwapStatus
from tests.browser.conftest import Site, describe
from tools.browser import emulate_width

pytestmark = [pytest.mark.browser, pytest.mark.real_clock]

COURSE = "hyvinvointikurssi"
OPEN_GROUP = "avoin-etaryhma"
FACILITATOR = "facilitator1@lansi-uusimaa.example.org"
COORDINATOR = "coordinator@lansi-uusimaa.example.org"


def status_token(site: Site, status: ApplicationStatus) -> str:
    with site.server.app.app_context():
        return db.session.scalars(
            select(Application.status_token).where(Application.status == status).limit(1)
        ).one()


def application_form_with_errors(site: Site) -> None:
    site.open(f"/groups/{COURSE}/apply")
    site.driver.find_element("css selector", "main form[method=post] [type=submit]").click()
    site.wait_for(".error-summary")


def accepted_applicant_status(site: Site) -> None:
    site.open(f"/applications/{status_token(site, ApplicationStatus.accepted)}")


def pending_applicant_status(site: Site) -> None:
    site.open(f"/applications/{status_token(site, ApplicationStatus.submitted)}")


def facilitator_turns(site: Site) -> None:
    site.log_in(FACILITATOR)
    site.open("/staff/my-turns")


def coordinator_review(site: Site) -> None:
    site.log_in(COORDINATOR)
    site.open(f"/staff/courses/{COURSE}/applications")


def coordinator_page(path: str) -> Callable[[Site], None]:
    def open_page(site: Site) -> None:
        site.log_in(COORDINATOR)
        site.open(path)

    return open_page


def a_swedish_decision_saved(site: Site, sent: bool) -> None:
    """Tove (who wrote in Swedish) is put on the waiting list, unsent (the send page shows her
    mail), or also sent (the course's mail log lists it). Once per site: a later call finds
    her decided."""
    from remote_groups.applications.service import reviewing, sending
    from remote_groups.regions.models import User

    app = site.server.app
    with app.app_context(), app.test_request_context(base_url=app.config["BASE_URL"]):
        tove = db.session.scalars(
            select(Application).where(Application.name == "Tove Törnqvist")
        ).one()
        if tove.status == ApplicationStatus.submitted:
            coordinator = db.session.scalars(select(User).where(User.email == COORDINATOR)).one()
            reviewing.decide([tove], ApplicationStatus.waitlisted, coordinator)
        if sent and sending.unsent_count(tove.group_id):
            sending.send_decisions(tove.group)
        db.session.commit()


def coordinator_send_page(site: Site) -> None:
    a_swedish_decision_saved(site, sent=False)
    coordinator_page(f"/staff/courses/{COURSE}/decisions")(site)


def coordinator_course_mail(site: Site) -> None:
    a_swedish_decision_saved(site, sent=True)
    coordinator_page(f"/staff/courses/{COURSE}/mail")(site)


def running_a_session(slug: str) -> Callable[[Site], None]:
    """The coordinator's page for running the group's first session held (else its first)."""

    def open_page(site: Site) -> None:
        with site.server.app.app_context():
            session_id = db.session.scalars(
                select(Session.id)
                .join(RemoteGroup, Session.group_id == RemoteGroup.id)
                .where(RemoteGroup.slug == slug, Session.status == SessionStatus.scheduled)
                .order_by(Session.starts_at)
                .limit(1)
            ).one()
        site.log_in(COORDINATOR)
        site.open(f"/staff/sessions/{session_id}/running")

    return open_page


def facilitator_page(path: str) -> Callable[[Site], None]:
    def open_page(site: Site) -> None:
        site.log_in(FACILITATOR)
        site.open(path)

    return open_page


def demo_blackout(site: Site, status: BlackoutStatus) -> int:
    """The demo's dates of lansi-uusimaa in ``status`` (in use, or proposed by a facilitator)."""
    with site.server.app.app_context():
        return db.session.scalars(
            select(Blackout.id).where(Blackout.status == status).limit(1)
        ).one()


def demo_proposed_swap(site: Site, session: bool = False) -> int:
    """The demo facilitator's swap proposal (or the session it offers)."""
    column = SwapRequest.session_id if session else SwapRequest.id
    with site.server.app.app_context():
        return db.session.scalars(
            select(column).where(SwapRequest.status == SwapStatus.proposed).limit(1)
        ).one()


def administrator_outbox(site: Site) -> None:
    site.log_in(ADMIN[0], ADMIN[2])
    site.open("/staff/outbox")


def coordinator_turn_preview(site: Site) -> None:
    """The group form after "Preview the turns": the first sessions and their hosts."""
    site.log_in(COORDINATOR)
    site.open(f"/staff/groups/{OPEN_GROUP}/edit")
    site.driver.find_element("css selector", "button[name=turns][value=preview]").click()
    site.wait_for(".turn-preview")


def administrator_brings_a_region_into_a_group(site: Site) -> None:
    """A new region's groups, looked at from a day three weeks on."""
    from datetime import date, timedelta

    from remote_groups.regions.models import Region

    with site.server.app.app_context():
        if db.session.scalar(select(Region).where(Region.slug == "kainuu")) is None:
            names = {"name_fi": "Kainuun hyvinvointialue", "name_sv": "Kajanalands välfärdsområde"}
            db.session.add(
                Region(
                    slug="kainuu",
                    name_en="Kainuu",
                    contact_email="info@kainuu.example.org",
                    **names,
                )  # fmt: skip
            )
            db.session.commit()
    site.log_in(ADMIN[0], ADMIN[2])
    day = (date.today() + timedelta(days=21)).isoformat()
    site.open(f"/staff/regions/kainuu/groups?groups={OPEN_GROUP}&applies_from={day}")
    site.wait_for("#changes")


PAGES: dict[str, Callable[[Site], None]] = {
    "home": lambda site: site.open("/"),
    "group list": lambda site: site.open("/groups"),
    "open group page": lambda site: site.open(f"/groups/{OPEN_GROUP}"),
    "course page": lambda site: site.open(f"/groups/{COURSE}"),
    "application form with errors": application_form_with_errors,
    "accepted applicant's status": accepted_applicant_status,
    "pending applicant's status": pending_applicant_status,
    "withdrawal question": lambda site: site.open(
        f"/applications/{status_token(site, ApplicationStatus.accepted)}/withdraw"
    ),
    "facilitator's my turns": facilitator_turns,
    "coordinator's review": coordinator_review,
    "coordinator's staff home (what waits)": coordinator_page("/staff/"),
    "coordinator's selection": coordinator_page(f"/staff/courses/{COURSE}/selection"),
    "coordinator's decisions to send": coordinator_send_page,
    "coordinator's course mail log": coordinator_course_mail,
    "coordinator's rotation": coordinator_page(f"/staff/groups/{COURSE}/rotation"),
    "coordinator's our turns": coordinator_page("/staff/our-turns"),
    "coordinator's answer to proposed dates": lambda site: coordinator_page(
        f"/staff/blackouts/{demo_blackout(site, BlackoutStatus.proposed)}/proposal"
    )(site),
    "coordinator's answer to a proposed swap": lambda site: coordinator_page(
        f"/staff/swaps/{demo_proposed_swap(site)}/proposal"
    )(site),
    "coordinator's re-plan for dates": lambda site: coordinator_page(
        f"/staff/blackouts/{demo_blackout(site, BlackoutStatus.approved)}/replan"
    )(site),
    "coordinator's region settings": coordinator_page("/staff/regions/lansi-uusimaa/edit"),
    "coordinator's publish question": coordinator_page(f"/staff/groups/{COURSE}/publish"),
    "coordinator's back-to-draft question": coordinator_page(f"/staff/groups/{COURSE}/unpublish"),
    "facilitator's our turns (proposing)": facilitator_page("/staff/our-turns"),
    "facilitator's swap proposal": lambda site: facilitator_page(
        f"/staff/sessions/{demo_proposed_swap(site, session=True)}/swap"
    )(site),
    "administrator's outbox": administrator_outbox,
    "coordinator's group form with the turns previewed": coordinator_turn_preview,
    "coordinator's schedule update look": coordinator_page(
        f"/staff/groups/{OPEN_GROUP}/regenerate"
    ),
    "administrator's groups for a new region": administrator_brings_a_region_into_a_group,
    "running a course's session": running_a_session(COURSE),
    "running an open group's session": running_a_session(OPEN_GROUP),
    "accessibility statement": lambda site: site.open("/accessibility"),
}


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_axe_violations(site: Site, page: str, language: str) -> None:
    site.choose_language(language)
    PAGES[page](site)
    assert site.driver.find_element("css selector", "html").get_attribute("lang") == language
    assert site.driver.find_elements("css selector", "main h1"), "the page has its heading"
    violations = site.axe_violations()
    assert violations == [], f"axe-core on {site.driver.current_url}:\n{describe(violations)}"


# Elements that stick out to the right of the screen, except inside a region that scrolls
# sideways by itself (a wide staff table).
STICKING_OUT = """
return [...document.querySelectorAll("body *")]
  .filter(element => element.getBoundingClientRect().right > innerWidth + 1)
  .filter(element => !element.closest(".table-scroll"))
  .map(element => element.outerHTML.slice(0, 120));
"""


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("page", PAGES)
def test_page_fits_a_320_px_screen_without_sideways_scrolling(
    site: Site, page: str, language: str
) -> None:
    """WCAG 1.4.10 Reflow: 320 CSS pixels is a small phone, and 1280 pixels at 400 % zoom."""
    site.choose_language(language)
    PAGES[page](site)
    emulate_width(site.driver, 320)
    assert site.driver.execute_script(STICKING_OUT) == []
    assert site.driver.execute_script("return document.documentElement.scrollWidth") <= 320


FOCUS_STATE = """
const element = document.activeElement;
const style = getComputedStyle(element);
const box = element.getBoundingClientRect();
return {
  tag: element.tagName.toLowerCase(),
  type: element.type || "",
  name: element.name || "",
  id: element.id,
  classes: element.className,
  outlined: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
  shadowed: style.boxShadow !== "none",
  on_screen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
    && box.left < innerWidth && box.top < innerHeight,
};
"""

ANSWERS = {
    "name": "Kalle Näppäimistö",
    "email": "kalle.{language}@example.org",
    "phone": "+358 40 123 4567",
    "needs": "Isompi teksti auttaa.",
    "motivation": "Haluan tavata muita.",
}


def focus_state(site: Site) -> dict[str, Any]:
    return site.driver.execute_script(FOCUS_STATE)


def assert_focus_visible(state: dict[str, Any]) -> None:
    assert state["outlined"] or state["shadowed"], f"focus is not visible on {state}"
    assert state["on_screen"], f"the focused element is off screen: {state}"


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_application_form_works_with_the_keyboard_alone(site: Site, language: str) -> None:
    site.choose_language(language)
    site.open(f"/groups/{COURSE}/apply")

    site.press("TAB")
    state = focus_state(site)
    assert "skip-link" in state["classes"], f"the first Tab reaches the skip link, not {state}"
    assert_focus_visible(state)
    site.press("ENTER")
    assert focus_state(site)["id"] == "main", "the skip link moves focus to the main content"

    filled: set[str] = set()
    for _ in range(60):
        site.press("TAB")
        state = focus_state(site)
        assert_focus_visible(state)
        name, kind = state["name"], state["type"]
        if name in ANSWERS and name not in filled:
            site.type(ANSWERS[name].format(language=language))
        elif kind in ("radio", "checkbox") and name not in filled:
            site.press("SPACE")
        elif kind == "submit" and state["tag"] == "button":
            assert filled >= {*ANSWERS, "home_region", "language", "consent"}, filled
            site.press("ENTER")
            break
        else:
            continue
        filled.add(name)
    else:
        pytest.fail(f"Tab never reached the send button; filled {sorted(filled)}")

    site.wait_for_url("/received")
    assert site.wait_for("main h1").text, "the receipt page has its heading"


def test_errors_take_focus_and_lead_to_their_fields(site: Site) -> None:
    """After sending an empty form, focus is on the error summary, and its first link moves
    focus to the field it names, which has its error tied to it."""
    site.choose_language("fi")
    application_form_with_errors(site)
    state = focus_state(site)
    assert "error-summary" in state["classes"], f"focus starts on the error summary: {state}"
    site.press("TAB")
    link = site.driver.switch_to.active_element
    assert link.get_attribute("href").endswith("#name"), link.get_attribute("outerHTML")
    site.press("ENTER")
    state = focus_state(site)
    assert state["id"] == "name", f"the link moves focus to the name field: {state}"
    assert_focus_visible(state)
    described = site.driver.switch_to.active_element.get_attribute("aria-describedby")
    assert "name-error" in described.split(), "the field's error is tied to it"
