"""Typed settings (remote_groups/config.py): each value read by its setting's declared type,
from instance/config.py, the environment and the overrides in that order, every problem
listed in one error at start, and no setting that nothing reads."""

from __future__ import annotations

import os
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from remote_groups import create_app
from remote_groups.config import (
    ConfigError,
    Defaults,
    Settings,
    config_problems,
    load_config,
    read_settings,
)
from remote_groups.extensions import db
from remote_groups.outbox.models import OutboxMessage, OutboxStatus
from remote_groups.outbox.sender import deliver_pending, eml_file_name
from tests.mail.conftest import queue

NEW_KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration from the environment of whoever runs the tests."""
    for name in list(os.environ):
        if name.startswith("REMOTE_GROUPS_") or name in ("SECRET_KEY", "DATABASE_URL"):
            monkeypatch.delenv(name)
    return monkeypatch


def refusal_lines(overrides: dict[str, object] | None = None) -> list[str]:
    """The problems create_app names, one per line (continuation lines left out)."""
    with pytest.raises(ConfigError) as refusal:
        create_app(overrides)
    return [line[4:] for line in str(refusal.value).splitlines() if line.startswith("  - ")]


# --- read by the declared type -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["2026", "true", "null", "[1, 2]", '{"a": 1}', "1e3", ""])
def test_a_text_setting_stays_text_whatever_it_looks_like(clean_environment, value):
    clean_environment.setenv("REMOTE_GROUPS_MAIL_FROM_NAME", value)
    clean_environment.setenv("REMOTE_GROUPS_SMTP_PASSWORD", value)

    config = create_app().config

    assert config["MAIL_FROM_NAME"] == value and type(config["MAIL_FROM_NAME"]) is str
    assert config["SMTP_PASSWORD"] == value and type(config["SMTP_PASSWORD"]) is str


def test_numbers_flags_and_lists_are_parsed_by_their_declared_type(clean_environment):
    for name, value in {
        "RETENTION_DAYS": "30",
        "SMTP_TIMEOUT": "2.5",
        "BASE_URL": "https://ryhmat.example.fi",
        "SESSION_COOKIE_SECURE": "false",
        "RATE_LIMIT_LOGIN": "[10, 60]",
        "LANGUAGES": '["fi", "sv"]',
        "TRUSTED_HOSTS": "www.ryhmat.fi, .kunta.fi",
        "DATA_KEYS": f"{NEW_KEY},{OLD_KEY}",
    }.items():
        clean_environment.setenv(f"REMOTE_GROUPS_{name}", value)
    clean_environment.setenv("DATABASE_URL", "postgresql://rg@db.example.org/rg")

    config = create_app().config

    assert config["RETENTION_DAYS"] == 30 and type(config["RETENTION_DAYS"]) is int
    assert config["SMTP_TIMEOUT"] == 2.5
    assert config["SESSION_COOKIE_SECURE"] is False  # although BASE_URL is https
    assert config["REMEMBER_COOKIE_SECURE"] is True  # not set: follows BASE_URL
    assert config["RATE_LIMIT_LOGIN"] == (10, 60)
    assert config["LANGUAGES"] == ("fi", "sv")
    hosts = ["ryhmat.example.fi", "www.ryhmat.fi", ".kunta.fi", "127.0.0.1", "localhost"]
    assert config["TRUSTED_HOSTS"] == hosts
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://rg@db.example.org/rg"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
    assert config["LOG_FORMAT"] == "text"
    assert config["DATA_KEYS"] == f"{NEW_KEY},{OLD_KEY}"  # encryption.py splits it


def test_with_nothing_configured_the_settings_are_the_declared_defaults(
    clean_environment, tmp_path: Path
):
    app = Flask(__name__, instance_path=str(tmp_path), instance_relative_config=True)
    load_config(app)  # no instance/config.py in tmp_path
    config = app.config
    for name in Settings.model_fields:
        assert config[name] == getattr(Defaults, name), name
    assert config["MAIL_FROM_NAME"] == "" and config["SMTP_PORT"] == 25
    assert config["LANGUAGES"] == ("fi", "sv", "en")


# --- every problem in one error ----------------------------------------------------------------


def test_every_wrong_setting_and_rule_is_listed_in_one_error(clean_environment):
    for name, value in {
        "ENV": "production",
        "RETENTION_DAYS": "soon",
        "RUN_SCHEDULER": "sometimes",
        "RATE_LIMIT_LOGIN": "[5, 60",  # not JSON: named, not a crash of the reader
        "LANGUAGES": "fi, de",
        "TRUSTED_HOSTS": '["ok.example.fi", "https://ryhmat.example.fi/"]',
        "SMTP_PORT": "0",
        "MAIL_BACKEND": "smtp",
    }.items():
        clean_environment.setenv(f"REMOTE_GROUPS_{name}", value)

    lines = refusal_lines({"OFFER_DAYS": True, "STAFF_SESSION_IDLE_MINUTES": 13 * 60})

    assert lines == [
        "LANGUAGES may hold fi, sv and en, not 'de'",
        "TRUSTED_HOSTS holds host names such as ryhmat.example.fi, without a scheme, port or "
        "path, not 'https://ryhmat.example.fi/'",
        "RETENTION_DAYS must be a whole number of at least 1, not 'soon'",
        "OFFER_DAYS must be a whole number of at least 1, not True",
        "RUN_SCHEDULER must be true or false, not 'sometimes'",
        "SMTP_PORT must be a port number, not '0'",
        "RATE_LIMIT_LOGIN must be [count, seconds] with two whole numbers above 0, not '[5, 60'",
        "STAFF_SESSION_IDLE_MINUTES (780) must not be longer than STAFF_SESSION_MAX_HOURS (12) "
        "in minutes",
        "SECRET_KEY: production needs a real secret key of at least 32 characters, e.g.",
        "DATA_KEYS: production needs a key to encrypt applicants' needs (health data) at rest. "
        "Make one with",
        "BASE_URL: production is served over TLS, so it starts with https://",
        "SMTP_HOST is needed when MAIL_BACKEND is smtp",
    ]


def test_a_secret_that_is_wrong_is_named_without_its_value(clean_environment):
    lines = refusal_lines({"SMTP_PASSWORD": ["hunter2-secret"], "SECRET_KEY": 123456789})

    assert lines == [
        "SECRET_KEY must be text (the value given is of type int)",
        "SMTP_PASSWORD must be text (the value given is of type list)",
    ]


def test_a_wrong_setting_is_named_once_and_its_rules_left_out(clean_environment):
    """ENV wrong: its production rules are not guessed at; the setting itself is named."""
    clean_environment.setenv("REMOTE_GROUPS_ENV", "prod")
    assert refusal_lines() == ["ENV must be one of development, production, not 'prod'"]


def test_config_problems_checks_a_mapping_by_the_same_types(app):
    assert config_problems(app.config) == []
    problems = config_problems({**app.config, "MAIL_FROM_NAME": 2026, "FEED_ALARM_MINUTES": -1})
    assert problems == [
        "MAIL_FROM_NAME must be text, not 2026",
        "FEED_ALARM_MINUTES must be a whole number of at least 0, not -1",
    ]


@pytest.mark.parametrize("zone", ["Europe", "Nowhere/City", "../etc/passwd", ""])
def test_a_time_zone_that_does_not_exist_is_named(zone):
    assert config_problems({"TIMEZONE": zone}) == [
        f"TIMEZONE must be a time zone such as Europe/Helsinki, not {zone!r}"
    ]


# --- the sources, in order ---------------------------------------------------------------------


def test_instance_file_then_environment_then_overrides(clean_environment, tmp_path: Path):
    (tmp_path / "config.py").write_text(
        "RETENTION_DAYS = 10\nOFFER_DAYS = 4\nFEED_ALARM_MINUTES = 0\n"
        "MAIL_FROM_NAME = 'Etäryhmät'\nSESSION_COOKIE_NAME = 'rg_session'\n"
    )
    clean_environment.setenv("REMOTE_GROUPS_OFFER_DAYS", "5")
    clean_environment.setenv("REMOTE_GROUPS_FEED_ALARM_MINUTES", "15")
    clean_environment.setenv("REMOTE_GROUPS_SESSION_COOKIE_NAME", "not_read")
    app = Flask(__name__, instance_path=str(tmp_path), instance_relative_config=True)

    load_config(app, {"FEED_ALARM_MINUTES": 45, "TESTING": True})

    assert app.config["RETENTION_DAYS"] == 10  # the file
    assert app.config["OFFER_DAYS"] == 5  # the environment over the file
    assert app.config["FEED_ALARM_MINUTES"] == 45  # the overrides over both
    assert app.config["MAIL_FROM_NAME"] == "Etäryhmät"
    # Flask's own names pass from the file and the overrides, never from the environment.
    assert app.config["SESSION_COOKIE_NAME"] == "rg_session"
    assert app.config["TESTING"] is True
    assert config_problems(app.config) == []


def test_a_value_in_the_instance_file_is_checked_as_python_wrote_it(tmp_path: Path):
    (tmp_path / "config.py").write_text("MAIL_FROM_NAME = 2026\nRATE_LIMIT_LOGIN = (30, 0)\n")
    given, _ = read_settings(instance=tmp_path)

    problems = config_problems(given)

    assert "MAIL_FROM_NAME must be text, not 2026" in problems
    assert (
        "RATE_LIMIT_LOGIN must be [count, seconds] with two whole numbers above 0, not (30, 0)"
        in problems
    )


def test_database_url_and_secret_key_come_without_the_prefix(clean_environment):
    clean_environment.setenv("DATABASE_URL", "sqlite:////tmp/from-database-url.sqlite")
    clean_environment.setenv("SECRET_KEY", "e5" * 32)

    given, _ = read_settings()

    assert given["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-database-url.sqlite"
    assert given["SECRET_KEY"] == "e5" * 32


# --- the bug: a sender name that looks like a number -------------------------------------------


def test_a_sender_name_that_looks_like_a_number_is_text_and_mail_goes_out(
    app, clean_environment, tmp_path: Path
):
    """REMOTE_GROUPS_MAIL_FROM_NAME=2026 was read as JSON, the int 2026, and every delivery
    batch then failed on it, leaving its rows in `sending`."""
    clean_environment.setenv("REMOTE_GROUPS_MAIL_FROM_NAME", "2026")
    mail_dir = tmp_path / "mail"
    second = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "MAIL_DIR": str(mail_dir),
        }
    )
    assert second.config["MAIL_FROM_NAME"] == "2026"
    assert type(second.config["MAIL_FROM_NAME"]) is str

    try:
        with second.app_context():
            [row_id] = queue()
            report = deliver_pending()
            row = db.session.get(OutboxMessage, row_id)
            assert row is not None
            assert (report.sent, row.status) == (1, OutboxStatus.sent)
            eml = (mail_dir / eml_file_name(row.message_id)).read_bytes()
            assert db.session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.sent]
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()
    message = message_from_bytes(eml, policy=policy.default)
    assert message["From"] == "2026 <remote-groups@example.org>"


# --- no setting that nothing reads -------------------------------------------------------------


@pytest.mark.parametrize("name", ["REMINDER_OFFSETS_HOURS", "GROUP_LANGUAGES"])
def test_keys_nothing_read_are_no_longer_settings(clean_environment, name):
    """Reminder hours are each group's own (its form; the sweep reads them), and a group's
    language is fi or sv by its table's constraint, form, API and list filter."""
    clean_environment.setenv(f"REMOTE_GROUPS_{name}", "[0]")
    assert name not in Settings.model_fields
    assert name not in create_app().config


TBODY = re.compile(r"<tbody>(.*?)</tbody>", re.S)


def shown_rows(page: str) -> int:
    match = TBODY.search(page)
    assert match, "the page lists sessions"
    return match.group(1).count("<tr")


def test_the_group_page_lists_as_many_coming_sessions_as_the_setting_says(
    app, client, world, monkeypatch
):
    page = f"/groups/{world['group_slug']}"
    assert Defaults.SESSIONS_SHOWN_ON_GROUP_PAGE == 12  # as many as the page always showed
    assert shown_rows(client.get(page).get_data(as_text=True)) == 12

    monkeypatch.setitem(app.config, "SESSIONS_SHOWN_ON_GROUP_PAGE", 3)

    assert shown_rows(client.get(page).get_data(as_text=True)) == 3
