"""Who decides a group's structure: which regions take part, which region owns it, its kind
and its meeting link are the owner region's (its coordinators, and admins); a partner region's
coordinator edits the rest. A new group is its creator's own region's, and that region takes
part in it. Through the staff form and the JSON API alike."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind, RemoteGroup, Session
from remote_groups.regions.models import Region
from tests.conftest import HELSINKI, helsinki_date, login
from tests.groups.conftest import (
    MEETING_URL,
    OWNER,
    PARTNER,
    api_group,
    edit_form,
    sessions_and_hosts,
    stored_group,
)

# --- a partner's coordinator ------------------------------------------------------------------


STRUCTURE_CHANGES = {
    "drop-regions": ("regions", {"regions": ["siun-sote"]}),
    "drop-one-region": ("regions", {"regions": ["lansi-uusimaa", "siun-sote"]}),
    "add-a-region": ("regions", {"regions": ["lansi-uusimaa", "siun-sote", "varha", "lappi"]}),
    "change-the-owner": ("owner_region", {"owner_region": "siun-sote"}),
    "change-the-kind": (
        "kind",
        {
            "kind": "closed",
            "capacity": "10",
            "application_opens": "2026-06-01",
            "application_closes": "2026-06-30",
        },
    ),
    "change-the-meeting-link": ("meeting_url", {"meeting_url": "https://evil.example.org/x"}),
}


@pytest.mark.parametrize(
    ("field", "changes"), STRUCTURE_CHANGES.values(), ids=STRUCTURE_CHANGES.keys()
)
def test_a_partner_coordinator_cannot_change_the_structure_and_nothing_is_saved(
    client, app, partners, field, changes
):
    login(client, PARTNER)
    before, sessions = stored_group(app), sessions_and_hosts(app)
    response = client.post("/staff/groups/test-group/edit", data=edit_form(client, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert f'id="{field}-error"' in page
    assert "Vain järjestävän hyvinvointialueen koordinaattorit voivat muuttaa tätä." in page
    assert stored_group(app) == before  # not even the new title
    assert sessions_and_hosts(app) == sessions


def test_a_partner_coordinator_sees_the_structure_disabled(client, partners):
    login(client, PARTNER)
    page = client.get("/staff/groups/test-group/edit").get_data(as_text=True)
    for name in ("kind", "meeting_url", "regions", "owner_region"):
        inputs = [tag for tag in page.split("<")[1:] if f'name="{name}"' in tag]
        assert inputs, name
        assert all("disabled" in tag for tag in inputs), name
    title = next(tag for tag in page.split("<")[1:] if 'name="title_fi"' in tag)
    assert "disabled" not in title


def test_a_partner_coordinator_still_edits_the_rest_of_the_group(client, app, partners):
    """What a browser sends from the partner's page: the disabled structure fields left out."""
    login(client, PARTNER)
    data = edit_form(client, title_fi="Kumppanin nimi", start_time="14:00")
    for name in ("kind", "meeting_url", "regions"):
        del data[name]
    response = client.post("/staff/groups/test-group/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    after = stored_group(app)
    assert after["title_fi"] == "Kumppanin nimi"
    assert (after["kind"], after["meeting_url"], after["owner"]) == (
        GroupKind.open,
        MEETING_URL,
        "lansi-uusimaa",
    )
    assert after["regions"] == ["lansi-uusimaa", "siun-sote", "varha"]


def test_a_partner_coordinator_may_send_the_structure_unchanged(client, app, partners):
    login(client, PARTNER)
    data = edit_form(client, regions=["varha", "siun-sote", "lansi-uusimaa"])
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    after = stored_group(app)
    assert after["title_fi"] == "Uusi nimi"
    assert after["regions"] == ["lansi-uusimaa", "siun-sote", "varha"]  # the order stays too


# --- the owner's coordinator and an admin -------------------------------------------------------


@pytest.mark.parametrize("email", [OWNER, "admin@example.org"], ids=["owner", "admin"])
def test_the_owner_coordinator_and_an_admin_drop_a_region_and_change_the_link(
    client, app, partners, email, now
):
    login(client, email)
    data = edit_form(
        client, regions=["lansi-uusimaa", "varha"], meeting_url="https://meet.example.org/new"
    )
    # Dropping a region moves its turns: first a preview, nothing saved.
    response = client.post("/staff/groups/test-group/edit", data=data)
    assert response.status_code == 200 and "applies_from" in response.get_data(as_text=True)
    assert stored_group(app)["regions"] == ["lansi-uusimaa", "siun-sote", "varha"]
    tomorrow = helsinki_date(now) + timedelta(days=1)
    data = edit_form(
        client,
        regions=["lansi-uusimaa", "varha"],
        meeting_url="https://meet.example.org/new",
        applies_from=tomorrow.isoformat(),
        turns="apply",
    )
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    after = stored_group(app)
    assert after["regions"] == ["lansi-uusimaa", "varha"]
    assert after["meeting_url"] == "https://meet.example.org/new"
    start = datetime.combine(tomorrow, time(0), tzinfo=HELSINKI)
    with app.app_context():
        hosts = set(
            db.session.scalars(
                select(Region.slug)
                .join(Session, Session.host_region_id == Region.id)
                .where(Session.starts_at >= start)
            )
        )
    assert hosts and "siun-sote" not in hosts


@pytest.mark.parametrize("email", [OWNER, "admin@example.org"], ids=["owner", "admin"])
def test_the_owner_coordinator_and_an_admin_hand_the_group_to_a_partner(
    client, app, partners, email
):
    login(client, email)
    data = edit_form(client, owner_region="siun-sote")
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    assert stored_group(app)["owner"] == "siun-sote"


def test_the_owner_coordinator_changes_the_kind(client, app, partners):
    login(client, OWNER)
    data = edit_form(
        client,
        kind="closed",
        capacity="10",
        application_opens="2026-06-01",
        application_closes="2026-06-30",
    )
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    assert stored_group(app)["kind"] == GroupKind.closed


def test_the_owner_region_cannot_leave_its_own_group(client, app, partners):
    login(client, OWNER)
    before = stored_group(app)
    data = edit_form(client, regions=["siun-sote", "varha"])
    response = client.post("/staff/groups/test-group/edit", data=data)
    assert response.status_code == 422
    assert 'id="regions-error"' in response.get_data(as_text=True)
    assert stored_group(app) == before


def test_the_owner_coordinator_sees_the_structure_enabled(client, partners):
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/edit").get_data(as_text=True)
    inputs = [tag for tag in page.split("<")[1:] if 'name="regions"' in tag]
    assert inputs and not any("disabled" in tag for tag in inputs)
    assert 'name="owner_region"' in page


# --- creating a group ---------------------------------------------------------------------------


def new_group_form(client, **overrides):
    return edit_form(
        client,
        slug="uusi-ryhma",
        title_fi="Uusi ryhmä",
        weekday="2",
        term_start="2026-12-01",
        term_end="2027-01-31",
        **overrides,
    )


def group_count(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(RemoteGroup.id))),
            db.session.scalar(select(func.count(Session.id))),
        )


