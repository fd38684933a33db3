"""Configuration: defaults here, then instance/config.py, then the environment.

Environment variables: DATABASE_URL, SECRET_KEY, and REMOTE_GROUPS_<NAME> for any other key
below (values are parsed as JSON when they look like JSON, so numbers and booleans work).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEV_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    ENV = "development"
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE / 'remote_groups.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE = "fi"
    BABEL_DEFAULT_TIMEZONE = "Europe/Helsinki"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    LANGUAGES = ("fi", "sv", "en")
    GROUP_LANGUAGES = ("fi", "sv")
    TIMEZONE = "Europe/Helsinki"
    BASE_URL = "http://127.0.0.1:5000"
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # no time limits for people who fill in forms slowly
    MAX_CONTENT_LENGTH = 1024 * 1024
    SESSIONS_SHOWN_ON_GROUP_PAGE = 12
    RETENTION_DAYS = 90
    OFFER_DAYS = 3  # days a waitlisted applicant has to confirm an offered place
    RUN_SCHEDULER = False
    REMINDER_OFFSETS_HOURS = (24,)
    MAIL_BACKEND = "file"
    MAIL_DIR = str(INSTANCE / "mail")
    MAIL_FROM = "remote-groups@example.org"
    FEED_REFRESH_MINUTES = 60  # REFRESH-INTERVAL / X-PUBLISHED-TTL of the calendar feeds
    FEED_ALARM_MINUTES = 30  # reminder in participants' feeds; 0 for none


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def load_config(app: Any, overrides: dict[str, Any] | None = None) -> None:
    """Fill app.config in the documented order: defaults, instance file, environment, overrides."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = key
    for name, raw in os.environ.items():
        if name.startswith("REMOTE_GROUPS_"):
            app.config[name.removeprefix("REMOTE_GROUPS_")] = _parse_env_value(raw)
    if overrides:
        app.config.update(overrides)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    for bare in ("postgresql://", "postgres://"):
        if uri.startswith(bare):
            # psycopg 3 is the driver we install; the bare scheme would ask for psycopg2.
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len(bare) :]


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


def check_config(config: dict[str, Any]) -> None:
    if config.get("ENV") == "production":
        key = config.get("SECRET_KEY") or ""
        if key == DEV_SECRET_KEY or len(key) < 32:
            raise ConfigError(
                "Production needs a real secret key. Set one of at least 32 characters, e.g.\n"
                "  export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
                "or put SECRET_KEY = '...' in instance/config.py."
            )
    for language in config["LANGUAGES"]:
        if language not in ("fi", "sv", "en"):
            raise ConfigError(f"LANGUAGES may hold fi, sv and en, not {language!r}")
