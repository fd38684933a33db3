"""A new region joins the groups it chooses in one step (issue 15), with the same care as an
accepted invitation: an administrator first sees every session whose host would change, group
by group, and who would be told; joining then changes nothing before the day chosen, keeps
every lead whose host stays, and mails exactly the people whose turns moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.regions.models import Role, User
from tests.conftest import csrf_token, helsinki_date, login
from tests.groups.conftest import OWNER
from tests.groups.test_edit_turn_preview import THREE, outbox, staffed, turns

__all__ = ["staffed"]  # the fixture, shared with the group form's tests

ADMIN = "admin@example.org"


def regions_of_group(app) -> list[str]:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        return [r.slug for r in group.regions]


def test_a_look_lists_the_changes_by_group_and_changes_nothing(client, app, staffed, now):
    before = turns(app)
    login(client, ADMIN)
    first = client.get("/staff/regions/lappi/groups")
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and 'value="test-group"' in page
    assert 'id="changes"' not in page and "error-summary" not in page
    day = helsinki_date(now) + timedelta(days=20)
    look = client.get(f"/staff/regions/lappi/groups?groups=test-group&applies_from={day}")
    page = look.get_data(as_text=True)
    assert look.status_code == 200
    assert "sessions get another host region" in page or "tapaamista saa toisen" in page
    assert "lappi fi" in page.split('id="changes"')[1]
    assert turns(app) == before and outbox(app) == [] and regions_of_group(app) == THREE


def test_joining_changes_nothing_before_the_day_and_tells_exactly_those_concerned(
    client, app, staffed, now
):
    before = turns(app)
    login(client, ADMIN)
    day = helsinki_date(now) + timedelta(days=20)
    response = client.post(
        "/staff/regions/lappi/groups",
        data={"groups": "test-group", "applies_from": day, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert regions_of_group(app) == [*THREE, "lappi"]
    after = turns(app)
    moved = {d for d in after if after[d][0] != before[d][0]}
    assert moved and min(moved) >= day
    assert any(after[d][0] == "lappi" for d in moved)
    for d, (host, lead) in after.items():
        if d < day or host == before[d][0]:
            assert lead == before[d][1]
        else:
            assert lead is None
    with app.app_context():
        touched = {before[d][0] for d in moved} | {after[d][0] for d in moved}
        coordinators = {
            u.email
            for u in db.session.scalars(select(User).where(User.role == Role.coordinator))
            if u.region is not None and u.region.slug in touched
        }
    mails = outbox(app)
    assert [r for k, r in mails if k == "turn_moved"] == sorted(before[d][1] for d in moved)
    assert {r for k, r in mails if k == "turns_changed"} == coordinators
    assert "coord@lappi.example.org" in coordinators


@pytest.mark.parametrize(
    "data",
    [{"applies_from": "2099-01-01"}, {"groups": "test-group"}, {"groups": "no-such-group"}],
    ids=["no group", "no day", "unknown group"],
)
def test_a_bad_request_is_refused_and_changes_nothing(client, app, staffed, data):
    before = turns(app)
    login(client, ADMIN)
    response = client.post(
        "/staff/regions/lappi/groups", data={**data, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 422
    assert turns(app) == before and regions_of_group(app) == THREE and outbox(app) == []


def test_only_an_administrator_brings_a_region_into_groups(client, app, staffed):
    login(client, OWNER)
    assert client.get("/staff/regions/lappi/groups").status_code == 403


def test_a_new_region_goes_on_to_choose_its_groups(client, app, staffed):
    login(client, ADMIN)
    response = client.post(
        "/staff/regions/new",
        data={
            "slug": "kainuu",
            "name_fi": "Kainuu",
            "name_sv": "Kajanaland",
            "name_en": "Kainuu",
            "contact_email": "info@kainuu.example.org",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/regions/kainuu/groups")
    page = client.get("/staff/regions").get_data(as_text=True)
    assert "/staff/regions/kainuu/groups" in page
