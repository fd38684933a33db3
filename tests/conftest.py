"""Fixtures: an app on SQLite (default) or on the PostgreSQL of TEST_DATABASE_URL.

The schema is built by running the Alembic migrations, so every run also tests them. Each test
starts from empty tables. Under CI=true an unreachable PostgreSQL fails the run.

Every test runs on a frozen clock (the autouse fixture ``now``): at ``NOW`` unless it chooses
another instant with ``@pytest.mark.now(instant)`` or by parametrizing ``now`` indirectly, e.g.
over ``CROSSINGS``. The clock ticks on from that instant, so code that measures elapsed time
still works. Test data is built from that instant, never from the day the suite runs.
Tests that start processes (``@pytest.mark.real_clock``: tests/fault/, tests/browser/) run on
the real clock instead, because those processes cannot see a frozen one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from remote_groups import create_app
from remote_groups.applications.models import Application, ApplicationStatus, Participant
from remote_groups.extensions import db
from remote_groups.groups import service as group_service
from remote_groups.groups.models import GroupKind, Publication, RemoteGroup, RotationPolicy
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.regions.models import Region, Role, User
from remote_groups.types import utcnow
from tests.pg_available import reachable

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery"
HELSINKI = ZoneInfo("Europe/Helsinki")

# The instant every test runs at unless it chooses another: Monday 1 June 2026, 12:00 in
# Helsinki (UTC+3). A year from it holds what a real year does, on purpose: the autumn clock
# change (Sunday 2026-10-25), Christmas Eve on a Thursday, New Year, Epiphany on a Wednesday
# (2027-01-06), the spring change (Sunday 2027-03-28), Easter and Ascension Day on a Thursday
# (2027-05-06). Dates in 2027 that tests write out are in the future.
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

# Instants at which "now" itself crosses something, for tests about now (what the mail sweep
# finds due, what the group page still shows as upcoming, whether applications are open):
# parametrize ``now`` over them indirectly.
CROSSINGS = {
    # Clocks go 03:00 → 04:00 in 3½ hours: this time tomorrow is 23 hours away.
    "eve-of-summer-time": datetime(2027, 3, 27, 23, 30, tzinfo=HELSINKI),
    # Clocks go 04:00 → 03:00 in 4½ hours: this time tomorrow is 25 hours away.
    "eve-of-winter-time": datetime(2027, 10, 30, 23, 30, tzinfo=HELSINKI),
    # Half an hour to a new year; 21:30 in UTC.
    "new-years-eve": datetime(2027, 12, 31, 23, 30, tzinfo=HELSINKI),
    # Already 2028 in Helsinki, still 31 December 2027 (22:30) in UTC.
    "new-year-in-helsinki-only": datetime(2028, 1, 1, 0, 30, tzinfo=HELSINKI),
    # A day that a year ago or a year on does not have.
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=HELSINKI),
}


@pytest.fixture(autouse=True)
def now(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The test's "now" in UTC. The clock (``datetime.now``, ``date.today``, ``time.time``, so
    the app's ``utcnow()`` and ``formatting.today_in_helsinki()`` alike) is frozen there and
    ticks on from it. The instant is, first found: the indirect parameter, the ``now``
    marker's argument, or ``NOW``. Under ``real_clock`` nothing is frozen."""
    if request.node.get_closest_marker("real_clock"):
        yield utcnow()
        return
    marker = request.node.get_closest_marker("now")
    instant = getattr(request, "param", None) or (marker.args[0] if marker else NOW)
    with time_machine.travel(instant, tick=True):
        yield instant.astimezone(UTC)


