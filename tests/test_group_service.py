"""Group saving and session regeneration: what changes and, above all, what must not."""

import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from remote_groups.extensions import db
from remote_groups.groups import service
from remote_groups.groups.models import Session, SessionStatus
from tests.conftest import NOW, group_values, make_group, make_region

LATER = NOW + timedelta(days=1)


@pytest.fixture
def regions(ctx):
    found = [make_region(slug) for slug in ("lansi-uusimaa", "siun-sote", "varha")]
    db.session.flush()
    return found


def by_day(group) -> dict[date, Session]:
    return {s.occurrence_date: s for s in group.sessions}


def test_saving_a_group_creates_its_sessions_without_holidays(regions):
    group = make_group(regions, term_start=date(2027, 4, 29), term_end=date(2027, 5, 13))
    assert sorted(by_day(group)) == [date(2027, 4, 29), date(2027, 5, 13)]  # 6.5. Ascension


def test_hosts_take_turns_in_the_participating_order(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 2, 28))
    hosts = [s.host_region.slug for s in group.sessions]
    assert hosts[:6] == ["lansi-uusimaa", "siun-sote", "varha"] * 2


def test_a_holiday_week_consumes_no_turn(regions):
    group = make_group(regions, term_start=date(2027, 4, 22), term_end=date(2027, 5, 20))
    assert [s.host_region.slug for s in group.sessions] == [
        "lansi-uusimaa", "siun-sote", "varha", "lansi-uusimaa",
    ]  # fmt: skip


