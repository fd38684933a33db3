"""Rotation in the service and on the staff pages: planning, blackouts, facilitators, swaps."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.groups.models import RemoteGroup, Session
from remote_groups.outbox.models import OutboxMessage
from remote_groups.regions.models import Role, User
from remote_groups.rotation import service
from remote_groups.rotation.models import SwapRequest, SwapStatus
from remote_groups.service import ServiceError
from tests.conftest import (
    NOW,
    csrf_token,
    helsinki_date,
    login,
    make_group,
    make_region,
    make_user,
)

REGIONS = ("lansi-uusimaa", "siun-sote", "varha")


@pytest.fixture
def pilot(ctx):
    """The pilot: three regions, weekly Thursday sessions around Ascension Day 2027."""
    regions = [make_region(slug) for slug in REGIONS]
    db.session.flush()
    people = {
        "coord-lu": make_user("coord@lu.example.org", Role.coordinator, regions[0]),
        "coord-siun": make_user("coord@siun.example.org", Role.coordinator, regions[1]),
        "coord-varha": make_user("coord@varha.example.org", Role.coordinator, regions[2]),
        "fac-lu": make_user("fac@lu.example.org", Role.facilitator, regions[0]),
        "fac-siun": make_user("fac@siun.example.org", Role.facilitator, regions[1], "sv"),
    }
    group = make_group(regions, term_start=date(2027, 4, 1), term_end=date(2027, 6, 10))
    db.session.flush()
    return {"group": group, "regions": regions, **people}


def hosts(group: RemoteGroup) -> list[str]:
    return [s.host_region.slug for s in group.sessions if not s.cancelled]


def test_the_pilot_alternates_hosts_and_the_holiday_takes_no_turn(pilot):
    group = pilot["group"]
    assert len(group.sessions) == 10  # eleven Thursdays, Ascension Day (6.5.) skipped
    assert date(2027, 5, 6) not in {s.occurrence_date for s in group.sessions}
    assert hosts(group) == [*REGIONS * 3, REGIONS[0]]


def test_a_blackout_passes_the_turn_on_and_replanning_changes_little(pilot):
    group = pilot["group"]
    before = dict(zip([s.id for s in group.sessions], hosts(group), strict=True))
    second = group.sessions[1]  # siun-sote's first turn
    service.add_blackout(
        pilot["regions"][1],
        second.occurrence_date,
        second.occurrence_date,
        "Koulutuspäivä",
        pilot["coord-siun"],
    )
    preview = service.apply_plan(group, NOW)
    assert second.host_region.slug != "siun-sote"
    assert 1 <= len(preview.changes) <= len(REGIONS) + 1
    assert set(preview.changes) <= set(before)
    counts = preview.counts
    assert max(counts.values()) - min(counts.values()) <= 1


def test_a_blackout_ending_before_it_starts_is_refused(pilot):
    with pytest.raises(ServiceError):
        service.add_blackout(pilot["regions"][0], date(2027, 5, 2), date(2027, 5, 1), "x", None)


def test_a_group_without_regions_cannot_be_planned(pilot):
    group = pilot["group"]
    group.participations = []
    with pytest.raises(ServiceError):
        service.preview_plan(group, NOW)


def test_past_and_locked_sessions_keep_their_hosts_on_replanning(pilot):
    group = pilot["group"]
    group.sessions[2].locked = True
    locked_host = group.sessions[2].host_region_id
    service.add_blackout(pilot["regions"][2], date(2027, 4, 1), date(2027, 6, 30), "Kesä", None)
    later = datetime(2027, 4, 9, tzinfo=UTC)  # the first two sessions are past
    past_hosts = [s.host_region_id for s in group.sessions[:2]]
    service.apply_plan(group, later)
    assert [s.host_region_id for s in group.sessions[:2]] == past_hosts
    assert group.sessions[2].host_region_id == locked_host
    assert "varha" not in [s.host_region.slug for s in group.sessions[3:]]


def test_the_coordinator_assigns_a_lead_from_the_host_region_only(pilot):
    session = pilot["group"].sessions[0]  # hosted by lansi-uusimaa
    with pytest.raises(ServiceError):
        service.assign_facilitators(session, pilot["fac-siun"], [], NOW)
    service.assign_facilitators(session, pilot["fac-lu"], [pilot["fac-siun"]], NOW)
    assert session.lead_facilitator == pilot["fac-lu"]
    assert session.co_facilitators == [pilot["fac-siun"]]


def test_a_facilitator_volunteers_for_an_unfilled_turn_of_their_region(pilot):
    session = pilot["group"].sessions[0]
    service.volunteer(session, pilot["fac-lu"], NOW)
    assert session.lead_facilitator_id == pilot["fac-lu"].id
    with pytest.raises(ServiceError):
        service.volunteer(session, pilot["coord-lu"], NOW)  # already taken


def test_a_facilitator_cannot_volunteer_for_another_regions_turn(pilot):
    session = pilot["group"].sessions[0]
    with pytest.raises(ServiceError):
        service.volunteer(session, pilot["fac-siun"], NOW)
    assert session.lead_facilitator_id is None


def test_sessions_without_a_lead_in_the_next_14_days_are_flagged(pilot):
    region = pilot["regions"][0]
    first = pilot["group"].sessions[0]
    soon = first.starts_at - timedelta(days=10)
    assert [s.id for s in service.unfilled_turns(region.id, soon)] == [first.id]
    service.volunteer(first, pilot["fac-lu"], soon)
    assert service.unfilled_turns(region.id, soon) == []


def swap_of(pilot, accept_by="coord-siun"):
    first, second = pilot["group"].sessions[0], pilot["group"].sessions[1]
    swap = service.propose_swap(
        first,
        by=pilot["coord-lu"],
        to_region=pilot["regions"][1],
        other_session=second,
        message="Koulutus",
        now=NOW,
    )
    db.session.flush()
    return swap, first, second


def test_an_accepted_swap_changes_both_sessions_together(pilot):
    swap, first, second = swap_of(pilot)
    first.lead_facilitator = pilot["fac-lu"]
    affected = service.answer_swap(swap, accept=True, by=pilot["coord-siun"], now=NOW)
    assert (first.host_region.slug, second.host_region.slug) == ("siun-sote", "lansi-uusimaa")
    assert (first.sequence, second.sequence) == (1, 1)
    assert first.host_fixed and second.host_fixed
    assert first.lead_facilitator is None  # the lead came from the old host region
    assert affected == [pilot["fac-lu"]]
    assert swap.status == SwapStatus.accepted


def test_a_swapped_session_keeps_its_host_on_replanning(pilot):
    swap, first, second = swap_of(pilot)
    service.answer_swap(swap, accept=True, by=pilot["coord-siun"], now=NOW)
    service.apply_plan(pilot["group"], NOW)
    assert (first.host_region.slug, second.host_region.slug) == ("siun-sote", "lansi-uusimaa")


def test_a_declined_swap_changes_nothing(pilot):
    swap, first, second = swap_of(pilot)
    service.answer_swap(swap, accept=False, by=pilot["coord-siun"], now=NOW)
    assert (first.host_region.slug, second.host_region.slug) == ("lansi-uusimaa", "siun-sote")
    assert (first.sequence, swap.status) == (0, SwapStatus.declined)


def test_a_swap_already_decided_cannot_be_answered_again(pilot):
    swap, first, _ = swap_of(pilot)
    service.answer_swap(swap, accept=False, by=pilot["coord-siun"], now=NOW)
    with pytest.raises(ServiceError):
        service.answer_swap(swap, accept=True, by=pilot["coord-siun"], now=NOW)
    assert first.host_region.slug == "lansi-uusimaa"


def test_only_the_asked_regions_coordinator_answers(pilot):
    swap, _, _ = swap_of(pilot)
    with pytest.raises(ServiceError):
        service.answer_swap(swap, accept=True, by=pilot["coord-varha"], now=NOW)
    assert swap.status == SwapStatus.pending


def test_a_past_or_cancelled_session_cannot_be_swapped(pilot):
    first, second = pilot["group"].sessions[0], pilot["group"].sessions[1]
    with pytest.raises(ServiceError):
        service.propose_swap(
            first,
            by=pilot["coord-lu"],
            to_region=pilot["regions"][1],
            now=first.starts_at + timedelta(hours=2),
        )
    group_service.cancel_session(second, "Peruttu", now=NOW)
    with pytest.raises(ServiceError):
        service.propose_swap(
            first,
            by=pilot["coord-lu"],
            to_region=pilot["regions"][1],
            other_session=second,
            now=NOW,
        )
    assert db.session.scalar(select(func.count(SwapRequest.id))) == 0


def test_a_handover_gives_one_session_to_another_region(pilot):
    first = pilot["group"].sessions[0]
    swap = service.propose_swap(first, by=pilot["coord-lu"], to_region=pilot["regions"][2], now=NOW)
    db.session.flush()
    service.answer_swap(swap, accept=True, by=pilot["coord-varha"], now=NOW)
    assert first.host_region.slug == "varha" and first.sequence == 1


def test_swap_messages_reach_the_outbox_in_each_recipients_language(pilot, app):
    swap, first, _ = swap_of(pilot)  # proposing tells the asked region's coordinators
    first.lead_facilitator = pilot["fac-lu"]
    # Answering tells the asking region's coordinators and each facilitator whose turn moved.
    service.answer_swap(swap, accept=True, by=pilot["coord-siun"], now=NOW)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.kind, m.recipient) for m in rows] == [
        ("swap_proposed", "coord@siun.example.org"),
        ("swap_answered", "coord@lu.example.org"),
        ("swap_answered", "fac@lu.example.org"),
    ]
    assert all(m.subject and m.text_body.strip() for m in rows)


def test_a_coordinator_address_the_outbox_refuses_skips_only_that_notice(pilot, app, caplog):
    """A stored address with a space (say, from an old import) cannot be mailed: the swap is
    still proposed and the region's other coordinator still hears of it, and the log names
    the user, not the address."""
    broken = pilot["coord-siun"]
    broken.email = "coord siun@example.org"
    second = make_user("coord2@siun.example.org", Role.coordinator, pilot["regions"][1])
    db.session.flush()
    swap, _, _ = swap_of(pilot)
    assert swap.status == SwapStatus.pending
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.kind, m.recipient) for m in rows] == [("swap_proposed", second.email)]
    assert f"user {broken.id}" in caplog.text and "coord siun" not in caplog.text


# --- through HTTP ---------------------------------------------------------------------------


@pytest.fixture
def staffed(app, now):
    """Two regions' staff and a group meeting on Thursdays from tomorrow for four months."""
    today = helsinki_date(now)
    with app.app_context():
        regions = [make_region(slug) for slug in REGIONS]
        db.session.flush()
        make_user("coord@lu.example.org", Role.coordinator, regions[0])
        make_user("coord@siun.example.org", Role.coordinator, regions[1])
        make_user("fac@lu.example.org", Role.facilitator, regions[0])
        make_user("fac@siun.example.org", Role.facilitator, regions[1])
        make_group(
            regions,
            now=now,
            term_start=today + timedelta(days=1),
            term_end=today + timedelta(days=120),
        )
        db.session.commit()


