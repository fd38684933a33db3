"""A group's texts missing in Swedish or English: saving says so, its staff page marks it,
publishing warns, and a Swedish reader sees the Finnish text marked as Finnish."""

from __future__ import annotations

import pytest
from flask import Flask

from remote_groups.extensions import db
from remote_groups.groups.models import Publication, RemoteGroup
from remote_groups.groups.service import group_by_slug
from tests.conftest import csrf_token, login
from tests.groups.conftest import edit_form

OWNER = "coord@lu.example.org"
ALL_TEXTS = {
    "title_fi": "Uusi nimi",
    "title_sv": "Nytt namn",
    "title_en": "New name",
    "description_fi": "Juttelemme.",
    "description_sv": "Vi pratar.",
    "description_en": "We talk.",
    "audience_fi": "Kaikille.",
    "audience_sv": "För alla.",
    "audience_en": "For everyone.",
}
WARNING = "Tekstejä puuttuu näillä kielillä:"


def set_texts(app: Flask, **texts: str | None) -> None:
    with app.app_context():
        group = group_by_slug("test-group")
        for name, value in texts.items():
            setattr(group, name, value)
        db.session.commit()


def texts(**given: str) -> RemoteGroup:
    return RemoteGroup(**given)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"title_fi": "Ryhmä"}, ["sv", "en"]),
        ({"title_fi": "Ryhmä", "title_sv": "Grupp", "title_en": "Group"}, []),
        ({**ALL_TEXTS, "audience_sv": None}, ["sv"]),
        ({**ALL_TEXTS, "description_en": ""}, ["en"]),
        ({"title_sv": "Grupp"}, ["fi", "en"]),  # a Finnish reader gets the Swedish title
        ({}, []),  # no texts at all: none is missing in one language more than another
    ],
)
def test_the_languages_missing_are_those_lacking_a_text_that_another_language_has(given, missing):
    assert texts(**given).missing_languages() == missing


def test_saving_with_swedish_and_english_texts_missing_saves_and_names_them(client, app, world):
    login(client, OWNER)
    response = client.post(
        "/staff/groups/test-group/edit", data=edit_form(client), follow_redirects=True
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Muutokset on tallennettu." in page
    assert f"{WARNING} ruotsi, englanti." in page
    with app.app_context():
        assert group_by_slug("test-group").title_fi == "Uusi nimi"


def test_saving_with_every_text_gives_no_warning(client, app, world):
    login(client, OWNER)
    response = client.post(
        "/staff/groups/test-group/edit",
        data=edit_form(client, **ALL_TEXTS),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Muutokset on tallennettu." in page
    assert WARNING not in page
    assert "teksti puuttuu" not in page


def test_the_staff_group_page_marks_the_missing_language_in_the_readers_language(
    client, app, world
):
    set_texts(app, title_sv=None, title_en="Test group")
    login(client, OWNER)
    finnish = client.get("/groups/test-group").get_data(as_text=True)
    assert "Ruotsinkielinen teksti puuttuu" in finnish
    assert "Englanninkielinen teksti puuttuu" not in finnish
    swedish = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    assert "Svensk text saknas" in swedish


def test_the_public_does_not_see_the_staff_marker(client, app, world):
    set_texts(app, title_sv=None)
    assert "teksti puuttuu" not in client.get("/groups/test-group").get_data(as_text=True)


def test_the_swedish_page_marks_finnish_text_as_finnish_with_a_note(client, app, world):
    set_texts(app, title_sv=None, description_fi="Juttelemme ja liikumme.", audience_fi="Kaikille.")
    page = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    note = '<span class="fallback-language">(på finska)</span>'
    assert f'<h1><span><span lang="fi">Testiryhmä</span> {note}</span></h1>' in page
    assert f'<p><span lang="fi">Juttelemme ja liikumme.</span> {note}</p>' in page
    assert f'<p><span lang="fi">Kaikille.</span> {note}</p>' in page
    listing = client.get("/groups?lang=sv").get_data(as_text=True)
    assert f'<span lang="fi">Testiryhmä</span> {note}' in listing


def test_a_text_in_the_readers_language_has_no_note(client, app, world):
    page = client.get("/groups/test-group?lang=sv").get_data(as_text=True)
    assert "<h1><span>Testgrupp</span></h1>" in page
    assert "fallback-language" not in page


def test_publishing_warns_of_missing_swedish_texts_and_still_publishes(client, app, world):
    set_texts(app, title_sv=None, title_en="Test group", publication=Publication.draft)
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/publish").get_data(as_text=True)
    assert "Ryhmällä ei ole tekstejä näillä kielillä: ruotsi." in page
    swedish = client.get("/staff/groups/test-group/publish?lang=sv").get_data(as_text=True)
    assert "Gruppen har inga texter på: svenska." in swedish

    response = client.post(
        "/staff/groups/test-group/publish", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    with app.app_context():
        assert group_by_slug("test-group").published


def test_publishing_a_group_with_every_text_has_no_warning(client, app, world):
    set_texts(app, publication=Publication.draft, **ALL_TEXTS)
    login(client, OWNER)
    page = client.get("/staff/groups/test-group/publish").get_data(as_text=True)
    assert "Ryhmällä ei ole tekstejä" not in page
