"""Staff pages speak in words, not codes (issue 15): no region slug, no internal session
number and, in Swedish, no Swedish ISO date (2026-12-02) in what a person reads.

An administrator, a coordinator and a facilitator of the demo walk their pages by the links
(``tests.crawl``), in Finnish and in Swedish. Only the visible text counts: slugs stay in URLs,
form values and other attributes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.demo import ADMIN, REGIONS, STAFF_PASSWORD, load_demo
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.i18n import LANGUAGE_COOKIE
from remote_groups.regions.models import Region
from remote_groups.rotation.models import Blackout
from tests.conftest import HELSINKI, csrf_token
from tests.crawl import crawl_from, page_type

OPEN, COURSE = "avoin-etaryhma", "hyvinvointikurssi"
SLUGS = [slug for slug, *_ in REGIONS]
# A slug as a word of its own: not part of an email address, a host name or a path
# ("coordinator@varha.example.org" is fine). Case matters: "Varha" is in a region's name.
SLUG_AS_WORD = re.compile(
    r"(?<![\w.@/-])(" + "|".join(map(re.escape, SLUGS)) + r")(?![\w@/-]|\.\w)"
)
# "session 19", "tapaaminen 19", "träff #19": a session's internal id. A date or a time after
# the word ("tapaaminen 3.12.2026", "träff 13.00") is not one.
SESSION_NUMBER = re.compile(
    r"\b(?:sessions?|tapaami\w*|träff\w*)\s+(?:#|nro\.?\s*|nr\.?\s*)?\d+(?!\d|[.:/-]\d)",
    re.IGNORECASE,
)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

STAFF = {
    "admin": (ADMIN[0], ADMIN[2]),
    "coordinator": ("coordinator@lansi-uusimaa.example.org", STAFF_PASSWORD),
    "facilitator": ("facilitator1@varha.example.org", STAFF_PASSWORD),
}
# The page types (endpoints) each role's walk must reach, so the test cannot pass by
# walking nothing.
MUST_VISIT = {
    "admin": {
        "staff_home.home",
        "rotation.my_turns",
        "rotation.group_rotation",
        "staff.users",
        "staff.edit_user",
        "staff.regions",
        "staff.edit_region",
        "staff_groups.join_groups",
        "staff_groups.edit_group",
        "staff_groups.edit_session",
        "staff_groups.regenerate",
        "groups.group_page",
        "outbox.outbox",
    },
    "coordinator": {
        "staff_home.home",
        "rotation.my_turns",
        "rotation.our_turns",
        "rotation.group_rotation",
        "applications.review",
        "applications.detail",
        "applications.selection",
        "staff_groups.edit_group",
        "staff_groups.edit_session",
        "staff_groups.regenerate",
        "rotation.facilitators",
        "rotation.propose_swap",
        "groups.group_page",
    },
    "facilitator": {
        "staff_home.home",
        "rotation.my_turns",
        "rotation.our_turns",
        "staff.account",
        "groups.group_page",
    },
}


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes only, without attributes, scripts and styles."""

    HIDDEN = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def codes_in(text: str, language: str) -> list[str]:
    """What the text says in codes, each with a little of its context."""

    def shown(match: re.Match[str], what: str) -> str:
        start, end = max(0, match.start() - 40), match.end() + 40
        return f"{what} {match.group(0)!r} in …{text[start:end]}…"

    found = [shown(m, "region slug") for m in SLUG_AS_WORD.finditer(text)]
    found += [shown(m, "session number") for m in SESSION_NUMBER.finditer(text)]
    if language == "sv":
        found += [shown(m, "ISO date") for m in ISO_DATE.finditer(text)]
    return found


def test_the_checks_tell_codes_from_words() -> None:
    html = (
        '<html><head><style>.varha{}</style></head><body><a href="/staff/regions/varha/edit" '
        'data-region="siun-sote">Varsinais-Suomen hyvinvointialue – Varha</a> '
        "<p>coordinator@varha.example.org, https://meet.example.org/varha</p>"
        "<p>Tapaaminen 3.12.2026 klo 13.00, träff 13.00</p><script>var x = 'varha';</script>"
        "</body></html>"
    )
    assert codes_in(visible_text(html), "sv") == []
    for bad in (
        "<td>varha</td>",
        "<p>re-plan: lansi-uusimaa</p>",
        "<li>tapaaminen 19: x → y</li>",
        "<li>träff 19</li>",
        "<li>Session #7</li>",
        "<td>2026-12-02 13:00</td>",
    ):
        assert codes_in(visible_text(bad), "sv"), bad


