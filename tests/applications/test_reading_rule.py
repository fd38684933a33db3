"""Who may read which applications (README, "Who may read applications"): the coordinators of
the regions taking part in a course read all of its applications; the coordinators of an
applicant's home region read that application also after their region stopped taking part;
nobody else reads any."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.applications.models import Application, ApplicationStatus
from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.regions.models import User
from tests.applications.conftest import apply, id_of
from tests.conftest import csrf_token, login

OWNER = "coord@lu.example.org"  # lansi-uusimaa owns the course
DROPPED = "coord@siun.example.org"  # siun-sote took part until the owner dropped it


@pytest.fixture
def dropped(client, app: Flask, course: str) -> dict[str, int]:
    """Bea (siun-sote) and Lars (lansi-uusimaa) applied; then the owner region's coordinator
    dropped siun-sote from the course."""
    assert (
        apply(client, email="bea@example.org", name="Bea", home_region="siun-sote").status_code
        == 302
    )
    assert apply(client, email="lars@example.org", name="Lars").status_code == 302
    with app.app_context(), app.test_request_context():
        group = group_service.group_by_slug(course)
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        values = {name: getattr(group, name) for name in group_service.GROUP_FIELDS}
        group_service.save_group_as(owner, group, values, ["lansi-uusimaa", "varha"], None)
        db.session.commit()
        assert [r.slug for r in group.regions] == ["lansi-uusimaa", "varha"]
    return {"bea": id_of(app, "bea@example.org"), "lars": id_of(app, "lars@example.org")}


def test_a_dropped_regions_coordinator_still_reads_their_own_clients_application(client, dropped):
    login(client, DROPPED)
    response = client.get(f"/staff/applications/{dropped['bea']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Bea" in page
    assert "Tarvitsen avustajan." in page  # the needs too: the region is their controller
    assert 'action="/staff/applications/' not in page  # no decision form


def test_a_dropped_regions_coordinator_reads_no_other_regions_client(client, dropped):
    login(client, DROPPED)
    assert client.get(f"/staff/applications/{dropped['lars']}").status_code == 403


def test_a_dropped_regions_coordinator_lists_only_their_own_clients(client, dropped):
    login(client, DROPPED)
    response = client.get("/staff/courses/kurssi/applications")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Bea" in page and "Lars" not in page
    assert 'name="applications"' not in page  # nothing to decide with
    assert "/selection" not in page and "participants.csv" not in page


def test_a_dropped_regions_coordinator_no_longer_decides(client, app, dropped):
    login(client, DROPPED)
    token = csrf_token(client)
    response = client.post(
        f"/staff/applications/{dropped['bea']}/decide",
        data={"decision": "accepted", "message": "", "csrf_token": token},
    )
    assert response.status_code == 403
    for path in ("selection", "participants.csv"):
        assert client.get(f"/staff/courses/kurssi/{path}").status_code == 403
    with app.app_context():
        assert db.session.get(Application, dropped["bea"]).status == ApplicationStatus.submitted


def test_the_course_coordinators_read_every_application(client, dropped):
    login(client, OWNER)
    for application_id in dropped.values():
        assert client.get(f"/staff/applications/{application_id}").status_code == 200
    page = client.get("/staff/courses/kurssi/applications").get_data(as_text=True)
    assert "Bea" in page and "Lars" in page


@pytest.mark.parametrize(
    "email", ["coord@lappi.example.org", "admin@example.org", "fac@lu.example.org"]
)
def test_nobody_else_reads_an_application(client, dropped, email):
    login(client, email)
    for application_id in dropped.values():
        assert client.get(f"/staff/applications/{application_id}").status_code == 403
    assert client.get("/staff/courses/kurssi/applications").status_code == 403


def test_an_invited_region_reads_no_application_before_it_accepts(client, app, dropped):
    with app.app_context(), app.test_request_context():
        group = group_service.group_by_slug("kurssi")
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        values = {name: getattr(group, name) for name in group_service.GROUP_FIELDS}
        regions = ["lansi-uusimaa", "varha", "lappi"]
        group_service.save_group_as(owner, group, values, regions, None)
        db.session.commit()
        assert [i.region.slug for i in group.pending_invitations] == ["lappi"]
    login(client, "coord@lappi.example.org")
    assert client.get(f"/staff/applications/{dropped['lars']}").status_code == 403
    assert client.get("/staff/courses/kurssi/applications").status_code == 403
