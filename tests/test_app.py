"""The application as a whole: health, configuration, languages, error pages, security basics."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from remote_groups import create_app
from remote_groups.config import ConfigError
from remote_groups.extensions import db
from remote_groups.groups.models import GroupKind
from remote_groups.regions.models import Region
from tests.conftest import PASSWORD, csrf_token, login, make_group

DATA_KEY = Fernet.generate_key().decode()
HTML_LANG = re.compile(r'<html lang="([^"]*)"')


def page_language(response) -> str:
    match = HTML_LANG.search(response.get_data(as_text=True))
    assert match, "the page is HTML with a lang attribute"
    return match.group(1)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration from the environment of whoever runs the tests."""
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "REMOTE_GROUPS_ENV",
        "REMOTE_GROUPS_RETENTION_DAYS",
        "REMOTE_GROUPS_DATA_KEYS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- health ----------------------------------------------------------------------------------


def test_health_check_answers_200_ok_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["status"] == "ok"


def test_health_check_answers_503_with_the_database_unreachable(clean_environment):
    unreachable = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
            "TESTING": True,
        }
    )
    response = unreachable.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


# --- configuration ---------------------------------------------------------------------------


def test_production_refuses_to_start_with_the_development_secret_key(clean_environment):
    with pytest.raises(ConfigError) as refusal:
        create_app({"ENV": "production"})
    assert "SECRET_KEY" in str(refusal.value)


def test_production_refuses_a_short_secret_key(clean_environment):
    with pytest.raises(ConfigError):
        create_app({"ENV": "production", "SECRET_KEY": "x" * 31})


def test_production_set_through_the_environment_also_needs_a_secret_key(clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_ENV", "production")
    with pytest.raises(ConfigError):
        create_app()


def test_production_starts_with_a_real_secret_key(clean_environment):
    key = "a1" * 32
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": key,
            "BASE_URL": "https://rg.example.fi",
            "DATA_KEYS": DATA_KEY,
        }
    )
    assert app.config["SECRET_KEY"] == key


def test_secret_key_comes_from_the_environment(clean_environment):
    key = "b2" * 32
    clean_environment.setenv("SECRET_KEY", key)
    clean_environment.setenv("REMOTE_GROUPS_ENV", "production")
    clean_environment.setenv("REMOTE_GROUPS_BASE_URL", "https://rg.example.fi")
    clean_environment.setenv("REMOTE_GROUPS_DATA_KEYS", DATA_KEY)
    assert create_app().config["SECRET_KEY"] == key


def test_remote_groups_variables_override_defaults_as_json_values(clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_RETENTION_DAYS", "30")
    assert create_app().config["RETENTION_DAYS"] == 30


def test_a_bare_postgresql_database_url_is_given_the_psycopg_driver(clean_environment):
    clean_environment.setenv("DATABASE_URL", "postgresql://rg:pw@db.example.org:5432/rg")
    app = create_app()
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://rg:pw@db.example.org:5432/rg"
    )


