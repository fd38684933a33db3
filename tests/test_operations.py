"""Running it: configuration checked at start, request logs, readiness, the database away."""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from remote_groups import create_app
from remote_groups.config import ConfigError, config_problems
from remote_groups.extensions import db
from remote_groups.health import newest_migration
from remote_groups.logs import JsonFormatter

# --- configuration ---------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("REMOTE_GROUPS_") or name in ("SECRET_KEY", "DATABASE_URL"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("RETENTION_DAYS", "soon", "RETENTION_DAYS must be a whole number"),
        ("LANGUAGES", '["fi", "de"]', "LANGUAGES may hold fi, sv and en, not 'de'"),
        ("SMTP_PORT", "70000", "SMTP_PORT must be a port number, not '70000'"),
        ("MAIL_BACKEND", "pigeon", "MAIL_BACKEND must be one of file, smtp"),
        ("RATE_LIMIT_LOGIN", "[5]", "RATE_LIMIT_LOGIN must be [count, seconds]"),
        ("RATE_LIMIT_LOGIN", "[5, 60", "RATE_LIMIT_LOGIN must be [count, seconds]"),
        ("BASE_URL", "ryhmat.example.fi", "BASE_URL must be the site's address"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, text"),
    ],
)
def test_a_bad_setting_stops_the_start_with_a_message_naming_it(
    clean_environment, setting, value, named
):
    clean_environment.setenv(f"REMOTE_GROUPS_{setting}", value)
    with pytest.raises(ConfigError) as refusal:
        create_app()
    assert named in str(refusal.value)


def test_every_problem_is_listed_at_once(clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_ENV", "production")
    clean_environment.setenv("REMOTE_GROUPS_OFFER_DAYS", "0")
    with pytest.raises(ConfigError) as refusal:
        create_app()
    message = str(refusal.value)
    assert "SECRET_KEY" in message
    assert "OFFER_DAYS" in message
    assert "BASE_URL: production is served over TLS" in message


def test_smtp_mail_needs_a_server(clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_MAIL_BACKEND", "smtp")
    with pytest.raises(ConfigError) as refusal:
        create_app()
    assert "SMTP_HOST is needed" in str(refusal.value)


def test_an_unsupported_database_is_refused(clean_environment):
    clean_environment.setenv("DATABASE_URL", "mysql://rg@db.example.org/rg")
    with pytest.raises(ConfigError) as refusal:
        create_app()
    assert "'mysql' is not supported" in str(refusal.value)


def test_the_default_configuration_has_no_problems(clean_environment):
    assert config_problems(create_app().config) == []


def test_a_complete_production_configuration_starts(clean_environment):
    clean_environment.setenv("REMOTE_GROUPS_ENV", "production")
    clean_environment.setenv("SECRET_KEY", "c3" * 32)
    clean_environment.setenv("REMOTE_GROUPS_BASE_URL", "https://ryhmat.example.fi")
    clean_environment.setenv("REMOTE_GROUPS_MAIL_BACKEND", "smtp")
    clean_environment.setenv("REMOTE_GROUPS_SMTP_HOST", "smtp.example.fi")
    clean_environment.setenv("REMOTE_GROUPS_DATA_KEYS", Fernet.generate_key().decode())
    app = create_app()
    assert app.config["LOG_FORMAT"] == "json"
    assert app.config["SESSION_COOKIE_SECURE"] is True


# --- request logs ----------------------------------------------------------------------------


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "remote_groups.requests"]


def test_each_request_is_one_log_line_with_route_status_and_duration(client, world, caplog):
    caplog.set_level(logging.INFO, logger="remote_groups.requests")
    client.get("/groups/test-group?lang=sv")
    [record] = request_records(caplog)
    assert record.method == "GET"
    assert record.path == "/groups/<slug>"  # the route, not the path typed
    assert record.status == 200
    assert record.duration_ms >= 0


def test_request_logs_hold_no_token_query_or_address(client, app, world, caplog):
    caplog.set_level(logging.INFO, logger="remote_groups.requests")
    secret = "s3cr3t-t0ken-value-1234567890"
    client.get(f"/calendar/p/{secret}.ics?token={secret}")
    client.get(f"/applications/{secret}", environ_base={"REMOTE_ADDR": "198.51.100.23"})
    lines = [JsonFormatter().format(r) for r in request_records(caplog)]
    assert len(lines) == 2
    for line in lines:
        assert secret not in line
        assert "198.51.100.23" not in line
    assert json.loads(lines[1])["path"] == "/applications/<token>"


def test_json_log_lines_parse_and_carry_the_request_fields(client, world, caplog):
    caplog.set_level(logging.INFO, logger="remote_groups.requests")
    client.get("/no-such-page", headers={"X-Request-ID": "abc12345-req"})
    entry = json.loads(JsonFormatter().format(request_records(caplog)[0]))
    assert entry["path"] == "<unmatched>"
    assert entry["status"] == 404
    assert entry["request_id"] == "abc12345-req"
    assert entry["level"] == "INFO"


def test_the_answer_names_its_request_id(client, world):
    assert len(client.get("/").headers["X-Request-ID"]) >= 8


def test_a_request_id_that_could_forge_log_lines_is_replaced(client, world):
    answer = client.get("/", headers={"X-Request-ID": 'x" , "status": 200'})
    assert answer.headers["X-Request-ID"] != 'x" , "status": 200'


# --- readiness -------------------------------------------------------------------------------


def test_ready_when_the_schema_is_at_the_newest_migration(client, world):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": True, "schema": True, "catalogs": True}


def test_not_ready_while_migrations_are_behind(client, app, world):
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001_foundation'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["schema"] is False
        assert response.json["schema_revision"] == "0001_foundation"
    finally:
        with app.app_context():
            db.session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": newest_migration()}
            )
            db.session.commit()


# --- the database away -----------------------------------------------------------------------


@pytest.fixture
def app_without_database(clean_environment):
    """The app pointed at a PostgreSQL port where nothing listens: every connect is refused."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/none",
        }
    )


def test_pages_answer_503_with_a_localized_try_again_page_while_the_database_is_away(
    app_without_database,
):
    client = app_without_database.test_client()
    finnish = client.get("/groups")
    assert finnish.status_code == 503
    assert finnish.headers["Retry-After"] == "30"
    assert "Palvelu ei ole juuri nyt käytettävissä" in finnish.get_data(as_text=True)
    swedish = client.get("/groups/avoin-etaryhma?lang=sv").get_data(as_text=True)
    assert "Tjänsten är inte tillgänglig just nu" in swedish


def test_the_api_answers_a_json_503_while_the_database_is_away(app_without_database):
    response = app_without_database.test_client().get("/api/v1/groups")
    assert response.status_code == 503
    assert response.json["error"]["code"] == 503


def test_health_and_readiness_say_unavailable_while_the_database_is_away(app_without_database):
    client = app_without_database.test_client()
    assert client.get("/healthz").status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"] is False


# --- behind a reverse proxy ------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_client_address_and_https_come_from_its_headers(
    clean_environment,
):
    app = create_app({"TESTING": True, "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1})
    seen = {}

    @app.get("/probe-address")
    def probe():  # a route of this test only
        from flask import request

        seen.update(address=request.remote_addr, secure=request.is_secure)
        return "ok"

    answer = app.test_client().get(
        "/probe-address",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
    )
    assert seen == {"address": "203.0.113.9", "secure": True}
    assert "Strict-Transport-Security" in answer.headers
