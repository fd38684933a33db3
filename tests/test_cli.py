"""`flask --app remote_groups …` commands: demo data, the first administrator, migrations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from icalendar import Calendar
from sqlalchemy import func, inspect, select, text

from remote_groups.calendar.service import content as calendar_content
from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.groups.models import RemoteGroup, Session, session_co_facilitators
from remote_groups.groups.schedule import Occurrence, Skip, occurrences
from remote_groups.outbox.models import OutboxMessage
from remote_groups.outbox.queue import RenderedMessage, enqueue
from remote_groups.regions.models import Region, Role, User
from tests.conftest import (
    NOW,
    PASSWORD,
    csrf_token,
    group_values,
    make_group,
    make_region,
    make_user,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
LOGIN_LINE = re.compile(r"^\s+(admin|coordinator|facilitator)\s+(\S+@\S+)\s+(\S+)\s*$", re.M)


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Region, User, RemoteGroup, Session)
        }


def log_in(client: FlaskClient, email: str, password: str) -> int:
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )
    return response.status_code


# --- demo load -------------------------------------------------------------------------------


def test_demo_load_prints_the_staff_logins(app):
    result = run(app, "demo", "load")
    assert result.exit_code == 0, result.output
    logins = LOGIN_LINE.findall(result.output)
    roles = [role for role, _, _ in logins]
    assert roles.count("coordinator") == 3
    assert roles.count("facilitator") == 6
    with app.app_context():
        staff_emails = set(db.session.scalars(select(User.email).where(User.role != Role.admin)))
    assert staff_emails <= {email for _, email, _ in logins}


def test_demo_load_creates_the_three_regions_and_the_two_groups(app):
    assert run(app, "demo", "load").exit_code == 0
    with app.app_context():
        assert set(db.session.scalars(select(Region.slug))) == {
            "lansi-uusimaa",
            "siun-sote",
            "varha",
        }
        assert set(db.session.scalars(select(RemoteGroup.slug))) == {
            "hyvinvointikurssi",
            "avoin-etaryhma",
        }


def test_demo_load_gives_each_region_one_coordinator_and_two_facilitators(app):
    assert run(app, "demo", "load").exit_code == 0
    with app.app_context():
        for region in db.session.scalars(select(Region)):
            roles = sorted(
                u.role.value
                for u in db.session.scalars(select(User).where(User.region_id == region.id))
            )
            assert roles == ["coordinator", "facilitator", "facilitator"], region.slug


def test_a_printed_demo_password_logs_in(app, client):
    output = run(app, "demo", "load").output
    logins = LOGIN_LINE.findall(output)
    _, email, password = next(line for line in logins if line[0] == "coordinator")
    assert log_in(client, email, password) == 302
    assert client.get("/staff/").status_code == 200


def test_a_wrong_password_does_not_log_in_after_the_demo(app, client):
    output = run(app, "demo", "load").output
    _, email, password = LOGIN_LINE.findall(output)[0]
    assert log_in(client, email, password + "x") == 422
    assert client.get("/staff/").status_code == 302


def test_demo_load_if_empty_a_second_time_changes_nothing(app):
    assert run(app, "demo", "load", "--if-empty").exit_code == 0
    before = counts(app)
    result = run(app, "demo", "load", "--if-empty")
    assert result.exit_code == 0, result.output
    assert counts(app) == before
    assert before["Region"] == 3


def test_demo_load_refuses_a_database_that_already_has_data(app):
    assert run(app, "demo", "load").exit_code == 0
    before = counts(app)
    result = run(app, "demo", "load")
    assert result.exit_code != 0
    assert "already has data" in result.output
    assert counts(app) == before


def test_demo_open_group_spans_both_dst_changes_at_13_local_time(app):
    assert run(app, "demo", "load").exit_code == 0
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "avoin-etaryhma"))
        local_starts = [s.starts_at.astimezone(HELSINKI) for s in group.sessions]
    offsets = {start.utcoffset().total_seconds() / 3600 for start in local_starts}
    assert offsets == {2.0, 3.0}
    assert {start.strftime("%H:%M") for start in local_starts} == {"13:00"}


def test_demo_open_group_skips_finnish_public_holidays(app):
    assert run(app, "demo", "load").exit_code == 0
    with app.app_context():
        group = db.session.scalar(select(RemoteGroup).where(RemoteGroup.slug == "avoin-etaryhma"))
        planned = occurrences(group.schedule)
        session_days = {s.starts_at.astimezone(HELSINKI).date() for s in group.sessions}
    skipped = [o for o in planned if isinstance(o, Skip)]
    assert skipped, "twelve months of Thursdays include Ascension Day at least"
    assert all(skip.reason for skip in skipped)
    assert not session_days & {skip.day for skip in skipped}
    assert session_days <= {o.day for o in planned if isinstance(o, Occurrence)}


# --- users create-admin ----------------------------------------------------------------------


def test_create_admin_makes_an_administrator_who_can_log_in(app, client):
    result = run(
        app,
        "users",
        "create-admin",
        "--email",
        "boss@example.org",
        "--name",
        "Boss",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "boss@example.org"))
        assert user.role == Role.admin
    assert log_in(client, "boss@example.org", PASSWORD) == 302
    assert client.get("/staff/users").status_code == 200


def test_create_admin_refuses_a_password_shorter_than_12_characters(app):
    result = run(
        app,
        "users",
        "create-admin",
        "--email",
        "boss@example.org",
        "--name",
        "Boss",
        "--password",
        "short-pw-11",
    )
    assert result.exit_code != 0
    assert "12" in result.output
    assert counts(app)["User"] == 0


# --- migrations ------------------------------------------------------------------------------


def test_db_upgrade_is_available(app):
    result = run(app, "db", "--help")
    assert result.exit_code == 0
    assert re.search(r"^\s+upgrade\b", result.output, re.M)


def test_the_migrations_build_exactly_the_schema_of_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


MIGRATIONS = str(Path(__file__).parent.parent / "migrations")
BEFORE_STABLE_IDENTITIES = "0005_throttles"


def links_and_sessions(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(session_co_facilitators)),
            db.session.scalar(select(func.count()).select_from(Session.__table__)),
        )


@pytest.fixture
def before_stable_identities(app: Flask) -> Iterator[tuple[int, int]]:
    """A group whose first session has a co-facilitator, and a queued message, in a schema
    taken back to before 0006; the co-facilitator links and sessions counted before. The
    schema is brought back to the newest migration afterwards, whatever the test did."""
    with app.app_context():
        region = make_region("lansi-uusimaa")
        db.session.flush()
        co_facilitator = make_user("co@lu.example.org", Role.facilitator, region)
        group = make_group([region])
        group.sessions[0].co_facilitators = [co_facilitator]
        enqueue(
            kind="subscription_confirm",
            key="1",
            recipient="aino@example.org",
            language="fi",
            message=RenderedMessage("Hei", "Hei!\n"),
        )
        db.session.commit()
    counted = links_and_sessions(app)
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision=BEFORE_STABLE_IDENTITIES)
    try:
        yield counted
    finally:
        with app.app_context():
            upgrade(directory=MIGRATIONS)


def test_downgrading_0006_drops_the_identities_and_keeps_every_session_and_link(
    app, before_stable_identities
):
    with app.app_context():
        columns = inspect(db.engine).get_columns
        assert "uid" not in {c["name"] for c in columns("sessions")}
        assert "message_id" not in {c["name"] for c in columns("outbox_messages")}
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM session_co_facilitators")) == 1
            sessions = connection.scalar(text("SELECT count(*) FROM sessions"))
    assert (1, sessions) == before_stable_identities


def test_upgrading_to_0006_gives_each_session_its_own_uid_and_keeps_its_links(
    app, before_stable_identities
):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        uids = list(db.session.scalars(select(Session.uid)))
    assert links_and_sessions(app) == before_stable_identities
    assert None not in uids and len(set(uids)) == len(uids) > 1


def served_uids(client: FlaskClient, slug: str) -> list[str]:
    """The UIDs of the group's feed as a subscribed calendar reads them, built afresh."""
    calendar_content.built_feeds.clear()
    response = client.get(f"/calendar/groups/{slug}.ics")
    assert response.status_code == 200
    return [str(event["UID"]) for event in Calendar.from_ical(response.data).walk("VEVENT")]