# --- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_not_found_page_is_in_the_accepted_language(client, language):
    response = client.get("/groups/nope", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert page_language(response) == language


def test_not_found_page_says_page_not_found_in_english(client):
    response = client.get("/groups/nope", headers={"Accept-Language": "en"})
    assert "Page not found" in response.get_data(as_text=True)


def test_a_regional_browser_language_picks_its_language(client):
    response = client.get("/groups/nope", headers={"Accept-Language": "sv-FI,sv;q=0.9,en;q=0.5"})
    assert page_language(response) == "sv"


@pytest.mark.parametrize(
    "how",
    ["cookie", "parameter", "header"],
)
def test_an_unknown_language_falls_back_to_finnish(client, how):
    headers = {"Accept-Language": "de"} if how == "header" else {}
    if how == "cookie":
        client.set_cookie("lang", "de")
    query = "?lang=de" if how == "parameter" else ""
    response = client.get(f"/groups{query}", headers=headers)
    assert response.status_code == 200
    assert page_language(response) == "fi"


def test_the_language_parameter_beats_the_browser_language(client):
    response = client.get("/groups?lang=sv", headers={"Accept-Language": "en"})
    assert page_language(response) == "sv"


def test_language_switch_remembers_the_choice_and_returns_to_the_page(client):
    response = client.get("/language/sv?next=/groups")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/groups"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "sv"


def test_after_the_language_switch_pages_are_in_that_language(client):
    client.get("/language/sv?next=/groups")
    assert page_language(client.get("/groups")) == "sv"
    assert page_language(client.get("/")) == "sv"


def test_language_switch_to_an_unknown_language_sets_no_cookie(client):
    response = client.get("/language/de?next=/groups")
    assert response.status_code == 302
    assert client.get_cookie("lang") is None


OFFSITE_TARGETS = pytest.mark.parametrize(
    "target",
    [
        pytest.param("https://evil.example", id="absolute"),
        pytest.param("//evil.example", id="protocol-relative"),
        pytest.param("/\\evil.example", id="slash-backslash"),
        pytest.param("\\\\evil.example", id="backslashes"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("/\t/evil.example", id="slash-tab-slash"),
        pytest.param("/\n/evil.example", id="slash-newline-slash"),
    ],
)


def assert_local_redirect(response) -> None:
    """A redirect that stays on the site; or none at all for a target with a control
    character, which the request guard refuses (400) before any view runs."""
    if re.search(r"[\x00-\x1f]", response.request.args.get("next", "")):
        assert response.status_code == 400
        return
    assert response.status_code == 302
    location = response.headers["Location"]
    # Browsers read "\" as "/" and drop tabs and newlines: "/\evil" and "/\t/evil" leave the site.
    normalized = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(normalized)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location


@OFFSITE_TARGETS
def test_language_switch_redirects_only_to_a_local_path(client, target):
    assert_local_redirect(client.get("/language/sv", query_string={"next": target}))


@OFFSITE_TARGETS
def test_staff_login_redirects_only_to_a_local_path(client, world, target):
    response = client.post(
        "/staff/login",
        query_string={"next": target},
        data={
            "email": "coord@lu.example.org",
            "password": PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert_local_redirect(response)


# --- group list ------------------------------------------------------------------------------


@pytest.fixture
def listed_groups(app: Flask, world: dict[str, object]) -> None:
    """The world's open Finnish group, plus a closed Finnish course and an open Swedish group."""
    with app.app_context():
        lu, varha = (
            db.session.scalar(select(Region).where(Region.slug == slug))
            for slug in ("lansi-uusimaa", "varha")
        )
        make_group(
            [lu],
            slug="closed-course",
            kind=GroupKind.closed,
            capacity=8,
            title_fi="Suljettu kurssi",
            application_opens=date(2026, 11, 1),
            application_closes=date(2026, 12, 1),
        )
        make_group(
            [varha], slug="svensk-grupp", language="sv", title_fi=None, title_sv="Svensk grupp"
        )
        db.session.commit()


def shown(client: FlaskClient, query: str) -> set[str]:
    response = client.get(f"/groups{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return {
        slug
        for slug in ("test-group", "closed-course", "svensk-grupp")
        if f"/groups/{slug}" in page
    }


def test_group_list_shows_every_group(client, listed_groups):
    assert shown(client, "") == {"test-group", "closed-course", "svensk-grupp"}


def test_group_list_filtered_to_closed_courses_shows_only_them(client, listed_groups):
    assert shown(client, "?kind=closed") == {"closed-course"}


def test_group_list_filtered_to_open_groups_shows_only_them(client, listed_groups):
    assert shown(client, "?kind=open") == {"test-group", "svensk-grupp"}


def test_group_list_filtered_to_swedish_shows_only_swedish_groups(client, listed_groups):
    assert shown(client, "?language=sv") == {"svensk-grupp"}


@pytest.mark.parametrize(
    "query", ["?kind=secret", "?language=en", "?kind=&language=", "?kind=CLOSED"]
)
def test_group_list_ignores_invalid_filters(client, listed_groups, query):
    assert shown(client, query) == {"test-group", "closed-course", "svensk-grupp"}


# --- security basics -------------------------------------------------------------------------


def test_a_form_post_without_csrf_token_is_refused_with_a_400_page(client, world):
    response = client.post(
        "/staff/login", data={"email": "coord@lu.example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert page_language(response) == "fi"


def test_a_login_without_csrf_token_does_not_log_in(client, world):
    client.post("/staff/login", data={"email": "coord@lu.example.org", "password": PASSWORD})
    response = client.get("/staff/")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/staff/login"


def test_a_logout_without_csrf_token_does_not_log_out(client, world):
    login(client, "coord@lu.example.org")
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200


def test_a_facilitator_gets_the_403_page_for_the_regions_page(client, world):
    login(client, "fac@lu.example.org")
    response = client.get("/staff/regions")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert page_language(response) == "fi"
    assert "lansi-uusimaa fi" not in response.get_data(as_text=True)


def test_a_coordinator_gets_the_403_page_for_the_users_page(client, world):
    login(client, "coord@lu.example.org")
    response = client.get("/staff/users")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "fac@lu.example.org" not in response.get_data(as_text=True)


def test_the_403_page_says_so_in_english_for_an_english_speaker(client, world):
    login(client, "coord@lu.example.org")
    response = client.get("/staff/users?lang=en")
    assert response.status_code == 403
    assert "You cannot open this page" in response.get_data(as_text=True)


def test_a_postgres_scheme_url_also_gets_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/remote_groups")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://user@db.example/remote_groups"
    )
