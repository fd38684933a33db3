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


def administrator_outbox(site: Site) -> None:
    site.log_in(ADMIN[0], ADMIN[2])
    site.open("/staff/outbox")


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
    "coordinator's rotation": coordinator_page(f"/staff/groups/{COURSE}/rotation"),
    "coordinator's our turns": coordinator_page("/staff/our-turns"),
    "administrator's outbox": administrator_outbox,
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
