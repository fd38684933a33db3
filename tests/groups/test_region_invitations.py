"""A region joins a group by accepting an invitation: the owner region adds it, its own
coordinator accepts (or declines) on the staff page, and only then does it take turns."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from remote_groups.extensions import db
from remote_groups.groups import service
from remote_groups.groups.models import GroupInvitation, RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Region, Role, User
from remote_groups.service import ServiceError
from tests.conftest import csrf_token, login
from tests.groups.conftest import OWNER, PARTNER, api_group, edit_form

INVITED = "coord@lappi.example.org"  # lappi, outside the world's group until it accepts
ALL_FOUR = ["lansi-uusimaa", "siun-sote", "varha", "lappi"]


def group_state(app: Flask) -> dict[str, object]:
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        return {
            "regions": [r.slug for r in group.regions],
            "pending": [i.region.slug for i in group.pending_invitations],
            "hosts": {s.host_region.slug for s in group.sessions if s.host_region},
        }


def invitation_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(GroupInvitation.id))


@pytest.fixture
def invited(client, app, partners):
    """The owner's coordinator has added lappi to the group."""
    login(client, OWNER)
    response = client.post(
        "/staff/groups/test-group/edit", data=edit_form(client, regions=ALL_FOUR)
    )
    assert response.status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    return invitation_id(app)


def test_adding_a_region_invites_it_and_it_takes_no_turn_yet(app, invited):
    state = group_state(app)
    assert state["regions"] == ["lansi-uusimaa", "siun-sote", "varha"]
    assert state["pending"] == ["lappi"]
    assert "lappi" not in state["hosts"]
    with app.app_context():
        invitation = db.session.get(GroupInvitation, invited)
        assert invitation.invited_by.email == OWNER
        assert (invitation.answered_at, invitation.accepted) == (None, None)


def invitation_mails(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.kind == "group_invitation")
        mails = list(db.session.scalars(query))
        db.session.expunge_all()
        return mails


def test_the_invited_regions_active_coordinators_are_mailed_once(app, client, partners):
    with app.app_context():
        lappi = db.session.scalar(select(Region).where(Region.slug == "lappi"))
        db.session.add(
            User(
                email="former@lappi.example.org",
                name="Former",
                role=Role.coordinator,
                region=lappi,
                password_hash="-",
                active=False,
            )
        )
        db.session.commit()
    login(client, OWNER)
    client.post("/staff/groups/test-group/edit", data=edit_form(client, regions=ALL_FOUR))
    (mail,) = invitation_mails(app)
    assert mail.recipient == INVITED
    assert "Uusi nimi" in mail.subject
    assert f"{app.config['BASE_URL']}/staff/invitations" in mail.text_body
    # Saving the group again does not invite (or mail) the region a second time.
    client.post("/staff/groups/test-group/edit", data=edit_form(client, regions=ALL_FOUR))
    assert len(invitation_mails(app)) == 1


def test_an_invited_region_does_not_edit_the_group_before_accepting(client, invited):
    login(client, INVITED)
    assert client.get("/staff/groups/test-group/edit").status_code == 403


def test_the_edit_page_names_the_invited_regions(client, invited):
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/edit").get_data(as_text=True)
    assert "Kutsuttu, ei vielä vastausta: lappi fi" in page


def test_the_invited_coordinator_accepts_and_the_region_takes_turns(client, app, invited):
    login(client, INVITED)
    page = client.get("/staff/invitations").get_data(as_text=True)
    assert "Uusi nimi" in page  # the title the owner gave with the invitation
    preview = client.get(f"/staff/invitations/{invited}/accept")
    assert preview.status_code == 200
    # Accept with exactly what the page's accept form holds, as a browser would send it.
    accept_form = preview.get_data(as_text=True).split('<form method="post">', 1)[1]
    sent = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', accept_form))
    assert set(sent) == {"csrf_token", "applies_from"}
    response = client.post(f"/staff/invitations/{invited}/accept", data=sent)
    assert response.status_code == 302
    state = group_state(app)
    assert state["regions"] == ALL_FOUR  # at the end of the turn order
    assert state["pending"] == []
    assert "lappi" in state["hosts"]
    with app.app_context():
        invitation = db.session.get(GroupInvitation, invited)
        assert invitation.accepted is True and invitation.answered_at is not None
    assert client.get("/staff/groups/test-group/edit").status_code == 200
    assert "Uusi nimi" not in client.get("/staff/invitations").get_data(as_text=True)


