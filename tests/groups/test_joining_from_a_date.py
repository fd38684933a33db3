"""A region joining a group moves other regions' turns, so nothing happens unseen (issue 15):
the invited coordinator first sees every session whose host would change, by date and region
name, and who would be told; accepting changes nothing before the day chosen, keeps every lead
whose host stays, and mails exactly the people whose turns moved."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region, Role, User
from tests.conftest import HELSINKI, csrf_token, helsinki_date, login, make_user
from tests.groups.conftest import OWNER, edit_form

INVITED = "coord@lappi.example.org"
ALL_FOUR = ["lansi-uusimaa", "siun-sote", "varha", "lappi"]


@pytest.fixture
def staffed_invitation(client, app, partners):
    """Every session of the world's group has a lead from its host region; each region has a
    coordinator; the owner has just invited lappi."""
    with app.app_context():
        regions = {r.slug: r for r in db.session.scalars(select(Region))}
        make_user("coord@varha.example.org", Role.coordinator, regions["varha"])
        leads = {
            slug: make_user(f"lead@{slug}.example.org", Role.facilitator, regions[slug])
            for slug in ("lansi-uusimaa", "siun-sote", "varha")
        }
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        for session in group.sessions:
            session.lead_facilitator = leads[session.host_region.slug]
        db.session.commit()
    login(client, OWNER)
    assert (
        client.post(
            "/staff/groups/test-group/edit", data=edit_form(client, regions=ALL_FOUR)
        ).status_code
        == 302
    )
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        db.session.query(OutboxMessage).delete()  # the invitation's own mail is not our subject
        db.session.commit()
        return db.session.scalar(select(RemoteGroup.id))


def turns(app: Flask) -> dict[date, tuple[str | None, str | None]]:
    """Each session's day → (host region, lead's email)."""
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


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient)).all()
        return sorted((str(kind), recipient) for kind, recipient in rows)


def invitation_id(app: Flask) -> int:
    from remote_groups.groups.models import GroupInvitation

    with app.app_context():
        return db.session.scalar(select(GroupInvitation.id))


def earliest_move(app: Flask, invitation: int, applies_from: date) -> date:
    """The first day whose session joining from ``applies_from`` would move (looked up and
    rolled back, as the preview page does)."""
    from remote_groups.groups.models import GroupInvitation
    from remote_groups.rotation.service import preview_joining

    with app.app_context():
        row = db.session.get(GroupInvitation, invitation)
        start = datetime.combine(applies_from, time(0), tzinfo=HELSINKI)
        changes = preview_joining(row, start)
        first = changes[0].session.starts_at.astimezone(HELSINKI).date()
        db.session.rollback()
    return first


def test_joining_shows_a_preview_and_applies_exactly_it_from_the_chosen_day(
    client, app, staffed_invitation, now
):
    before = turns(app)
    invitation = invitation_id(app)
    login(client, INVITED)
    suggested = helsinki_date(now) + timedelta(days=14)

    # The preview: nothing changes by looking, whatever the day looked at.
    page = client.get(f"/staff/invitations/{invitation}/accept").get_data(as_text=True)
    assert f'name="applies_from" value="{suggested.isoformat()}"' in page
    # Choose the day right after the first session that joining would move if it applied
    # at once: that session is then held back by the day chosen, and nothing else is.
    first_move = earliest_move(app, invitation, helsinki_date(now) + timedelta(days=1))
    chosen = first_move + timedelta(days=1)
    page = client.get(
        f"/staff/invitations/{invitation}/accept?applies_from={chosen.isoformat()}"
    ).get_data(as_text=True)
    assert turns(app) == before and outbox(app) == []
    listed = re.findall(
        r"<li>(.*?)</li>", page.split('id="changes"')[1].split("</section>")[0], re.S
    )
    assert listed, "the preview lists the sessions that change"
    assert all("→" in item for item in listed)
    assert "lappi fi" in page  # region names, not slugs
    assert "Kenelle kerrotaan" in page

    response = client.post(
        f"/staff/invitations/{invitation}/accept",
        data={"csrf_token": csrf_token(client), "applies_from": chosen.isoformat()},
    )
    assert response.status_code == 302
    after = turns(app)

    # Nothing before the chosen day moved (the first session that would have, neither);
    # lappi takes turns from it on.
    assert after[first_move] == before[first_move]
    assert {d: t for d, t in after.items() if d < chosen} == {
        d: t for d, t in before.items() if d < chosen
    }
    assert any(host == "lappi" for d, (host, _) in after.items() if d >= chosen)
    # Every lead whose host stayed is still the lead; where the host changed, nobody leads yet.
    moved = {d for d in after if after[d][0] != before[d][0]}
    for day, (_, lead) in after.items():
        assert lead == (None if day in moved else before[day][1]), day
    # The preview listed exactly the sessions that moved: one item per moved session.
    assert len(listed) == len(moved)

    # Mail: each lead who lost a session, once per session; the coordinators of every region
    # that gave up or got a turn, once each; nobody else.
    dropped = sorted(("turn_moved", before[d][1]) for d in moved if before[d][1])
    regions_touched = {before[d][0] for d in moved} | {after[d][0] for d in moved}
    with app.app_context():
        coordinators = sorted(
            ("turns_changed", u.email)
            for u in db.session.scalars(select(User).where(User.role == Role.coordinator))
            if u.region.slug in regions_touched
        )
    assert outbox(app) == sorted(dropped + coordinators)
    assert dropped and coordinators


def test_a_day_in_the_past_is_refused_and_changes_nothing(client, app, staffed_invitation, now):
    before = turns(app)
    invitation = invitation_id(app)
    login(client, INVITED)
    today = helsinki_date(now)
    response = client.post(
        f"/staff/invitations/{invitation}/accept",
        data={"csrf_token": csrf_token(client), "applies_from": today.isoformat()},
    )
    assert response.status_code == 422
    assert "Valitse päivä huomisesta alkaen." in response.get_data(as_text=True)
    assert turns(app) == before and outbox(app) == []


def test_the_mails_say_what_moved_in_each_persons_language(client, app, staffed_invitation, now):
    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "lead@siun-sote.example.org"))
        lead.language = "sv"
        db.session.commit()
    invitation = invitation_id(app)
    login(client, INVITED)
    client.post(
        f"/staff/invitations/{invitation}/accept",
        data={
            "csrf_token": csrf_token(client),
            "applies_from": (helsinki_date(now) + timedelta(days=14)).isoformat(),
        },
    )
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        swedish = [m for m in rows if m.recipient == "lead@siun-sote.example.org"]
        finnish = [m for m in rows if m.recipient == "coord@lu.example.org"]
    assert swedish and all(m.subject.startswith("Du leder inte längre") for m in swedish)
    assert all("Du leder den inte längre" in m.text_body for m in swedish)
    assert len(finnish) == 1 and finnish[0].subject.startswith("Vuorot muuttuivat")
    assert "→" in finnish[0].text_body and "lappi fi" in finnish[0].text_body
