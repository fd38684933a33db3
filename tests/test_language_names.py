"""Language names follow one rule: in a language chooser each language names itself (suomi,
svenska, English); wherever a page or a file says what language something is in, the name is
in the reader's language ("Språk: finska")."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from remote_groups.extensions import db
from remote_groups.formatting import (
    language_choices,
    language_labels,
    language_name,
    own_language_name,
)
from remote_groups.regions.models import Region, Role
from tests.conftest import login, make_course_taking_applications, make_participant, make_user

OWN_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}
NAMES_BY_READER = {
    "fi": {"fi": "suomi", "sv": "ruotsi", "en": "englanti"},
    "sv": {"fi": "finska", "sv": "svenska", "en": "engelska"},
    "en": {"fi": "Finnish", "sv": "Swedish", "en": "English"},
}


@pytest.mark.parametrize("reader", ["fi", "sv", "en"])
def test_a_language_is_named_in_the_readers_language(app, reader):
    with app.test_request_context(f"/?lang={reader}"):
        assert {code: language_name(code) for code in OWN_NAMES} == NAMES_BY_READER[reader]
    assert {code: language_name(code, reader=reader) for code in OWN_NAMES} == (
        NAMES_BY_READER[reader]
    )


@pytest.mark.parametrize("reader", ["fi", "sv", "en"])
def test_in_a_chooser_each_language_names_itself_whatever_the_page(app, reader):
    with app.test_request_context(f"/?lang={reader}"):
        assert {code: own_language_name(code) for code in OWN_NAMES} == OWN_NAMES
        assert language_choices(("fi", "sv", "en")) == list(OWN_NAMES.items())


def test_labels_are_named_when_shown_not_when_made(app):
    labels = language_labels(("fi", "sv"))
    with app.test_request_context("/?lang=sv"):
        assert [str(label) for _, label in labels] == ["finska", "svenska"]
    with app.test_request_context("/?lang=fi"):
        assert [str(label) for _, label in labels] == ["suomi", "ruotsi"]


def radio_labels(page: str, name: str) -> list[str]:
    """The labels of a radio group's options, in order."""
    ids = re.findall(rf'id="({name}-\d+)" name="{name}"', page)
    ids += [i for i in re.findall(rf'name="{name}"[^>]*id="({name}-\d+)"', page) if i not in ids]
    return [re.search(rf'<label for="{i}">([^<]*)</label>', page).group(1) for i in ids]


def select_options(page: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select_html.group(1))


@pytest.fixture
def course_with_applicants(app: Flask, world: dict[str, object]) -> None:
    """A course taking applications, with a Finnish- and a Swedish-speaking participant, and a
    Swedish-speaking coordinator of the organizing region."""
    with app.app_context():
        regions = list(db.session.scalars(select(Region).order_by(Region.id)))[:3]
        course = make_course_taking_applications(regions)
        make_participant(course, regions[0], course.created_at, email="aino@example.org")
        make_participant(
            course, regions[0], course.created_at, email="bo@example.org", language="sv"
        )
        make_user("samordnare@lu.example.org", Role.coordinator, regions[0], language="sv")
        db.session.commit()


def test_the_review_page_names_languages_alike_in_its_filter_and_its_table(
    client, course_with_applicants
):
    login(client, "samordnare@lu.example.org")
    page = client.get("/staff/courses/kurssi/applications").get_data(as_text=True)
    assert select_options(page, "language")[1:] == ["finska", "svenska"]
    cells = re.findall(r"<td>(finska|svenska|suomi|fi|sv)</td>", page)
    assert sorted(cells) == ["finska", "svenska"]


def test_the_application_form_offers_each_language_in_itself(client, course_with_applicants):
    page = client.get("/groups/kurssi/apply?lang=sv").get_data(as_text=True)
    assert radio_labels(page, "language") == ["suomi", "svenska"]


def test_the_reminder_form_offers_each_language_in_itself(client, world):
    page = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    form = page[page.index('id="email-reminders"') :]
    assert '<span lang="fi">suomi</span>' in form
    assert '<span lang="sv">svenska</span>' in form


def test_a_staff_members_own_language_is_chosen_among_names_in_themselves(client, world):
    login(client, "admin@example.org")
    page = client.get("/staff/users/new?lang=sv").get_data(as_text=True)
    assert select_options(page, "language") == ["suomi", "svenska", "English"]


def test_the_group_page_and_list_name_the_groups_language_in_the_readers_language(client, world):
    page = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    assert "Språk: finska" in re.sub(r"\s+", " ", page)
    listing = client.get("/groups?lang=sv").get_data(as_text=True)
    assert radio_labels_plain(listing, "language") == ["Alla", "finska", "svenska"]
    assert "Språk: finska" in re.sub(r"\s+", " ", listing)


def radio_labels_plain(page: str, name: str) -> list[str]:
    """The filter's options: radios wrapped in their labels."""
    return [
        label.strip()
        for label in re.findall(
            rf'<label><input type="radio" name="{name}"[^>]*>([^<]*)</label>', page
        )
    ]


def test_the_group_form_names_the_groups_language_in_the_readers_language(client, world):
    login(client, "coord@lu.example.org")
    page = client.get("/staff/groups/test-group/edit?lang=sv").get_data(as_text=True)
    assert radio_labels(page, "language") == ["finska", "svenska"]