def test_a_declined_invitation_leaves_the_group_as_it_was(client, app, invited):
    login(client, INVITED)
    before = group_state(app)
    response = client.post(
        f"/staff/invitations/{invited}/decline", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    after = group_state(app)
    assert after["regions"] == before["regions"]
    assert after["pending"] == []
    with app.app_context():
        assert db.session.get(GroupInvitation, invited).accepted is False


@pytest.mark.parametrize("email", [OWNER, PARTNER, "admin@example.org"])
def test_only_the_invited_regions_coordinator_answers(client, app, invited, email):
    login(client, email)
    for answer in ("accept", "decline"):
        response = client.post(
            f"/staff/invitations/{invited}/{answer}", data={"csrf_token": csrf_token(client)}
        )
        assert response.status_code == 403
    assert group_state(app)["pending"] == ["lappi"]


def test_an_answer_needs_the_csrf_token(client, app, invited):
    login(client, INVITED)
    assert client.post(f"/staff/invitations/{invited}/accept").status_code == 400
    assert group_state(app)["pending"] == ["lappi"]


def test_an_invitation_is_answered_once(app, invited, ctx):
    invitation = db.session.get(GroupInvitation, invited)
    service.answer_invitation(invitation, accept=False)
    with pytest.raises(ServiceError):
        service.answer_invitation(invitation, accept=True)
    assert invitation.accepted is False
    assert "lappi" not in [r.slug for r in invitation.group.regions]


def test_leaving_the_region_out_again_withdraws_the_invitation(client, app, invited):
    login(client, OWNER)
    response = client.post("/staff/groups/test-group/edit", data=edit_form(client))
    assert response.status_code == 302
    assert group_state(app)["pending"] == []
    with app.app_context():
        assert db.session.scalar(select(GroupInvitation)) is None


def test_a_partner_saving_the_group_keeps_the_invitation(client, app, invited):
    """The partner's form does not send the regions (disabled); the invited one stays invited."""
    login(client, PARTNER)
    data = edit_form(client, title_fi="Kumppanin nimi")
    for name in ("kind", "meeting_url", "regions"):
        del data[name]
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    assert group_state(app)["pending"] == ["lappi"]


def test_only_a_region_taking_part_can_be_made_the_owner(client, app, invited):
    login(client, OWNER)
    data = edit_form(client, regions=ALL_FOUR, owner_region="lappi")
    response = client.post("/staff/groups/test-group/edit", data=data)
    assert response.status_code == 422
    assert 'id="owner_region-error"' in response.get_data(as_text=True)
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        assert group.owner_region.slug == "lansi-uusimaa"


def test_a_group_created_through_the_api_invites_the_other_regions(client, app, partners):
    login(client, OWNER)
    payload = api_group(regions=["lansi-uusimaa", "varha"])
    response = client.post("/api/v1/groups", json=payload)
    assert response.status_code == 201
    created = response.get_json()
    assert (created["regions"], created["invited_regions"]) == (["lansi-uusimaa"], ["varha"])
    with app.app_context():
        hosts = set(
            db.session.scalars(
                select(Region.slug)
                .join(Session, Session.host_region_id == Region.id)
                .join(RemoteGroup)
                .where(RemoteGroup.slug == "api-group")
            )
        )
    assert hosts == {"lansi-uusimaa"}


def test_a_region_has_one_pending_invitation_to_a_group_at_most(app, invited, ctx):
    invitation = db.session.get(GroupInvitation, invited)
    owner = db.session.scalar(select(User).where(User.email == OWNER))
    db.session.add(
        GroupInvitation(group=invitation.group, region=invitation.region, invited_by=owner)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    invitation = db.session.get(GroupInvitation, invited)
    service.answer_invitation(invitation, accept=False)
    db.session.add(GroupInvitation(group=invitation.group, region=invitation.region))
    db.session.flush()  # an answered one and a new pending one may stand side by side
