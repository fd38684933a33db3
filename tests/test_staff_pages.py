"""Staff pages through HTTP: who may do what, and forms that refuse bad input whole."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups.models import RemoteGroup, Session, SessionStatus
from tests.conftest import csrf_token, login

# Wednesdays from December 2026 to January 2027 (the clock is at tests.conftest.NOW, June
# 2026): across a month end and a year end, with Epiphany on Wednesday 6 January 2027.
TERM_START, TERM_END = date(2026, 12, 1), date(2027, 1, 31)


def group_form(client, **overrides):
    data = {
        "slug": "uusi-ryhma",
        "kind": "open",
        "language": "fi",
        "title_fi": "Uusi ryhmä",
        "meeting_url": "https://meet.example.org/uusi",
        "weekday": "2",
        "start_time": "13:00",
        "duration_minutes": "60",
        "term_start": TERM_START.isoformat(),
        "term_end": TERM_END.isoformat(),
        "skip_holidays": "y",
        "rotation_policy": "round_robin",
        "regions": ["lansi-uusimaa", "varha"],
        "csrf_token": csrf_token(client),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count(RemoteGroup.id))),
            db.session.scalar(select(func.count(Session.id))),
        )


def first_session_id(app, slug="test-group"):
    with app.app_context():
        return db.session.scalar(
            select(Session.id)
            .join(RemoteGroup)
            .where(RemoteGroup.slug == slug)
            .order_by(Session.starts_at)
        )


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    response = client.get("/staff/groups/test-group/edit")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_a_facilitator_cannot_edit_a_group(client, world):
    login(client, "fac@lu.example.org")
    response = client.get("/staff/groups/test-group/edit")
    assert response.status_code == 403
    assert "<html" in response.get_data(as_text=True)


def test_a_facilitator_cannot_post_group_changes(client, app, world):
    login(client, "fac@lu.example.org")
    before = counts(app)
    assert client.post("/staff/groups/new", data=group_form(client)).status_code == 403
    assert counts(app) == before


def test_a_coordinator_whose_region_does_not_take_part_cannot_edit_the_group(client, world):
    login(client, "coord@lappi.example.org")
    assert client.get("/staff/groups/test-group/edit").status_code == 403
    data = group_form(client, slug="test-group")
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 403


def test_a_coordinator_whose_region_does_not_take_part_cannot_touch_its_sessions(
    client, app, world
):
    login(client, "coord@lappi.example.org")
    session_id = first_session_id(app)
    token = csrf_token(client)
    assert client.get(f"/staff/sessions/{session_id}/edit").status_code == 403
    response = client.post(
        f"/staff/sessions/{session_id}/cancel", data={"cancel-reason": "x", "csrf_token": token}
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Session, session_id).status == SessionStatus.scheduled


def test_a_coordinator_of_a_taking_part_region_creates_a_group(client, app, world):
    login(client, "coord@lu.example.org")
    response = client.post("/staff/groups/new", data=group_form(client))
    assert response.status_code == 302
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "uusi-ryhma"))
        # varha is invited: it takes part once its own coordinator accepts.
        assert [r.slug for r in group.regions] == ["lansi-uusimaa"]
        assert [i.region.slug for i in group.pending_invitations] == ["varha"]
        assert group.owner_region.slug == "lansi-uusimaa"
        days = [s.occurrence_date for s in group.sessions]
    # No session on Epiphany, Wednesday 6 January 2027.
    assert days == [
        date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16), date(2026, 12, 23),
        date(2026, 12, 30), date(2027, 1, 13), date(2027, 1, 20), date(2027, 1, 27),
    ]  # fmt: skip


def test_a_coordinator_edits_a_group_of_their_region(client, app, world):
    login(client, "coord@lu.example.org")
    data = group_form(
        client,
        slug="test-group",
        title_fi="Uusi nimi",
        regions=["lansi-uusimaa", "siun-sote", "varha"],
    )
    assert client.post("/staff/groups/test-group/edit", data=data).status_code == 302
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "test-group"))
        assert group.title_fi == "Uusi nimi"


BAD_GROUP_INPUT = [
    ("term_end", {"term_end": (TERM_START - timedelta(days=1)).isoformat()}),
    ("duration_minutes", {"duration_minutes": "0"}),
    ("duration_minutes", {"duration_minutes": "481"}),
    ("regions", {"regions": ["lansi-uusimaa", "atlantis"]}),
    ("regions", {"regions": []}),
    (
        "capacity",
        {
            "kind": "closed",
            "capacity": "0",
            "application_opens": "2027-01-01",
            "application_closes": "2027-01-10",
        },
    ),
    ("meeting_url", {"meeting_url": "http://meet.example.org/x"}),
    ("slug", {"slug": "test-group"}),
    ("weekday", {"weekday": "7"}),
    ("weekday", {"weekday": "-1"}),
    ("application_closes", {"kind": "closed", "capacity": "10"}),
    ("title_fi", {"title_fi": ""}),
]


@pytest.mark.parametrize(
    ("field", "changes"),
    BAD_GROUP_INPUT,
    ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_GROUP_INPUT)],
)
def test_bad_group_input_is_refused_beside_its_field_and_nothing_is_saved(
    client, app, world, field, changes
):
    login(client, "coord@lu.example.org")
    before = counts(app)
    response = client.post("/staff/groups/new", data=group_form(client, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page
    assert f'href="#{field}"' in page  # the error summary links to the field
    assert counts(app) == before


def test_a_form_without_its_csrf_token_is_refused(client, app, world):
    login(client, "coord@lu.example.org")
    before = counts(app)
    response = client.post("/staff/groups/new", data=group_form(client, csrf_token=None))
    assert response.status_code in (400, 422)
    assert counts(app) == before


def test_a_coordinator_moves_a_session_with_a_reason(client, app, world):
    login(client, "coord@lu.example.org")
    session_id = first_session_id(app)  # Thursday 4 June 2026 13:00, summer time
    response = client.post(
        f"/staff/sessions/{session_id}/edit",
        data={
            "day": "2026-12-18",  # winter time: the move crosses the autumn clock change
            "start_time": "10:00",
            "duration_minutes": "45",
            "reason": "Ohjaaja on lomalla",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        moved = db.session.get(Session, session_id)
        assert moved.starts_at.astimezone(moved.group.zone).strftime("%H:%M%z") == "10:00+0200"
        assert (moved.change_reason, moved.sequence) == ("Ohjaaja on lomalla", 1)
        assert moved.edited_at is not None


def test_moving_a_session_without_a_reason_is_refused(client, app, world):
    login(client, "coord@lu.example.org")
    session_id = first_session_id(app)
    response = client.post(
        f"/staff/sessions/{session_id}/edit",
        data={
            "day": "2026-12-18",
            "start_time": "10:00",
            "duration_minutes": "45",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Session, session_id).sequence == 0


def test_a_cancelled_session_shows_its_reason_and_can_be_restored(client, app, world):
    login(client, "coord@lu.example.org")
    session_id = first_session_id(app)
    token = csrf_token(client)
    response = client.post(
        f"/staff/sessions/{session_id}/cancel",
        data={"cancel-reason": "Ohjaaja sairastui", "csrf_token": token},
    )
    assert response.status_code == 302
    assert "Ohjaaja sairastui" in client.get("/groups/test-group").get_data(as_text=True)
    assert (
        client.post(f"/staff/sessions/{session_id}/restore", data={"csrf_token": token}).status_code
        == 302
    )
    with app.app_context():
        session = db.session.get(Session, session_id)
        assert (session.status, session.sequence) == (SessionStatus.scheduled, 2)


def test_cancelling_needs_a_reason(client, app, world):
    login(client, "coord@lu.example.org")
    session_id = first_session_id(app)
    response = client.post(
        f"/staff/sessions/{session_id}/cancel",
        data={"cancel-reason": "", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Session, session_id).status == SessionStatus.scheduled


def test_a_facilitator_sees_the_sessions_they_lead(client, app, world):
    from remote_groups.regions.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "fac@lu.example.org"))
        session = db.session.get(Session, first_session_id(app))
        session.lead_facilitator = user
        db.session.commit()
        expected = session.starts_at.astimezone(session.group.zone).date().isoformat()
    login(client, "fac@lu.example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Testiryhmä" in page and expected in page


def test_an_admin_adds_a_region_and_a_coordinator_cannot(client, app, world):
    data = {
        "slug": "pirha",
        "name_fi": "Pirkanmaan hyvinvointialue",
        "name_sv": "Birkalands välfärdsområde",
        "name_en": "Pirkanmaa",
        "contact_email": "info@pirha.example.org",
    }
    login(client, "coord@lu.example.org")
    assert (
        client.post(
            "/staff/regions/new", data={**data, "csrf_token": csrf_token(client)}
        ).status_code
        == 403
    )
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "admin@example.org")
    assert (
        client.post(
            "/staff/regions/new", data={**data, "csrf_token": csrf_token(client)}
        ).status_code
        == 302
    )
    assert "Pirkanmaan hyvinvointialue" in client.get("/staff/regions").get_data(as_text=True)


def test_an_admin_creates_a_facilitator_who_can_log_in(client, app, world):
    login(client, "admin@example.org")
    response = client.post(
        "/staff/users/new",
        data={
            "email": "uusi@lu.example.org",
            "name": "Uusi Ohjaaja",
            "role": "facilitator",
            "region": "lansi-uusimaa",
            "language": "sv",
            "password": "a long enough password",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    response = client.post(
        "/staff/login",
        data={
            "email": "uusi@lu.example.org",
            "password": "a long enough password",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, world):
    response = client.post(
        "/staff/login",
        data={"email": "admin@example.org", "password": "wrong", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert 'id="password-error"' in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_logging_out_ends_the_staff_session(client, world):
    login(client, "coord@lu.example.org")
    assert client.post("/staff/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/staff/").status_code == 302


def test_the_weekly_time_reads_naturally_in_finnish_and_swedish(client, world):
    finnish = client.get("/groups/test-group?lang=fi").get_data(as_text=True)
    swedish = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    assert "Joka torstai klo 13.00" in finnish
    # Finland-Swedish writes times as Finnish does (13.00), not as in Sweden (13:00).
    assert "Varje torsdag kl. 13.00" in swedish