def helsinki_date(instant: datetime) -> date:
    return instant.astimezone(HELSINKI).date()


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    if not reachable(TEST_DATABASE_URL):
        message = f"PostgreSQL at TEST_DATABASE_URL={TEST_DATABASE_URL} is unreachable"
        if os.environ.get("CI") == "true":
            pytest.exit(message + " (CI=true requires it)", returncode=1)
        pytest.skip(message, allow_module_level=True)
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from flask_migrate import upgrade

    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
            "MAIL_DIR": str(tmp_path_factory.mktemp("mail")),
            "SERVER_NAME": "localhost",
        }
    )
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
    yield application


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after a test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for service-level tests."""
    with app.app_context(), app.test_request_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def make_region(slug: str) -> Region:
    region = Region(
        slug=slug,
        name_fi=f"{slug} fi",
        name_sv=f"{slug} sv",
        name_en=f"{slug} en",
        contact_email=f"info@{slug}.example.org",
    )
    db.session.add(region)
    return region


def make_user(email: str, role: Role, region: Region | None, language: str = "fi") -> User:
    user = User(email=email, name=email.split("@")[0], role=role, region=region, language=language)
    user.set_password(PASSWORD)
    db.session.add(user)
    return user


def group_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "slug": "test-group",
        "kind": GroupKind.open,
        "language": "fi",
        "title_fi": "Testiryhmä",
        "title_sv": "Testgrupp",
        "meeting_url": "https://meet.example.org/test",
        "weekday": 3,
        "start_time": time(13, 0),
        "duration_minutes": 60,
        "term_start": date(2027, 1, 1),
        "term_end": date(2027, 6, 30),
        "skip_holidays": True,
        "rotation_policy": RotationPolicy.round_robin,
    }
    values.update(overrides)
    return values


def make_group(
    regions: list[Region], now: datetime = NOW, published: bool = True, **overrides: object
) -> RemoteGroup:
    """A group saved as the staff form saves one, then published (unless ``published`` is
    False: a new group is a draft until its coordinators publish it)."""
    group = group_service.save_group(None, group_values(**overrides), regions, regions[0], now)
    if published:
        group.publication = Publication.published
    return group


def make_participant(
    course: RemoteGroup, home_region: Region, now: datetime, **overrides: object
) -> Application:
    """An accepted applicant of ``course`` with a participant feed (as a decision makes one)."""
    values: dict[str, object] = {
        "name": "Aino Asiakas",
        "email": "aino@example.org",
        "phone": "+358 40 123 4567",
        "language": "fi",
        "motivation": "Haluan oppia.",
        **overrides,
    }
    application = Application(
        group=course,
        home_region=home_region,
        consent_at=now,
        status=ApplicationStatus.accepted,
        **values,
    )
    application.participant = Participant(group_id=course.id)
    db.session.add(application)
    return application


def make_outbox_message(number: int, status: OutboxStatus, **overrides: object) -> OutboxMessage:
    """A queued message row as the outbox holds it (``number`` keeps keys and ids apart)."""
    values: dict[str, object] = {
        "idempotency_key": f"test:{number}",
        "message_id": f"<m{number}@example.org>",
        "kind": "session_moved",
        "recipient": f"person{number}@example.org",
        "language": "fi",
        "subject": f"Aihe {number}",
        "text_body": "Teksti",
        "status": status,
        **overrides,
    }
    message = OutboxMessage(**values)
    db.session.add(message)
    return message


def make_course_taking_applications(
    regions: list[Region], slug: str = "kurssi", capacity: int = 3
) -> RemoteGroup:
    """A closed course whose application window is open today; it starts in two weeks.
    Dated from the app's clock: frozen by ``now``, or the real one in ``real_clock`` tests."""
    now = utcnow()
    today = helsinki_date(now)
    return make_group(
        regions,
        now=now,
        slug=slug,
        kind=GroupKind.closed,
        capacity=capacity,
        application_opens=today - timedelta(days=1),
        application_closes=today + timedelta(days=10),
        term_start=today + timedelta(days=14),
        term_end=today + timedelta(days=90),
    )


@pytest.fixture
def world(app: Flask, now: datetime) -> dict[str, object]:
    """Three regions taking part in one group, a fourth outside it, and staff of each. The
    group meets on Thursdays for 52 weeks from today (also from a 29 February)."""
    today = helsinki_date(now)
    with app.app_context():
        lu, siun, varha, outside = (
            make_region(s) for s in ("lansi-uusimaa", "siun-sote", "varha", "lappi")
        )
        db.session.flush()
        make_user("admin@example.org", Role.admin, None)
        make_user("coord@lu.example.org", Role.coordinator, lu)
        make_user("coord@lappi.example.org", Role.coordinator, outside)
        make_user("fac@lu.example.org", Role.facilitator, lu)
        group = make_group(
            [lu, siun, varha],
            now=now,
            term_start=today,
            term_end=today + timedelta(weeks=52),
        )
        db.session.commit()
        return {"group_slug": group.slug}


CSRF_PATTERN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token valid for every form of the client's browser session."""
    page = client.get("/staff/login").get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, "the login page has a CSRF token"
    return match.group(1)


def login(client: FlaskClient, email: str) -> None:
    response = client.post(
        "/staff/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