# --- the walk -------------------------------------------------------------------------------


def load_demo_with_a_pending_replan(app: Flask) -> None:
    """The demo, and a blackout the plan does not follow yet: Varha cannot host the course's
    first weeks, so the rotation page has a re-plan to preview (as after a blackout is added
    while the planner is not run)."""
    with app.app_context():
        load_demo()
        db.session.flush()
        varha = db.session.scalars(select(Region).where(Region.slug == "varha")).one()
        course = db.session.scalars(select(RemoteGroup).where(RemoteGroup.slug == COURSE)).one()
        days = [
            s.starts_at.astimezone(HELSINKI).date()
            for s in db.session.scalars(
                select(Session).where(Session.group_id == course.id).order_by(Session.starts_at)
            )
        ]
        db.session.add(
            Blackout(
                region=varha,
                start_date=days[0],
                end_date=days[0] + timedelta(weeks=4),
                reason="Koulutuspäivät",
            )
        )
        db.session.commit()


def log_in(client: FlaskClient, email: str, password: str) -> None:
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("role", list(STAFF))
def test_staff_pages_name_regions_and_sessions_in_words(
    app: Flask, client: FlaskClient, role: str, language: str
) -> None:
    load_demo_with_a_pending_replan(app)
    client.set_cookie(LANGUAGE_COOKIE, language)
    log_in(client, *STAFF[role])

    starts = [
        "/staff/",
        f"/staff/groups/{COURSE}/rotation",
        f"/staff/groups/{OPEN}/rotation",
        f"/staff/courses/{COURSE}/selection",
    ]
    pages = crawl_from(client, starts)

    types: dict[str, list[str]] = {}
    for path in pages:
        types.setdefault(page_type(app, path), []).append(path)
    missing = MUST_VISIT[role] - set(types)
    assert not missing, f"the walk did not reach {sorted(missing)}; it reached {sorted(types)}"

    problems = []
    for path, html in pages.items():
        assert f'<html lang="{language}"' in html, f"{path} is not in {language}"
        problems += [f"{path}: {problem}" for problem in codes_in(visible_text(html), language)]
    assert not problems, f"{len(problems)} codes on {len(pages)} pages:\n" + "\n".join(
        problems[:40]
    )


# The course meets on Mondays from 22 June 2026 (the demo loaded at tests.conftest.NOW);
# Varha's blackout makes a re-plan swap its turn on 6 July with Western Uusimaa's on 3 August.
REPLAN = {
    "fi": [
        "maanantai 6. heinäkuuta 2026: Varsinais-Suomen hyvinvointialue – Varha → "
        "Länsi-Uudenmaan hyvinvointialue",
        "maanantai 3. elokuuta 2026: Länsi-Uudenmaan hyvinvointialue → "
        "Varsinais-Suomen hyvinvointialue – Varha",
        "uusi suunnitelma: Länsi-Uudenmaan hyvinvointialue",
    ],
    "sv": [
        "måndag 6 juli 2026: Egentliga Finlands välfärdsområde – Varha → "
        "Västra Nylands välfärdsområde",
        "måndag 3 augusti 2026: Västra Nylands välfärdsområde → "
        "Egentliga Finlands välfärdsområde – Varha",
        "ny plan: Västra Nylands välfärdsområde",
    ],
}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_replan_preview_names_sessions_by_day_and_regions_by_name(
    app: Flask, client: FlaskClient, language: str
) -> None:
    load_demo_with_a_pending_replan(app)
    client.set_cookie(LANGUAGE_COOKIE, language)
    log_in(client, *STAFF["coordinator"])

    html = client.get(f"/staff/groups/{COURSE}/rotation").get_data(as_text=True)

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    for expected in REPLAN[language]:
        assert expected in text