def legacy_uids(app: Flask, host: str) -> dict[int, str]:
    """The UID the code before 0006 published for each session: ``session-<id>@<host>``."""
    with app.app_context():
        ids = db.session.scalars(select(Session.id))
        return {session_id: f"session-{session_id}@{host}" for session_id in ids}


def test_upgrading_to_0006_keeps_the_uid_each_session_was_published_with(
    app, client, before_stable_identities, monkeypatch
):
    """Subscribed calendars and mailed invitations hold ``session-<id>@<host of BASE_URL>``
    (the host as the old code took it: lower case, no port): a new UID would turn the next
    update into a second event."""
    monkeypatch.setitem(app.config, "BASE_URL", "https://Ryhmat.Example.FI:8443/palvelu")
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        stored = dict(db.session.execute(select(Session.id, Session.uid)).all())
    assert stored == legacy_uids(app, "ryhmat.example.fi")
    served = served_uids(client, "test-group")
    assert served and set(served) <= set(stored.values())


def test_legacy_uids_stay_when_base_url_changes_after_the_upgrade(
    app, client, before_stable_identities, monkeypatch
):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    monkeypatch.setitem(app.config, "BASE_URL", "https://uusi.example.fi")
    served = served_uids(client, "test-group")
    assert served and set(served) <= set(legacy_uids(app, "127.0.0.1").values())


def test_sessions_made_after_the_upgrade_get_random_uuids_beside_the_legacy_ones(
    app, before_stable_identities
):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        legacy = legacy_uids(app, "127.0.0.1")
        group = db.session.scalar(select(RemoteGroup))
        longer = group_values(term_end=date(2027, 12, 31))
        group_service.save_group(group, longer, group.regions, group.regions[0], NOW)
        db.session.commit()
        stored = dict(db.session.execute(select(Session.id, Session.uid)).all())
    new = {key: uid for key, uid in stored.items() if key not in legacy}
    assert {key: stored[key] for key in legacy} == legacy
    assert len(new) > 20
    assert {uuid.UUID(uid).version for uid in new.values()} == {4}


def test_upgrading_to_0006_gives_a_queued_message_the_message_id_it_had(
    app, before_stable_identities
):
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        [message] = db.session.scalars(select(OutboxMessage))
    assert message.message_id == f"<outbox-{message.id}@127.0.0.1>"