def test_regenerating_keeps_a_manually_moved_session(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    moved = by_day(group)[date(2027, 1, 14)]
    service.move_session(
        moved,
        date(2027, 1, 15),
        time(10, 0),
        60,
        topic="Liikunta",
        locked=False,
        reason="Ohjaaja on estynyt",
        now=NOW,
    )
    group.start_time = time(14, 0)
    service.regenerate_sessions(group, LATER)
    sessions = by_day(group)
    assert moved.starts_at == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert moved.topic == "Liikunta"
    assert sessions[date(2027, 1, 21)].starts_at == datetime(2027, 1, 21, 12, 0, tzinfo=UTC)


def test_regenerating_keeps_a_locked_session(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    locked = by_day(group)[date(2027, 1, 7)]
    locked.locked = True
    before = (locked.starts_at, locked.host_region_id, locked.sequence)
    group.start_time = time(15, 0)
    service.regenerate_sessions(group, LATER)
    assert (locked.starts_at, locked.host_region_id, locked.sequence) == before


def test_regenerating_never_touches_past_sessions(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    first = by_day(group)[date(2027, 1, 7)]
    group.start_time = time(9, 0)
    service.regenerate_sessions(group, now=datetime(2027, 1, 10, tzinfo=UTC))
    assert first.starts_at == datetime(2027, 1, 7, 11, 0, tzinfo=UTC)
    assert by_day(group)[date(2027, 1, 14)].starts_at == datetime(2027, 1, 14, 7, 0, tzinfo=UTC)


def test_a_changed_time_raises_the_calendar_sequence(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    group.start_time = time(15, 0)
    report = service.regenerate_sessions(group, LATER)
    assert {s.sequence for s in group.sessions} == {1}
    assert len(report.moved) == len(group.sessions)


def test_regenerating_an_unchanged_schedule_changes_nothing(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 3, 31))
    before = [(s.starts_at, s.host_region_id, s.sequence, s.status) for s in group.sessions]
    report = service.regenerate_sessions(group, LATER)
    after = [(s.starts_at, s.host_region_id, s.sequence, s.status) for s in group.sessions]
    assert after == before
    assert (report.created, report.moved, report.removed) == ([], [], [])


def test_a_date_leaving_the_schedule_is_cancelled_not_deleted(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    last = by_day(group)[date(2027, 1, 28)]
    group.term_end = date(2027, 1, 27)
    report = service.regenerate_sessions(group, LATER)
    assert report.removed == [date(2027, 1, 28)]
    assert last.status == SessionStatus.cancelled and last.cancel_reason is None
    assert last.sequence == 1


def test_a_date_returning_to_the_schedule_is_restored(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    group.term_end = date(2027, 1, 27)
    service.regenerate_sessions(group, LATER)
    group.term_end = date(2027, 1, 31)
    service.regenerate_sessions(group, LATER)
    last = by_day(group)[date(2027, 1, 28)]
    assert last.status == SessionStatus.scheduled and last.sequence == 2


def test_every_new_session_gets_a_random_uuid_of_its_own_as_its_calendar_uid(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 6, 30))
    db.session.flush()
    db.session.expire_all()
    uids = [s.uid for s in group.sessions]
    assert len(uids) > 20
    assert len(set(uids)) == len(uids)
    assert all(uid == str(uuid.UUID(uid)) for uid in uids)  # stored as text, canonical form
    assert {uuid.UUID(uid).version for uid in uids} == {4}


def test_the_database_refuses_two_sessions_with_one_uid(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    first, second = group.sessions[:2]
    second.uid = first.uid
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_regenerating_keeps_the_uid_of_every_session_that_stays(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 3, 31))
    uids = {day: session.uid for day, session in by_day(group).items()}
    changed = group_values(start_time=time(15, 0), term_end=date(2027, 3, 17))
    service.save_group(group, changed, regions, regions[0], LATER)
    db.session.flush()
    db.session.expire_all()
    sessions = by_day(group)
    assert {s.starts_at.hour for s in sessions.values() if not s.cancelled} == {13}  # 15 EET
    assert sessions[date(2027, 3, 25)].cancelled
    assert {day: session.uid for day, session in sessions.items()} == uids


def test_regenerating_keeps_a_uid_from_before_0006_as_it_was_published(regions):
    """A session that existed before migration 0006 has ``session-<id>@<host>``, not a UUID;
    regeneration updates it in place like any other."""
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 3, 31))
    db.session.flush()
    legacy = by_day(group)[date(2027, 1, 14)]
    legacy.uid = f"session-{legacy.id}@ryhmat.example.fi"
    db.session.flush()
    changed = group_values(start_time=time(15, 0), term_end=date(2027, 3, 31))
    service.save_group(group, changed, regions, regions[0], LATER)
    db.session.flush()
    db.session.expire_all()
    moved = by_day(group)[date(2027, 1, 14)]
    assert moved.starts_at.hour == 13  # 15 EET
    assert moved.uid == f"session-{moved.id}@ryhmat.example.fi"


def test_cancelling_records_the_reason_and_can_be_undone(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    session = group.sessions[0]
    service.cancel_session(session, "Ohjaaja sairastui", now=NOW)
    assert (session.status, session.cancel_reason, session.sequence) == (
        SessionStatus.cancelled, "Ohjaaja sairastui", 1,
    )  # fmt: skip
    service.restore_session(session, now=NOW)
    assert (session.status, session.cancel_reason, session.sequence) == (
        SessionStatus.scheduled, None, 2,
    )  # fmt: skip


def test_a_cancelled_session_takes_no_turn(regions):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 2, 28))
    service.cancel_session(group.sessions[1], "Peruttu", now=NOW)
    service.regenerate_sessions(group, NOW)
    active = [s.host_region.slug for s in group.sessions if not s.cancelled]
    assert active[:3] == ["lansi-uusimaa", "siun-sote", "varha"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: service.cancel_session(s, "x", now=s.ends_at + timedelta(minutes=1)),
            "already taken place",
        ),
        (lambda s: service.restore_session(s, now=NOW), "not cancelled"),
        (
            lambda s: service.move_session(
                s, date(2026, 1, 1), time(10, 0), 60, topic=None, locked=False, reason="x", now=NOW
            ),
            "future",
        ),
        (
            lambda s: service.move_session(
                s, date(2027, 1, 8), time(10, 0), 60, topic=None, locked=False, reason="", now=NOW
            ),
            "why",
        ),
    ],
    ids=["past-session", "restore-uncancelled", "move-into-past", "move-without-reason"],
)
def test_refused_session_changes_change_nothing(regions, change, message):
    group = make_group(regions, term_start=date(2027, 1, 1), term_end=date(2027, 1, 31))
    session = group.sessions[0]
    before = (session.starts_at, session.status, session.sequence, session.edited_at)
    with pytest.raises(service.ServiceError) as refused, force_locale("en"):
        change(session)
    with force_locale("en"):
        assert message in str(refused.value.message)
    assert (session.starts_at, session.status, session.sequence, session.edited_at) == before


def test_a_duplicate_slug_is_refused(regions):
    make_group(regions)
    with pytest.raises(service.ServiceError) as refused:
        make_group(regions)
    assert refused.value.field == "slug"
