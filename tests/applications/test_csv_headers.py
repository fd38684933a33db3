"""The participants file speaks the coordinator's language (headers, each participant's
language) and writes dates as Finnish and Swedish Excel read them, in Helsinki."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.regions.models import Region, Role
from tests.conftest import login, make_participant, make_user

CSV_PATH = "/staff/courses/kurssi/participants.csv"
HEADERS = {
    "fi": ["Nimi", "Sähköposti", "Puhelin", "Hyvinvointialue", "Kieli", "Hakupäivä"],
    "sv": ["Namn", "E-post", "Telefon", "Välfärdsområde", "Språk", "Ansökningsdag"],
    "en": ["Name", "Email", "Phone", "Region", "Language", "Applied on"],
}
LANGUAGES = {"fi": ["suomi", "ruotsi"], "sv": ["finska", "svenska"], "en": ["Finnish", "Swedish"]}
# 22.30 UTC on 1 June is already 2 June in Helsinki (UTC+3).
LATE_EVENING = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)


def rows_of(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))


@pytest.fixture
def participants(app: Flask, course: str) -> None:
    """Aino (Finnish) and Bo (Swedish) on the course; Bo applied late on a June evening."""
    with app.app_context():
        group = group_by_slug(course)
        home = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        make_participant(group, home, LATE_EVENING, name="Aino Asiakas", created_at=LATE_EVENING)
        make_participant(
            group,
            home,
            LATE_EVENING,
            name="Bo Berg",
            email="bo@example.org",
            language="sv",
            created_at=datetime(2026, 12, 24, 10, 0, tzinfo=UTC),
        )
        db.session.commit()


def coordinator_speaking(app: Flask, language: str) -> str:
    email = f"coord-{language}@lu.example.org"
    with app.app_context():
        region = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        make_user(email, Role.coordinator, region, language=language)
        db.session.commit()
    return email


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_headers_and_language_names_are_in_the_coordinators_language(
    client, app, participants, language
):
    login(client, coordinator_speaking(app, language))
    rows = rows_of(client.get(CSV_PATH).get_data(as_text=True))
    assert rows[0] == HEADERS[language]
    assert [row[4] for row in rows[1:]] == LANGUAGES[language]


def test_a_swedish_coordinator_gets_swedish_headers_with_the_needs_column(
    client, app, participants
):
    login(client, coordinator_speaking(app, "sv"))
    rows = rows_of(client.get(f"{CSV_PATH}?include_needs=1").get_data(as_text=True))
    assert rows[0] == [*HEADERS["sv"], "Vad som hjälper den sökande att delta"]
    assert rows[1][3] == "lansi-uusimaa sv"


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_dates_are_written_the_finnish_way_on_the_day_in_helsinki(
    client, app, participants, language
):
    login(client, coordinator_speaking(app, language))
    rows = rows_of(client.get(CSV_PATH).get_data(as_text=True))
    assert [row[5] for row in rows[1:]] == ["2.6.2026", "24.12.2026"]


def test_the_page_language_chosen_by_the_coordinator_wins_over_their_profile(
    client, app, participants
):
    login(client, coordinator_speaking(app, "fi"))
    rows = rows_of(client.get(f"{CSV_PATH}?lang=sv").get_data(as_text=True))
    assert rows[0] == HEADERS["sv"]