def session_ids(app, host: str) -> list[int]:
    with app.app_context():
        group = group_service.group_by_slug("test-group")
        return [s.id for s in group.sessions if s.host_region.slug == host]


def test_my_turns_shows_the_sessions_i_lead_with_the_meeting_link(client, app, staffed):
    login(client, "fac@lu.example.org")
    session_id = session_ids(app, "lansi-uusimaa")[0]
    token = csrf_token(client)
    assert (
        client.post(
            f"/staff/sessions/{session_id}/volunteer", data={"csrf_token": token}
        ).status_code
        == 302
    )
    page = client.get("/staff/my-turns").get_data(as_text=True)
    assert "https://meet.example.org/test" in page
    assert "Testiryhmä" in page


def test_volunteering_for_another_regions_turn_changes_nothing(client, app, staffed):
    login(client, "fac@siun.example.org")
    session_id = session_ids(app, "lansi-uusimaa")[0]
    client.post(f"/staff/sessions/{session_id}/volunteer", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        assert db.session.get(Session, session_id).lead_facilitator_id is None


def test_our_turns_flags_turns_without_a_lead(client, app, staffed):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/our-turns").get_data(as_text=True)
    assert "Testiryhmä" in page
    assert "⚠" in page


def test_a_swap_proposed_and_accepted_through_the_pages(client, app, staffed):
    mine, theirs = session_ids(app, "lansi-uusimaa")[0], session_ids(app, "siun-sote")[0]
    login(client, "coord@lu.example.org")
    response = client.post(
        f"/staff/sessions/{mine}/swap",
        data={
            "to_region": "siun-sote",
            "other_session": str(theirs),
            "message": "Koulutus",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client)})
    login(client, "coord@siun.example.org")
    assert "Koulutus" in client.get("/staff/our-turns").get_data(as_text=True)
    with app.app_context():
        swap_id = db.session.scalar(select(SwapRequest.id))
    client.post(f"/staff/swaps/{swap_id}/accept", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        assert db.session.get(Session, mine).host_region.slug == "siun-sote"
        assert db.session.get(Session, theirs).host_region.slug == "lansi-uusimaa"


def test_the_rotation_page_previews_a_replan_and_saves_it_from_the_day_chosen(
    client, app, staffed, now
):
    login(client, "coord@lu.example.org")
    today = helsinki_date(now)
    with app.app_context():
        days = {
            i: db.session.get(Session, i).occurrence_date for i in session_ids(app, "lansi-uusimaa")
        }
    soon, later = [
        i for i, day in sorted(days.items(), key=lambda x: x[1]) if day > today + timedelta(days=1)
    ][:2]
    for session_id in (soon, later):
        client.post(
            "/staff/blackouts",
            data={
                "start_date": days[session_id].isoformat(),
                "end_date": days[session_id].isoformat(),
                "reason": "Koulutus",
                "csrf_token": csrf_token(client),
            },
        )
    page = client.get("/staff/groups/test-group/rotation?lang=en").get_data(as_text=True)
    suggested = today + timedelta(days=14)
    assert "Koulutus" in page and "re-plan" in page.lower()
    assert f'value="{suggested.isoformat()}"' in page
    with app.app_context():  # previewing changed nothing
        assert db.session.get(Session, soon).host_region.slug == "lansi-uusimaa"
    # From a day between the two: only the later one moves.
    between = days[soon] + timedelta(days=1)
    client.post(
        "/staff/groups/test-group/rotation",
        data={"applies_from": between.isoformat(), "csrf_token": csrf_token(client)},
    )
    with app.app_context():
        assert db.session.get(Session, soon).host_region.slug == "lansi-uusimaa"
        assert db.session.get(Session, later).host_region.slug != "lansi-uusimaa"


def test_the_rotation_page_refuses_a_past_day_and_saves_nothing(client, app, staffed, now):
    login(client, "coord@lu.example.org")
    before = {i: h for i, h in enumerate(session_ids(app, "lansi-uusimaa"))}
    today = helsinki_date(now)
    response = client.post(
        "/staff/groups/test-group/rotation",
        data={"applies_from": today.isoformat(), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert "Valitse päivä huomisesta alkaen." in response.get_data(as_text=True)
    assert {i: h for i, h in enumerate(session_ids(app, "lansi-uusimaa"))} == before


def test_a_bad_blackout_is_refused_beside_its_field(client, app, staffed):
    login(client, "coord@lu.example.org")
    response = client.post(
        "/staff/blackouts",
        data={
            "start_date": "2027-05-02",
            "end_date": "2027-05-01",
            "reason": "x",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert 'id="end_date-error"' in response.get_data(as_text=True)


def test_the_api_names_the_lead_only_for_staff(client, app, staffed):
    session_id = session_ids(app, "lansi-uusimaa")[0]
    with app.app_context():
        session = db.session.get(Session, session_id)
        session.lead_facilitator = db.session.scalar(
            select(User).where(User.email == "fac@lu.example.org")
        )
        db.session.commit()
    public = client.get("/api/v1/groups/test-group/sessions").get_json()["items"]
    assert all("lead_facilitator" not in item for item in public)
    login(client, "coord@siun.example.org")
    staff = client.get("/api/v1/groups/test-group/sessions").get_json()["items"]
    led = next(item for item in staff if item["id"] == session_id)
    assert led["lead_facilitator"]["name"] == "fac"


# --- concurrency, on PostgreSQL -------------------------------------------------------------


def test_two_coordinators_answering_one_swap_at_once_exactly_one_wins(app, staffed):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("real concurrent transactions are tested on PostgreSQL")
        group = group_service.group_by_slug("test-group")
        lu_session = next(s for s in group.sessions if s.host_region.slug == "lansi-uusimaa")
        coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
        siun = next(r for r in group.regions if r.slug == "siun-sote")
        swap = service.propose_swap(lu_session, by=coordinator, to_region=siun)
        db.session.commit()
        swap_id, session_id = swap.id, lu_session.id
        admin = make_user("admin@example.org", Role.admin, None)
        db.session.commit()
        answerers = [
            db.session.scalar(select(User.id).where(User.email == "coord@siun.example.org")),
            admin.id,
        ]

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer(user_id: int, accept: bool) -> None:
        with app.app_context():
            swap = db.session.get(SwapRequest, swap_id)
            user = db.session.get(User, user_id)
            assert swap.status == SwapStatus.pending
            barrier.wait()
            try:
                service.answer_swap(swap, accept=accept, by=user)
                db.session.commit()
                outcomes.append("accepted" if accept else "declined")
            except ServiceError:
                db.session.rollback()
                outcomes.append("refused")

    threads = [
        threading.Thread(target=answer, args=(answerers[0], True)),
        threading.Thread(target=answer, args=(answerers[1], False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) in (["accepted", "refused"], ["declined", "refused"])
    with app.app_context():
        final = db.session.get(SwapRequest, swap_id)
        host = db.session.get(Session, session_id).host_region.slug
        winner = next(outcome for outcome in outcomes if outcome != "refused")
        assert final.status.value == winner
        assert host == ("siun-sote" if final.status == SwapStatus.accepted else "lansi-uusimaa")


def test_the_rotation_page_links_the_groups_feed_and_prints_without_its_tools(client, staffed):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/groups/test-group/rotation").get_data(as_text=True)
    assert 'href="/calendar/groups/test-group.ics"' in page
    # The print style hides what only works on screen (the feed link's paragraph, buttons).
    css = client.get("/static/style.css").get_data(as_text=True)
    print_rules = css.split("@media print", 1)[1].split("}\n}", 1)[0]
    assert ".staff-tools" in print_rules and ".table-scroll { overflow: visible; }" in print_rules
    assert 'class="staff-tools">' in page
