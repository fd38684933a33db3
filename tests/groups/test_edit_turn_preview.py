"""Changing a group's regions, turn order or rotation policy moves turns already given, so
nothing of it happens unseen (issue 15): saving such a change from the edit page saves
nothing and shows every session whose host would change, by date and region name, who would
be told, and the day it applies from; saving again with that day changes nothing before it,
keeps every lead whose host stays, and mails exactly the people whose turns moved. A change
that moves no turn saves at once, as before."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region, Role, User
from tests.conftest import HELSINKI, helsinki_date, login, make_user
from tests.groups.conftest import OWNER, edit_form

THREE = ["lansi-uusimaa", "siun-sote", "varha"]
IN_ORDER = {"turn_order-lansi-uusimaa": "1", "turn_order-siun-sote": "2", "turn_order-varha": "3"}


@pytest.fixture
def staffed(app: Flask, partners: dict[str, object]) -> None:
    """Every session of the world's group has a lead from its host region, and each region
    has a coordinator."""
    with app.app_context():
        regions = {r.slug: r for r in db.session.scalars(select(Region))}
        make_user("coord@varha.example.org", Role.coordinator, regions["varha"])
        leads = {
            slug: make_user(f"lead@{slug}.example.org", Role.facilitator, regions[slug])
            for slug in THREE
        }
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        for session in group.sessions:
            session.lead_facilitator = leads[session.host_region.slug]
        db.session.commit()


def turns(app: Flask) -> dict[date, tuple[str | None, str | None]]:
    """Each coming session's day → (host region, lead's email)."""
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        return {
            s.starts_at.astimezone(HELSINKI).date(): (
                s.host_region.slug if s.host_region else None,
                s.lead_facilitator.email if s.lead_facilitator else None,
            )
            for s in group.sessions
            if not s.cancelled
        }


def group_state(app: Flask) -> tuple[list[str], str]:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        return [r.slug for r in group.regions], group.rotation_policy.value


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient)).all()
        return sorted((str(kind), recipient) for kind, recipient in rows)


def changes_listed(page: str) -> list[str]:
    section = page.split('id="changes"')[1].split("</section>")[0]
    return [re.sub(r"\s+", " ", item) for item in re.findall(r"<li>(.*?)</li>", section, re.S)]


def test_removing_a_region_shows_a_preview_and_saves_nothing(client, app, staffed, now):
    before, state = turns(app), group_state(app)
    login(client, OWNER)
    response = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(client, regions=["lansi-uusimaa", "siun-sote"], **IN_ORDER),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ei vielä tallennettu" in page
    suggested = helsinki_date(now) + timedelta(days=14)
    assert f'name="applies_from" type="date" value="{suggested.isoformat()}"' in page or (
        f'value="{suggested.isoformat()}"' in page and 'name="applies_from"' in page
    )
    listed = changes_listed(page)
    assert listed and all("→" in item for item in listed)
    # By region name (the world's names are "<slug> fi"), varha's turns among them.
    assert all(re.search(r"\b[a-z-]+ fi →", item) for item in listed)
    assert any(item.split(":")[-1].strip().startswith("varha fi") for item in listed)
    assert turns(app) == before and group_state(app) == state and outbox(app) == []


def test_saving_from_the_day_chosen_moves_only_later_turns_and_tells_exactly_those_concerned(
    client, app, staffed, now
):
    before = turns(app)
    login(client, OWNER)
    chosen = helsinki_date(now) + timedelta(days=21)
    response = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(
            client,
            regions=["lansi-uusimaa", "siun-sote"],
            applies_from=chosen.isoformat(),
            turns="apply",
            **IN_ORDER,
        ),
    )
    assert response.status_code == 302
    after = turns(app)
    assert group_state(app)[0] == ["lansi-uusimaa", "siun-sote"]
    moved = {day for day in after if after[day][0] != before[day][0]}
    assert moved, "varha's later turns went to the others"
    assert min(moved) >= chosen, "nothing before the day chosen moved"
    assert "varha" not in {host for day, (host, _) in after.items() if day >= chosen}
    # Sessions before the day keep varha and its lead; a lead stays where the host stays.
    for day, (host, lead) in after.items():
        if day < chosen:
            assert (host, lead) == before[day]
        elif host == before[day][0]:
            assert lead == before[day][1]
        else:
            assert lead is None
    # Told: each lead once per session they no longer lead, and the coordinators of the
    # regions that gave up or got a turn (all three here), nobody else.
    with app.app_context():
        coordinators = {
            u.email
            for u in db.session.scalars(select(User).where(User.role == Role.coordinator))
            if u.region is not None and u.region.slug in THREE
        }
    mails = outbox(app)
    assert [r for k, r in mails if k == "turn_moved"] == sorted(before[day][1] for day in moved)
    assert {r for k, r in mails if k == "turns_changed"} == coordinators
    assert {k for k, _ in mails} == {"turn_moved", "turns_changed"}


def test_changing_the_policy_previews_and_applies_from_the_day(client, app, staffed, now):
    before = turns(app)
    login(client, OWNER)
    page = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(client, rotation_policy="week_parity", **IN_ORDER),
    ).get_data(as_text=True)
    assert changes_listed(page) and group_state(app)[1] == "round_robin"
    assert turns(app) == before
    chosen = helsinki_date(now) + timedelta(days=15)
    response = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(
            client,
            rotation_policy="week_parity",
            applies_from=chosen.isoformat(),
            turns="apply",
            **IN_ORDER,
        ),
    )
    assert response.status_code == 302 and group_state(app)[1] == "week_parity"
    after = turns(app)
    assert all(after[day] == before[day] for day in after if day < chosen)
    weeks = {day.isocalendar().week % 3: host for day, (host, _) in after.items() if day >= chosen}
    assert len(weeks) == 3, "from the day on, the week number decides the host"


def test_the_turn_order_can_be_set_and_is_kept_when_not_changed(client, app, staffed, now):
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/edit").get_data(as_text=True)
    for place, slug in enumerate(THREE, 1):
        assert re.search(rf'name="turn_order-{slug}" value="{place}"', page)
    # Saving a title only, with the order as the page shows it: saved at once, no preview.
    response = client.post(
        "/staff/groups/test-group/edit", data=edit_form(client, title_fi="Toinen", **IN_ORDER)
    )
    assert response.status_code == 302 and group_state(app)[0] == THREE
    # The checkboxes arrive in the list's order; the places decide the turns.
    reversed_order = {
        "turn_order-lansi-uusimaa": "3",
        "turn_order-siun-sote": "2",
        "turn_order-varha": "1",
    }
    data = edit_form(client, **reversed_order)
    page = client.post("/staff/groups/test-group/edit", data=data).get_data(as_text=True)
    assert "Ei vielä tallennettu" in page and group_state(app)[0] == THREE
    data = edit_form(
        client,
        applies_from=(helsinki_date(now) + timedelta(days=14)).isoformat(),
        turns="apply",
        **reversed_order,
    )
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    assert group_state(app)[0] == ["varha", "siun-sote", "lansi-uusimaa"]


@pytest.mark.parametrize(
    ("applies_from", "message"),
    [(None, "Valitse päivä."), ("past", "Valitse päivä huomisesta alkaen.")],
)
def test_a_missing_or_past_day_is_refused_and_changes_nothing(
    client, app, staffed, now, applies_from, message
):
    before, state = turns(app), group_state(app)
    login(client, OWNER)
    day = (helsinki_date(now) - timedelta(days=1)).isoformat() if applies_from else None
    response = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(
            client, regions=["lansi-uusimaa", "siun-sote"], applies_from=day, turns="apply"
        ),
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert turns(app) == before and group_state(app) == state and outbox(app) == []


def test_a_new_group_can_be_previewed_before_it_exists(client, app, staffed, now):
    login(client, OWNER)
    today = helsinki_date(now)
    data = edit_form(
        client,
        slug="preview-group",
        title_fi="Esikatselu",
        term_start=today.isoformat(),
        term_end=(today + timedelta(weeks=10)).isoformat(),
        regions=["lansi-uusimaa"],
        turns="preview",
    )
    response = client.post("/staff/groups/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = re.findall(r"<tr><td>.*?</td>\s*<td>(.*?)</td></tr>", page, re.S)
    assert rows and all("lansi-uusimaa fi" in row for row in rows)
    with app.app_context():
        assert db.session.scalar(select(func.count(RemoteGroup.id))) == 1
