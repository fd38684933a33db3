"""The participants file: opens in Finnish and Swedish Excel, headed in the coordinator's
language, and no cell (or piece of one, however a program splits it) is a formula."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from remote_groups.applications.models import ApplicationStatus
from remote_groups.applications.service import applying, reviewing
from remote_groups.applications.spreadsheet import CELL_BREAKS, FORMULA_STARTS, safe_cell
from remote_groups.extensions import db
from remote_groups.groups.service import group_by_slug
from remote_groups.regions.models import Region, Role, User
from tests.conftest import login, make_user

CSV_PATH = "/staff/courses/kurssi/participants.csv"
NEEDS = "x;=cmd|' /C calc'!A0"
# Name typed → name in the file: an apostrophe before each formula start, nothing else.
NAMES = {
    '=HYPERLINK("http://evil.example")': '\'=HYPERLINK("http://evil.example")',
    "+358 40 123": "'+358 40 123",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\tTabulaattori": "'\tTabulaattori",
    "Anna;=1+1": "Anna;'=1+1",
    "Bo, -1": "Bo, '-1",
    "Rivi\n@A1": "Rivi\n'@A1",
    "Åsa Ängel-Öberg": "Åsa Ängel-Öberg",
}


def accepted_participants(app: Flask, names: list[str], needs: str | None = NEEDS) -> None:
    """Accepted applications with exactly these names (the form would refuse a tab or a line
    break in a name, and the service trims it; older rows may hold anything)."""
    with app.app_context(), app.test_request_context():
        group = group_by_slug("kurssi")
        group.capacity = len(names)
        coordinator = db.session.scalar(select(User).where(User.email == "coord@lu.example.org"))
        chosen = []
        for index, name in enumerate(names):
            application = applying.submit_application(
                group,
                applying.ApplicationInput(
                    name="Hakija",
                    email=f"person{index}@example.org",
                    phone="+358 40 123 4567",
                    home_region="lansi-uusimaa",
                    language="fi",
                    needs=needs,
                    motivation="Haluan mukaan.",
                ),
            )
            application.name = name
            chosen.append(application)
        reviewing.decide(chosen, ApplicationStatus.accepted, coordinator)
        db.session.commit()


def rows_of(body: str) -> list[list[str]]:
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline=""), delimiter=";"))


def starts_a_formula(text: str) -> bool:
    return text[:1] in FORMULA_STARTS or text.lstrip(' "')[:1] in set(
        "=+-@\uff1d\uff0b\uff0d\uff20"
    )


def test_no_cell_starts_a_formula_and_the_text_is_kept(client, app, course):
    accepted_participants(app, list(NAMES))
    login(client, "coord@lu.example.org")
    body = client.get(f"{CSV_PATH}?include_needs=1").get_data(as_text=True)
    rows = rows_of(body)
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if starts_a_formula(cell)] == []
    assert sorted(row[0] for row in rows[1:]) == sorted(NAMES.values())
    assert {row[-1] for row in rows[1:]} == {"x;'=cmd|' /C calc'!A0"}
    assert {row[2] for row in rows[1:]} == {"'+358 40 123 4567"}


def test_no_piece_starts_a_formula_when_a_program_splits_cells_itself(client, app, course):
    """Excel with another list separator, or a naive script, splits at ";", ",", tabs and
    line breaks, quotes or not."""
    accepted_participants(app, list(NAMES))
    login(client, "coord@lu.example.org")
    body = client.get(f"{CSV_PATH}?include_needs=1").get_data(as_text=True)
    pieces = re.split(r"[;,\t\r\n]", body.removeprefix("\ufeff"))
    assert [piece for piece in pieces if starts_a_formula(piece)] == []


def test_the_file_is_for_finnish_excel_semicolons_quotes_and_a_bom(client, app, course):
    accepted_participants(app, ["Aino Asiakas"], needs=None)
    login(client, "coord@lu.example.org")
    response = client.get(CSV_PATH)
    assert response.content_type == "text/csv; charset=utf-8"
    body = response.get_data(as_text=True)
    header, row = body.split("\r\n")[:2]
    assert header == '\ufeff"Nimi";"Sähköposti";"Puhelin";"Hyvinvointialue";"Kieli";"Hakupäivä"'
    assert row.startswith(
        '"Aino Asiakas";"person0@example.org";"\'+358 40 123 4567";"lansi-uusimaa fi";"suomi";"'
    )


def test_a_swedish_coordinator_gets_swedish_headers(client, app, course):
    with app.app_context():
        region = db.session.scalar(select(Region).where(Region.slug == "lansi-uusimaa"))
        make_user("samordnare@lu.example.org", Role.coordinator, region, language="sv")
        db.session.commit()
    accepted_participants(app, ["Åsa Öberg"])
    login(client, "samordnare@lu.example.org")
    rows = rows_of(client.get(f"{CSV_PATH}?include_needs=1").get_data(as_text=True))
    assert rows[0] == [
        "Namn",
        "E-post",
        "Telefon",
        "Välfärdsområde",
        "Språk",
        "Ansökningsdag",
        "Vad som hjälper den sökande att delta",
    ]
    assert rows[1][:1] == ["Åsa Öberg"] and rows[1][3] == "lansi-uusimaa sv"


# --- the rule itself ---------------------------------------------------------------------------


@given(st.text(alphabet=st.sampled_from("=+-@ \"'\t\r\n;,aä1\uff1d"), max_size=30))
def test_safe_cells_only_gain_apostrophes_and_no_piece_is_a_formula(text):
    safe = safe_cell(text)
    assert safe.replace("'", "") == text.replace("'", "")
    pieces = re.split("[" + re.escape("".join(CELL_BREAKS)) + "]", safe)
    assert [piece for piece in pieces if starts_a_formula(piece)] == []


@pytest.mark.parametrize("value", [None, "", "Aino", "a=b", "1-2", "x@example.org", 42])
def test_ordinary_cells_stay_as_they_are(value):
    assert safe_cell(value) == ("" if value is None else str(value))
