"""Dates a region cannot host re-plan every group they touch from one place (issue 15): after
the dates are marked (or approved), one page lists each group that meets on them and every
session whose host would change, by date and region name, with the leads who would stop and
who is told, from an "applies from" day (suggested: after the sessions already announced).
Looking changes nothing; one confirmation plans all of those groups again from that day only,
keeps every lead whose host stays and mails exactly the people whose turns moved."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.sender import deliver_pending
from remote_groups.regions.models import Role, User
from remote_groups.rotation import service
from remote_groups.rotation.models import Blackout
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

COORDINATOR = "coord@lu.example.org"
COORDINATORS = {
    "lansi-uusimaa": COORDINATOR,
    "siun-sote": "coord@siun.example.org",
    "varha": "coord@varha.example.org",
}
FIRST_DAY, LAST_DAY = 7, 48  # the dates lansi-uusimaa cannot host, in days from today


@pytest.fixture
def groups(app: Flask, now) -> None:
    """Three regions, each with a coordinator and a lead facilitator. Three groups from
    tomorrow for four months, every session led from its host region: Thursdays (all three
    regions), Tuesdays (lansi-uusimaa and siun-sote) and Wednesdays (siun-sote and varha:
    lansi-uusimaa takes no part)."""
    today = helsinki_date(now)
    term = {"term_start": today + timedelta(days=1), "term_end": today + timedelta(days=120)}
    with app.app_context():
        lu, siun, varha = (make_region(s) for s in ("lansi-uusimaa", "siun-sote", "varha"))
        db.session.flush()
        leads = {}
        for short, region in (("lu", lu), ("siun", siun), ("varha", varha)):
            make_user(f"coord@{short}.example.org", Role.coordinator, region)
            leads[region.id] = make_user(f"lead@{short}.example.org", Role.facilitator, region)
            leads[region.id].name = f"Vetäjä {short}"
        make_user("fac@lu.example.org", Role.facilitator, lu)
        made = [
            make_group([lu, siun, varha], now=now, **term),
            make_group(
                [lu, siun], now=now, slug="tiistairyhma", title_fi="Tiistairyhmä", weekday=1, **term
            ),
            make_group(
                [siun, varha],
                now=now,
                slug="keskiviikkoryhma",
                title_fi="Keskiviikkoryhmä",
                weekday=2,
                **term,
            ),
        ]
        db.session.flush()
        for group in made:
            for session in group.sessions:
                session.lead_facilitator = leads[session.host_region_id]
        db.session.commit()


Turns = dict[tuple[str, date], tuple[str, str | None]]


def turns(app: Flask) -> Turns:
    """(group, day) → (host region, lead's email), for every session."""
    with app.app_context():
        return {
            (s.group.slug, s.starts_at.astimezone(HELSINKI).date()): (
                s.host_region.slug,
                s.lead_facilitator.email if s.lead_facilitator else None,
            )
            for s in db.session.scalars(select(Session))
        }


def outbox(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.recipient)).all()
        return sorted((str(kind), recipient) for kind, recipient in rows)


def mark_dates(client: FlaskClient, first: date, last: date):
    return client.post(
        "/staff/blackouts",
        data={
            "start_date": first.isoformat(),
            "end_date": last.isoformat(),
            "reason": "Koulutusjakso",
            "csrf_token": csrf_token(client),
        },
    )


@pytest.fixture
def marked(client, app, groups, now) -> str:
    """The coordinator of lansi-uusimaa has marked the dates; the re-plan page's address."""
    today = helsinki_date(now)
    login(client, COORDINATOR)
    response = mark_dates(
        client, today + timedelta(days=FIRST_DAY), today + timedelta(days=LAST_DAY)
    )
    assert response.status_code == 302
    with app.app_context():
        blackout_id = db.session.scalar(select(Blackout.id))
    assert response.location.endswith(f"/staff/blackouts/{blackout_id}/replan")
    return f"/staff/blackouts/{blackout_id}/replan"


def on_the_dates(day: date, today: date) -> bool:
    return today + timedelta(days=FIRST_DAY) <= day <= today + timedelta(days=LAST_DAY)


def test_the_preview_lists_every_group_on_the_dates_and_looking_changes_nothing(
    client, app, marked, now
):
    before = turns(app)
    suggested = helsinki_date(now) + timedelta(days=14)
    page = client.get(marked).get_data(as_text=True)
    assert f'name="applies_from" value="{suggested.isoformat()}"' in page
    assert "Testiryhmä" in page and "Tiistairyhmä" in page
    assert "Keskiviikkoryhmä" not in page  # lansi-uusimaa takes no part in it
    assert "lansi-uusimaa fi → <strong>siun-sote fi</strong>" in page  # names, not codes
    assert "Vetäjä lu ei enää vedä sitä" in page
    told = page.split('id="told"')[1].split("</section>")[0]
    assert told.count("Vetäjä lu, joka ei enää vedä tapaamista") == 1  # once, however many
    assert "Alueen siun-sote fi koordinaattorit" in told
    later = helsinki_date(now) + timedelta(days=30)
    assert client.get(f"{marked}?applies_from={later.isoformat()}").status_code == 200
    assert turns(app) == before
    assert outbox(app) == []