def test_a_coordinator_cannot_create_a_group_another_region_owns(client, app, partners):
    login(client, OWNER)
    before = group_count(app)
    response = client.post("/staff/groups/new", data=new_group_form(client, owner_region="varha"))
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert 'id="owner_region-error"' in page
    assert "Voit perustaa ryhmiä vain omalle hyvinvointialueellesi." in page
    assert group_count(app) == before


def test_a_coordinator_cannot_create_a_group_hosted_only_by_another_region(client, app, partners):
    login(client, OWNER)
    before = group_count(app)
    response = client.post("/staff/groups/new", data=new_group_form(client, regions=["varha"]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="regions-error"' in page
    assert (
        "Järjestävän hyvinvointialueen on oltava mukana olevien hyvinvointialueiden joukossa."
        in page
    )
    assert group_count(app) == before


def test_an_admin_creates_a_group_for_any_region(client, app, partners):
    login(client, "admin@example.org")
    data = new_group_form(client, regions=["varha", "lappi"], owner_region="lappi")
    assert client.post("/staff/groups/new", data=data).status_code == 302
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "uusi-ryhma"))
        assert group.owner_region.slug == "lappi"


# --- the API ------------------------------------------------------------------------------------


def test_the_api_refuses_a_group_hosted_only_by_another_region(client, app, partners):
    login(client, OWNER)
    before = group_count(app)
    response = client.post("/api/v1/groups", json=api_group(regions=["varha"]))
    assert response.status_code == 422
    assert "regions" in response.get_json()["error"]["fields"]
    assert group_count(app) == before


def test_the_api_refuses_a_group_owned_by_another_region_with_a_localized_403(
    client, app, partners
):
    """In the coordinator's own language (Finnish)."""
    login(client, OWNER)
    before = group_count(app)
    response = client.post(
        "/api/v1/groups",
        json=api_group(owner_region="varha", regions=["varha", "lansi-uusimaa"]),
    )
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["message"] == "Voit perustaa ryhmiä vain omalle hyvinvointialueellesi."
    assert error["fields"] == {"owner_region": [error["message"]]}
    assert group_count(app) == before


def test_an_admin_creates_a_group_for_any_region_through_the_api(client, app, partners):
    login(client, "admin@example.org")
    response = client.post(
        "/api/v1/groups", json=api_group(owner_region="lappi", regions=["lappi"])
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["owner_region"] == "lappi"


def test_the_api_cannot_be_used_to_rewrite_an_existing_group(client, app, partners):
    """The API only creates; a partner posting an existing group's slug changes nothing."""
    login(client, PARTNER)
    before = stored_group(app)
    response = client.post(
        "/api/v1/groups",
        json=api_group(slug="test-group", regions=["siun-sote"], owner_region="siun-sote"),
    )
    assert response.status_code == 422
    assert "slug" in response.get_json()["error"]["fields"]
    assert stored_group(app) == before


def test_the_owner_of_a_new_group_is_decided_in_one_place(app, partners, ctx):
    from remote_groups.groups.service import owner_slug_for
    from remote_groups.regions.models import User

    coordinator = db.session.scalar(select(User).where(User.email == OWNER))
    admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
    assert owner_slug_for(coordinator, None, None, ["varha"]) == "lansi-uusimaa"
    assert owner_slug_for(admin, None, None, ["varha", "lappi"]) == "varha"
    assert owner_slug_for(admin, None, "lappi", ["varha", "lappi"]) == "lappi"
    assert owner_slug_for(admin, group, None, ["varha"]) == "lansi-uusimaa"
