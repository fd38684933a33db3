"""Days are Helsinki days, also just after midnight, when UTC is still on the day before
(until 02:00 in winter, 03:00 in summer).

Each test runs on a clock frozen half an hour after a Helsinki midnight, or about a session
just after one; taking the day from UTC instead makes each of them fail.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups.applications.models import Application
from remote_groups.applications.service.applying import ApplicationInput, submit_application
from remote_groups.applications.service.retention import anonymize_expired
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind
from remote_groups.groups.service import upcoming_schedule
from remote_groups.regions.models import Region
from remote_groups.rotation.service import add_blackout
from tests.conftest import CROSSINGS, HELSINKI, NOW, login, make_group, make_region

# 1 January 2028 00:30 in Helsinki is 31 December 2027 22:30 in UTC.
NEW_YEAR = CROSSINGS["new-year-in-helsinki-only"]
# Boxing Day 2027 00:30 in Helsinki is still Christmas Day (a Saturday), 22:30, in UTC.
BOXING_DAY = datetime(2027, 12, 26, 0, 30, tzinfo=HELSINKI)


def add_course(app: Flask, opens: date, closes: date) -> None:
    """A course of the world's regions, taking applications from ``opens`` to ``closes``."""
    with app.app_context():
        regions = list(db.session.scalars(select(Region).order_by(Region.id)))[:3]
        make_group(
            regions,
            slug="kurssi",
            kind=GroupKind.closed,
            capacity=10,
            application_opens=opens,
            application_closes=closes,
            term_start=date(2028, 2, 1),
            term_end=date(2028, 3, 31),
        )
        db.session.commit()


@pytest.mark.now(NEW_YEAR)
def test_applications_opening_on_new_years_day_are_offered_from_midnight(client, app, world):
    add_course(app, opens=date(2028, 1, 1), closes=date(2028, 1, 14))

    page = client.get("/groups/kurssi?lang=en").get_data(as_text=True)

    assert "Apply to the course" in page
    assert client.get("/groups/kurssi/apply").status_code == 200


@pytest.mark.now(NEW_YEAR)
def test_applications_closing_on_new_years_eve_are_no_longer_offered_after_midnight(
    client, app, world
):
    add_course(app, opens=date(2027, 12, 1), closes=date(2027, 12, 31))

    page = client.get("/groups/kurssi?lang=en").get_data(as_text=True)

    assert "Applications are not open now." in page
    assert "Apply to the course" not in page
    assert client.get("/groups/kurssi/apply").status_code == 409


@pytest.mark.now(BOXING_DAY)
def test_yesterdays_holiday_gap_leaves_the_schedule_at_midnight(ctx, now):
    regions = [make_region("lansi-uusimaa")]
    db.session.flush()
    saturdays = make_group(
        regions, weekday=5, term_start=date(2027, 12, 1), term_end=date(2028, 1, 31)
    )

    first = upcoming_schedule(saturdays, "en", now)[0]

    assert (first.day, first.skip_reason) == (date(2028, 1, 1), "New Year's Day")


def test_a_session_just_after_midnight_is_listed_on_its_own_day(ctx):
    """01:00 on a Saturday in Helsinki is 23:00 on the Friday in UTC (winter)."""
    regions = [make_region("lansi-uusimaa")]
    db.session.flush()
    group = make_group(
        regions,
        weekday=5,
        start_time=time(1, 0),
        term_start=date(2027, 1, 1),
        term_end=date(2027, 1, 31),
    )

    days = [entry.day for entry in upcoming_schedule(group, "fi", NOW)]

    assert days == [date(2027, 1, d) for d in (2, 9, 16, 23, 30)]


@pytest.mark.now(NEW_YEAR)
def test_a_blackout_that_ended_on_new_years_eve_is_not_listed_after_midnight(
    client: FlaskClient, app: Flask, world
):
    with app.app_context():
        region = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        add_blackout(region, date(2027, 12, 20), date(2027, 12, 31), "Joululoma", None)
        add_blackout(region, date(2028, 1, 1), date(2028, 1, 6), "Loppiainen", None)
        db.session.commit()
    login(client, "coord@lu.example.org")

    page = client.get("/staff/our-turns").get_data(as_text=True)

    assert "Loppiainen" in page
    assert "Joululoma" not in page


@pytest.mark.now(NEW_YEAR)
def test_an_application_is_anonymized_from_midnight_of_the_day_its_retention_ends(ctx, now):
    """A course that ended on 2 October 2027 is more than 90 days past on 1 January 2028."""
    regions = [make_region("lansi-uusimaa")]
    db.session.flush()
    course = make_group(
        regions,
        slug="kurssi",
        kind=GroupKind.closed,
        capacity=5,
        application_opens=date(2026, 6, 1),
        application_closes=date(2026, 6, 30),
        term_start=date(2027, 9, 1),
        term_end=date(2027, 10, 2),
    )
    data = ApplicationInput(
        name="Aino",
        email="aino@example.org",
        phone=None,
        home_region="lansi-uusimaa",
        language="fi",
        needs=None,
        motivation="Haluan mukaan.",
    )
    submit_application(course, data, now=NOW)
    db.session.flush()

    assert anonymize_expired(now, retention_days=90) == 1
    assert db.session.scalar(select(Application.name)) == "—"