def test_confirming_moves_only_sessions_from_the_chosen_day_keeps_leads_and_tells_those_affected(
    client,
    app,
    marked,
    now,
    smtp: SmtpServer,  # noqa: F811 (the fixture imported above)
):
    today = helsinki_date(now)
    chosen = today + timedelta(days=21)
    before = turns(app)
    page = client.get(f"{marked}?applies_from={chosen.isoformat()}").get_data(as_text=True)
    # Sessions on the dates but before the day chosen stay, and the page says so.
    held = [
        key
        for key, (host, _) in before.items()
        if on_the_dates(key[1], today) and key[1] < chosen and host == "lansi-uusimaa"
    ]
    assert held, "the dates begin before the day chosen with a turn of lansi-uusimaa"
    assert "jää alueellesi" in page or "jäävät alueellesi" in page

    response = client.post(
        marked, data={"applies_from": chosen.isoformat(), "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    after = turns(app)

    assert {k: v for k, v in after.items() if k[1] < chosen} == {
        k: v for k, v in before.items() if k[1] < chosen
    }
    assert all(
        host != "lansi-uusimaa"
        for (slug, day), (host, _) in after.items()
        if on_the_dates(day, today) and day >= chosen
    )
    assert {k: v for k, v in after.items() if k[0] == "keskiviikkoryhma"} == {
        k: v for k, v in before.items() if k[0] == "keskiviikkoryhma"
    }
    moved = {key for key in after if after[key][0] != before[key][0]}
    assert moved and all(day >= chosen for _, day in moved)
    for key, (_, lead) in after.items():
        assert lead == (None if key in moved else before[key][1]), key

    # Mail: each lead who stopped, once per session; the coordinators of every region that gave
    # up or got a turn, once per group; nobody else. Through a real mail server.
    dropped = [before[key][1] for key in moved]
    touched = Counter()
    for group_slug in {slug for slug, _ in moved}:
        regions = {before[k][0] for k in moved if k[0] == group_slug}
        regions |= {after[k][0] for k in moved if k[0] == group_slug}
        touched.update(COORDINATORS[region] for region in regions)
    expected = Counter(dropped) + touched
    assert Counter(recipient for _, recipient in outbox(app)) == expected
    with app.app_context():
        report = deliver_pending()
        db.session.commit()
    assert report.sent == sum(expected.values())
    assert Counter(r for m in smtp.received for r in m.rcpt_tos) == expected
    subjects = {m.message["Subject"] for m in smtp.received}
    assert any(s.startswith("Et enää vedä") for s in subjects), subjects
    assert any(s.startswith("Vuorot muuttuivat") for s in subjects), subjects


def test_a_day_before_tomorrow_is_refused_and_changes_nothing(client, app, marked, now):
    before = turns(app)
    today = helsinki_date(now)
    response = client.post(
        marked, data={"applies_from": today.isoformat(), "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 422
    assert "Valitse päivä huomisesta alkaen." in response.get_data(as_text=True)
    assert turns(app) == before and outbox(app) == []


def test_only_whoever_acts_for_the_region_replans_for_its_dates(client, app, marked):
    before = turns(app)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    for who in ("coord@siun.example.org", "fac@lu.example.org"):
        login(client, who)
        assert client.get(marked).status_code == 403, who
        response = client.post(
            marked, data={"applies_from": "2026-07-01", "csrf_token": csrf_token(client)}
        )
        assert response.status_code == 403, who
        client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    assert turns(app) == before and outbox(app) == []


def test_the_dates_link_to_their_replan_from_our_turns(client, app, marked):
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert f'href="{marked}"' in page


def test_proposed_dates_are_not_replanned_before_approval(client, app, groups, now):
    today = helsinki_date(now)
    login(client, "fac@lu.example.org")
    mark_dates(client, today + timedelta(days=FIRST_DAY), today + timedelta(days=LAST_DAY))
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        blackout_id = db.session.scalar(select(Blackout.id))
    before = turns(app)
    login(client, COORDINATOR)
    path = f"/staff/blackouts/{blackout_id}/replan"
    assert client.get(path).location.endswith("/staff/our-turns#blackouts")
    later = (today + timedelta(days=21)).isoformat()
    client.post(path, data={"applies_from": later, "csrf_token": csrf_token(client)})
    assert turns(app) == before and outbox(app) == []


def test_the_service_plans_only_the_groups_on_the_dates(app, groups, now):
    """The groups a blackout touches: taking part, and meeting on its days (by Helsinki day)."""
    today = helsinki_date(now)
    with app.app_context():
        lu_coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
        thursday_group = db.session.scalar(
            select(RemoteGroup).where(RemoteGroup.slug == "test-group")
        )
        thursday = thursday_group.sessions[3].starts_at.astimezone(HELSINKI).date()
        one_day = service.add_blackout(
            lu_coordinator.region, thursday, thursday, "Yksi päivä", lu_coordinator
        )
        assert [g.slug for g in service.groups_touched(one_day)] == ["test-group"]
        week = service.add_blackout(
            lu_coordinator.region,
            today + timedelta(days=7),
            today + timedelta(days=13),
            "Viikko",
            lu_coordinator,
        )
        assert sorted(g.slug for g in service.groups_touched(week)) == [
            "test-group",
            "tiistairyhma",
        ]
        db.session.rollback()
