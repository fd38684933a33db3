"""Updating a group's sessions from its schedule can move turns, so it is looked at first
(issue 15): the look lists the sessions added and the turns that would move, from a day
chosen, and changes nothing; updating then changes nothing before that day."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup
from tests.conftest import csrf_token, helsinki_date, login
from tests.groups.conftest import OWNER
from tests.groups.test_edit_turn_preview import outbox, turns


def drop_varha_unplanned(app) -> None:
    """The group's regions change without a re-plan (as a restore or an old version left it):
    varha still hosts its sessions though it no longer takes part."""
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        group.set_regions([r for r in group.regions if r.slug != "varha"])
        group.term_end = group.term_end + timedelta(weeks=4)
        db.session.commit()


def test_the_look_lists_what_would_change_and_changes_nothing(client, app, partners, now):
    drop_varha_unplanned(app)
    before = turns(app)
    login(client, OWNER)
    page = client.get("/groups/test-group").get_data(as_text=True)
    assert 'href="/staff/groups/test-group/regenerate"' in page
    response = client.get("/staff/groups/test-group/regenerate")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "4 uutta" in page
    suggested = helsinki_date(now) + timedelta(days=14)
    assert f'value="{suggested.isoformat()}"' in page
    assert re.search(r"varha fi\s*→", page.split('id="changes"')[1])
    assert turns(app) == before and outbox(app) == []


def test_updating_moves_no_turn_before_the_day_chosen(client, app, partners, now):
    drop_varha_unplanned(app)
    before = turns(app)
    login(client, OWNER)
    day = helsinki_date(now) + timedelta(days=30)
    response = client.post(
        "/staff/groups/test-group/regenerate",
        data={"applies_from": day.isoformat(), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    after = turns(app)
    assert len(after) == len(before) + 4
    assert all(after[d] == before[d] for d in before if d < day)
    assert "varha" not in {host for d, (host, _) in after.items() if d >= day}
    assert all(host is not None for host, _ in after.values())


def test_a_past_day_is_refused_and_changes_nothing(client, app, partners, now):
    drop_varha_unplanned(app)
    before = turns(app)
    login(client, OWNER)
    response = client.post(
        "/staff/groups/test-group/regenerate",
        data={"applies_from": helsinki_date(now).isoformat(), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert "Valitse päivä huomisesta alkaen." in response.get_data(as_text=True)
    assert turns(app) == before
