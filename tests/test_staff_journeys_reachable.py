"""From the staff home, a coordinator reaches every page of the three journeys by links alone
(issue 15), in Finnish and in Swedish: review and selection of a course's applications, a
group's rotation, the region's turns with its swaps and blackouts, a swap proposal, invitations
and their own turns."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from remote_groups.demo import STAFF_PASSWORD, load_demo
from remote_groups.extensions import db
from remote_groups.i18n import LANGUAGE_COOKIE
from tests.conftest import csrf_token
from tests.crawl import crawl, page_type

JOURNEY_PAGES = {
    # A client applies to a course: the coordinators review, select, read one application.
    "applications.review",
    "applications.selection",
    "applications.detail",
    # … send the decisions (the mails shown first) and see what mail went about the course.
    "course_mail.send_page",
    "course_mail.course_log",
    # Regions take turns: the rotation, our turns (swap requests, blackouts), a swap proposal,
    # assigning facilitators, my turns, invitations to take part.
    "rotation.group_rotation",
    "rotation.our_turns",
    "rotation.propose_swap",
    "rotation.facilitators",
    "rotation.my_turns",
    "staff_groups.invitations",
    # Facilitators' proposals to approve, dates re-planned from one place, how the region's
    # facilitators work.
    "rotation.answer_blackout_proposal",
    "rotation.answer_swap_proposal",
    "rotation.blackout_replan",
    "staff.edit_region",
    # Setting a group up.
    "staff_groups.edit_group",
    "staff_groups.edit_session",
    # Running a session: participants, attendance, materials, the note for the next one.
    "running.run_session",
}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_a_coordinator_reaches_every_journey_page_from_the_staff_home(
    app: Flask, client: FlaskClient, language: str
) -> None:
    with app.app_context():
        load_demo()
        db.session.commit()
    client.set_cookie(LANGUAGE_COOKIE, language)
    response = client.post(
        "/staff/login",
        data={
            "email": "coordinator@lansi-uusimaa.example.org",
            "password": STAFF_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302

    pages = crawl(client, "/staff/")

    reached = {page_type(app, path) for path in pages}
    assert JOURNEY_PAGES <= reached, sorted(JOURNEY_PAGES - reached)
    assert all(f'<html lang="{language}">' in html for html in pages.values())
