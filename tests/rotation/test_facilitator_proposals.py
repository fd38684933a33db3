"""Facilitators run their own turns (issue 15): they propose the dates their region cannot host
and offer its sessions to other regions. A proposal waits for their region's coordinator, who
sees it on the staff home and near the top of "our turns", approves or declines it on its own
page, and the facilitator is mailed the answer; a region can let its facilitators act directly.
Nothing is planned around proposed dates, and the asked region hears of a proposed swap only
once it is approved."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from remote_groups.backup.document import read_document
from remote_groups.backup.exporting import export_region
from remote_groups.backup.tables import SCHEMA
from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import Region, Role, User
from remote_groups.rotation import service as rotation
from remote_groups.rotation.models import Blackout, BlackoutStatus, SwapRequest, SwapStatus
from tests.conftest import (
    HELSINKI,
    csrf_token,
    helsinki_date,
    login,
    make_group,
    make_region,
    make_user,
)
from tests.mail.conftest import SmtpServer, smtp, smtp_server  # noqa: F401 (fixtures)

REGIONS = {"lu": "lansi-uusimaa", "siun": "siun-sote", "varha": "varha"}
PROPOSER = "fac@lu.example.org"


@pytest.fixture
def network(app: Flask, now) -> None:
    """Three regions, each with a coordinator and a lead facilitator; lansi-uusimaa has a
    second facilitator (the proposer). A group of all three meets on Thursdays from tomorrow
    for four months, every session led by a facilitator of its host region."""
    today = helsinki_date(now)
    with app.app_context():
        regions = {short: make_region(slug) for short, slug in REGIONS.items()}
        db.session.flush()
        leads = {}
        for short, region in regions.items():
            make_user(f"coord@{short}.example.org", Role.coordinator, region)
            leads[region.id] = make_user(f"lead@{short}.example.org", Role.facilitator, region)
        make_user(PROPOSER, Role.facilitator, regions["lu"])
        group = make_group(
            list(regions.values()),
            now=now,
            term_start=today + timedelta(days=1),
            term_end=today + timedelta(days=120),
        )
        db.session.flush()
        for session in group.sessions:
            session.lead_facilitator = leads[session.host_region_id]
        db.session.commit()


def turns(app: Flask) -> dict[date, tuple[str, str | None]]:
    """Each session's day → (host region, lead's email)."""
    with app.app_context():
        sessions = db.session.scalars(select(Session).order_by(Session.starts_at))
        return {
            s.starts_at.astimezone(HELSINKI).date(): (
                s.host_region.slug,
                s.lead_facilitator.email if s.lead_facilitator else None,
            )
            for s in sessions
        }


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient)).all()
        return sorted((str(kind), recipient) for kind, recipient in rows)


def lu_turn(app: Flask, now, days_ahead: int) -> tuple[int, date]:
    """The first lansi-uusimaa session at least ``days_ahead`` days from now: id and day."""
    with app.app_context():
        session = db.session.scalars(
            select(Session)
            .join(Region, Session.host_region_id == Region.id)
            .where(Region.slug == "lansi-uusimaa")
            .where(Session.starts_at > now + timedelta(days=days_ahead))
            .order_by(Session.starts_at)
        ).first()
        return session.id, session.starts_at.astimezone(HELSINKI).date()


def planned_changes(app: Flask) -> dict[int, tuple[str | None, str | None]]:
    """What a re-plan of the group would change now (looked at, then rolled back)."""
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup))
        changes = rotation.preview_plan(group).changes
        db.session.rollback()
        return changes


def only(model):
    with_rows = db.session.scalars(select(model)).all()
    assert len(with_rows) == 1
    return with_rows[0]


def propose_dates(client: FlaskClient, day: date, reason: str = "Koulutus"):
    return client.post(
        "/staff/blackouts",
        data={
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            "reason": reason,
            "csrf_token": csrf_token(client),
        },
    )


def log_out(client: FlaskClient) -> None:
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})


def waiting_links(page: str) -> dict[str, str]:
    section = page.split('id="waiting"', 1)[1].split("</section>", 1)[0]
    return {
        re.sub(r"\s+", " ", text).strip(): href
        for href, text in re.findall(r'<a href="([^"]+)">(.*?)</a>', section, re.S)
    }


def answer(client: FlaskClient, path: str, decision: str):
    return client.post(path, data={"csrf_token": csrf_token(client), "decision": decision})


def test_a_facilitators_proposed_dates_change_no_plan_until_approved(client, app, network, now):
    _, day = lu_turn(app, now, 21)
    before = turns(app)
    login(client, PROPOSER)
    response = propose_dates(client, day)
    assert response.status_code == 302
    assert response.location.endswith("/staff/our-turns#blackouts")
    with app.app_context():
        blackout = only(Blackout)
        assert blackout.status == BlackoutStatus.proposed
        blackout_id = blackout.id
    assert planned_changes(app) == {}  # the planner does not see proposed dates
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert "Odottaa koordinaattorin hyväksyntää" in page
    # Only whoever acts for the region plans the groups again; a proposal is not in use.
    assert client.get(f"/staff/blackouts/{blackout_id}/replan").status_code == 403
    log_out(client)

    login(client, "coord@lu.example.org")
    links = waiting_links(client.get("/staff/").get_data(as_text=True))
    assert links["1 ohjaajiemme ehdotus odottaa hyväksyntää"] == "/staff/our-turns#proposals"
    page = client.get(f"/staff/blackouts/{blackout_id}/proposal").get_data(as_text=True)
    assert "Ohjaajan ehdottamat päivät" in page and "Testiryhmä" in page
    assert turns(app) == before and outbox(app) == []

    response = answer(client, f"/staff/blackouts/{blackout_id}/proposal", "approve")
    assert response.location.endswith(f"/staff/blackouts/{blackout_id}/replan")
    assert planned_changes(app) != {}  # approved dates are planned around ...
    assert turns(app) == before  # ... once the coordinator confirms the re-plan
    assert outbox(app) == [("proposal_answered", PROPOSER)]


def test_with_the_region_setting_on_a_facilitators_dates_apply_directly(client, app, network, now):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert 'href="/staff/regions/lansi-uusimaa/edit"' in page
    settings = client.get("/staff/regions/lansi-uusimaa/edit").get_data(as_text=True)
    assert 'name="facilitators_act_directly"' in settings
    assert 'name="slug"' not in settings  # the rest of the region is the administrators'
    response = client.post(
        "/staff/regions/lansi-uusimaa/edit",
        data={"facilitators_act_directly": "y", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    log_out(client)

    before = turns(app)
    _, day = lu_turn(app, now, 21)
    login(client, PROPOSER)
    response = propose_dates(client, day)
    with app.app_context():
        blackout = only(Blackout)
        assert blackout.status == BlackoutStatus.approved
        assert db.session.scalar(select(Region.slug).where(Region.id == blackout.region_id))
    assert response.location.endswith(f"/staff/blackouts/{blackout.id}/replan")
    assert client.get(response.location).status_code == 200
    assert planned_changes(app) != {}
    assert turns(app) == before and outbox(app) == []  # nothing moves before confirming


def test_a_coordinator_of_another_region_cannot_change_our_settings(client, app, network):
    login(client, "coord@siun.example.org")
    assert client.get("/staff/regions/lansi-uusimaa/edit").status_code == 403
    response = client.post(
        "/staff/regions/lansi-uusimaa/edit",
        data={"facilitators_act_directly": "y", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 403
    with app.app_context():
        lu = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        assert lu.facilitators_act_directly is False


def test_the_proposer_is_mailed_the_approval_through_a_real_mail_server(
    client,
    app,
    network,
    now,
    smtp: SmtpServer,  # noqa: F811 (the fixture imported above)
):
    _, day = lu_turn(app, now, 21)
    login(client, PROPOSER)
    propose_dates(client, day, "Henkilöstöpäivät")
    log_out(client)
    login(client, "coord@lu.example.org")
    with app.app_context():
        blackout_id = only(Blackout).id
    answer(client, f"/staff/blackouts/{blackout_id}/proposal", "approve")
    with app.app_context():
        report = deliver_pending()
        db.session.commit()
    assert report.sent == 1
    message = smtp.only_message()
    assert message["To"] == PROPOSER
    assert message["Subject"].startswith("Päiväsi hyväksyttiin")
    body = message.get_body(("plain",)).get_content()
    assert "Henkilöstöpäivät" in body and "coord hyväksyi ne" in body


def test_declined_dates_are_never_planned_around_and_the_proposer_is_told(
    client, app, network, now
):
    _, day = lu_turn(app, now, 21)
    before = turns(app)
    login(client, PROPOSER)
    propose_dates(client, day)
    log_out(client)
    login(client, "coord@lu.example.org")
    with app.app_context():
        blackout_id = only(Blackout).id
    answer(client, f"/staff/blackouts/{blackout_id}/proposal", "decline")
    # A second answer (another tab, another coordinator) is refused and sends nothing.
    answer(client, f"/staff/blackouts/{blackout_id}/proposal", "approve")
    with app.app_context():
        assert only(Blackout).status == BlackoutStatus.declined
        (row,) = db.session.scalars(select(OutboxMessage)).all()
        assert (row.kind, row.recipient) == ("proposal_answered", PROPOSER)
        assert row.subject.startswith("Päiväsi hylättiin")
    assert planned_changes(app) == {} and turns(app) == before
    assert "Koulutus" not in client.get("/staff/our-turns").get_data(as_text=True)


def test_staff_of_another_region_cannot_answer_a_proposal(client, app, network, now):
    session_id, day = lu_turn(app, now, 21)
    login(client, PROPOSER)
    propose_dates(client, day)
    client.post(
        f"/staff/sessions/{session_id}/swap",
        data={"to_region": "siun-sote", "other_session": "", "csrf_token": csrf_token(client)},
    )
    log_out(client)
    with app.app_context():
        paths = [
            f"/staff/blackouts/{only(Blackout).id}/proposal",
            f"/staff/swaps/{only(SwapRequest).id}/proposal",
        ]
    for who in ("lead@siun.example.org", "coord@siun.example.org", "lead@lu.example.org"):
        login(client, who)
        for path in paths:
            assert client.get(path).status_code == 403, (who, path)
            assert answer(client, path, "approve").status_code == 403, (who, path)
        log_out(client)
    with app.app_context():
        assert only(Blackout).status == BlackoutStatus.proposed
        assert only(SwapRequest).status == SwapStatus.proposed
    assert outbox(app) == []


def test_a_facilitators_swap_reaches_the_asked_region_only_once_approved(client, app, network, now):
    session_id, _ = lu_turn(app, now, 21)
    login(client, PROPOSER)
    page = client.get(f"/staff/sessions/{session_id}/swap").get_data(as_text=True)
    assert "Lähetä hyväksyttäväksi" in page
    assert "Tarvitaanko muutos?" in page  # whom to ask, by name and address
    assert '<a href="mailto:coord@lu.example.org">coord@lu.example.org</a>' in page
    response = client.post(
        f"/staff/sessions/{session_id}/swap",
        data={
            "to_region": "siun-sote",
            "other_session": "",
            "message": "Olen koulutuksessa",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.location.endswith("/staff/our-turns#requests")
    with app.app_context():
        swap_id = only(SwapRequest).id
        assert only(SwapRequest).status == SwapStatus.proposed
    assert outbox(app) == []  # the asked region hears nothing yet
    log_out(client)

    login(client, "coord@siun.example.org")
    assert "vaihtopyyntö" not in client.get("/staff/").get_data(as_text=True)
    assert "Olen koulutuksessa" not in client.get("/staff/our-turns").get_data(as_text=True)
    client.post(f"/staff/swaps/{swap_id}/accept", data={"csrf_token": csrf_token(client)})
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert "Pyytäneen alueen koordinaattori ei ole vielä hyväksynyt tätä pyyntöä." in page
    with app.app_context():
        assert only(SwapRequest).status == SwapStatus.proposed
        assert db.session.get(Session, session_id).host_region.slug == "lansi-uusimaa"
    log_out(client)

    login(client, "coord@lu.example.org")
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert page.index('id="proposals"') < page.index('id="hosted-caption"')  # first things first
    assert f'href="/staff/swaps/{swap_id}/proposal"' in page
    response = answer(client, f"/staff/swaps/{swap_id}/proposal", "approve")
    assert response.status_code == 302
    assert outbox(app) == [
        ("proposal_answered", PROPOSER),
        ("swap_proposed", "coord@siun.example.org"),
    ]
    log_out(client)

    login(client, "coord@siun.example.org")
    home = client.get("/staff/").get_data(as_text=True)
    assert waiting_links(home)["1 vaihtopyyntö odottaa vastausta"] == "/staff/our-turns#swaps"
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert (
        page.index('id="swaps"') < page.index('id="hosted-caption"') < page.index('id="requests"')
    )
    assert "Olen koulutuksessa" in page
    client.post(f"/staff/swaps/{swap_id}/accept", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        session = db.session.get(Session, session_id)
        assert session.host_region.slug == "siun-sote"
        assert session.lead_facilitator is None  # lansi-uusimaa's lead stops ...
        told = {
            row.recipient: row
            for row in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "swap_answered")
            )
        }
    # ... and is told so; the proposer and the asking coordinator hear of the answer.
    assert set(told) == {"lead@lu.example.org", PROPOSER, "coord@lu.example.org"}
    assert "et enää vedä sitä" in told["lead@lu.example.org"].text_body
    assert "lead ei enää vedä sitä" in told[PROPOSER].text_body


def test_a_facilitator_withdraws_their_own_proposal(client, app, network, now):
    session_id, _ = lu_turn(app, now, 21)
    login(client, PROPOSER)
    client.post(
        f"/staff/sessions/{session_id}/swap",
        data={"to_region": "varha", "other_session": "", "csrf_token": csrf_token(client)},
    )
    with app.app_context():
        swap_id = only(SwapRequest).id
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert f'action="/staff/swaps/{swap_id}/withdraw"' in page
    client.post(f"/staff/swaps/{swap_id}/withdraw", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        assert only(SwapRequest).status == SwapStatus.withdrawn
    assert outbox(app) == []


def test_a_facilitator_takes_a_turn_without_a_lead_from_our_turns(client, app, network, now):
    session_id, _ = lu_turn(app, now, 3)
    with app.app_context():
        db.session.get(Session, session_id).lead_facilitator = None
        db.session.commit()
    login(client, PROPOSER)
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert f'action="/staff/sessions/{session_id}/volunteer"' in page
    response = client.post(
        f"/staff/sessions/{session_id}/volunteer",
        data={"csrf_token": csrf_token(client), "next": "/staff/our-turns"},
    )
    assert response.location.endswith("/staff/our-turns")
    with app.app_context():
        assert db.session.get(Session, session_id).lead_facilitator.email == PROPOSER


def count_statements(app: Flask, client: FlaskClient, path: str) -> int:
    statements = []
    with app.app_context():
        engine = db.engine

    def note(*args: object) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return len(statements)


def badge(page: str) -> int:
    match = re.search(r'<span class="badge">(\d+)<', page)
    return int(match.group(1)) if match else 0


def test_the_staff_home_counts_proposals_at_the_same_cost_however_many(client, app, network, now):
    login(client, "coord@lu.example.org")
    start = badge(client.get("/staff/").get_data(as_text=True))
    with app.app_context():
        proposer = db.session.scalar(select(User).where(User.email == PROPOSER))
        lu = proposer.region
        rotation.add_blackout(lu, date(2026, 9, 1), date(2026, 9, 2), "Yksi", proposer)
        db.session.commit()
    one = count_statements(app, client, "/staff/")
    with app.app_context():
        proposer = db.session.scalar(select(User).where(User.email == PROPOSER))
        for n in range(4):
            day = date(2026, 10, 1) + timedelta(days=n)
            rotation.add_blackout(proposer.region, day, day, f"Lisää {n}", proposer)
        group = db.session.scalar(select(RemoteGroup))
        theirs = [s for s in group.sessions if s.host_region_id == proposer.region_id][-2:]
        for session in theirs:
            siun = db.session.scalar(select(Region).where(Region.slug == "siun-sote"))
            rotation.propose_swap(session, by=proposer, to_region=siun, now=now)
        db.session.commit()
    assert count_statements(app, client, "/staff/") == one
    page = client.get("/staff/").get_data(as_text=True)
    assert badge(page) == start + 1 + 4 + 2
    assert "7 ohjaajiemme ehdotusta odottaa hyväksyntää" in page


def test_a_region_export_keeps_proposals_apart_from_dates_in_use(client, app, network, now):
    """A proposal is not in use after a move to another installation, nor a declined one."""
    _, day = lu_turn(app, now, 21)
    login(client, PROPOSER)
    propose_dates(client, day, "Ehdotus")
    propose_dates(client, day + timedelta(days=7), "Hylätty")
    log_out(client)
    login(client, "coord@lu.example.org")
    with app.app_context():
        declined = db.session.scalar(select(Blackout.id).where(Blackout.reason == "Hylätty"))
    answer(client, f"/staff/blackouts/{declined}/proposal", "decline")
    with app.app_context():
        region = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        region.facilitators_act_directly = True
        db.session.commit()
        document = export_region("lansi-uusimaa")
    assert document["region"]["facilitators_act_directly"] is True
    assert {(b["reason"], b["status"], b["answered_by"]) for b in document["blackouts"]} == {
        ("Ehdotus", "proposed", None),
        ("Hylätty", "declined", "coord@lu.example.org"),
    }
    plan = read_document(document, SCHEMA)
    assert plan.region.values["facilitators_act_directly"] is True
    assert {b.values["status"] for b in plan.blackouts} == {
        BlackoutStatus.proposed,
        BlackoutStatus.declined,
    }
