"""Configuration: defaults here, then instance/config.py, then the environment.

Environment variables: DATABASE_URL, SECRET_KEY, and REMOTE_GROUPS_<NAME> for any other key
below (values are parsed as JSON when they look like JSON, so numbers and booleans work).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from remote_groups.encryption import data_key_problems

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

DEV_SECRET_KEY = "dev-only-not-secret"
# Loopback names a development server is reached by (`make run`, with `PORT=…` too).
DEVELOPMENT_HOSTS = ("127.0.0.1", "localhost")
HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


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
    # Host names requests may name besides BASE_URL's (in development also DEVELOPMENT_HOSTS);
    # others get a 400. After loading, the setting holds the whole list (public_address.py).
    TRUSTED_HOSTS: list[str] = []
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure when BASE_URL is https
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (werkzeug ProxyFix).
    # Leave 0 when clients connect directly, or anyone could choose their own address.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    WTF_CSRF_TIME_LIMIT = None  # no time limits for people who fill in forms slowly
    MAX_CONTENT_LENGTH = 1024 * 1024
    SESSIONS_SHOWN_ON_GROUP_PAGE = 12
    RETENTION_DAYS = 90
    # The outbox keeps sent, expired and failed mail this many days (then deletes it, and its
    # development .eml file); subscriptions never confirmed, and those ended, are deleted after
    # these. Run nightly with the retention rule (remote_groups.retention).
    OUTBOX_KEEP_DAYS = 30
    SUBSCRIPTION_UNCONFIRMED_DAYS = 7
    SUBSCRIPTION_UNSUBSCRIBED_DAYS = 30
    # Fernet keys that encrypt applicants' needs at rest, newest first (a comma-separated
    # string or a list); required in production, derived from SECRET_KEY in development when
    # empty. See remote_groups/encryption.py.
    DATA_KEYS: str | list[str] = ""
    OFFER_DAYS = 3  # days a waitlisted applicant has to confirm an offered place
    RUN_SCHEDULER = False
    REMINDER_OFFSETS_HOURS = (24,)
    MAIL_BACKEND = "file"
    MAIL_DIR = str(INSTANCE / "mail")
    MAIL_FROM = "remote-groups@example.org"
    FEED_REFRESH_MINUTES = 60  # REFRESH-INTERVAL / X-PUBLISHED-TTL of the calendar feeds
    FEED_ALARM_MINUTES = 30  # reminder in participants' feeds; 0 for none
    LOG_LEVEL = "INFO"
    LOG_FORMAT: str | None = None  # json | text; None: json in production, text otherwise
    # [count, seconds] per client address: POSTs of the application form, the login form and
    # the email subscription form. A group home's residents may share one address.
    RATE_LIMIT_APPLICATIONS = (20, 3600)
    RATE_LIMIT_LOGIN = (30, 900)
    RATE_LIMIT_SUBSCRIPTIONS = (20, 3600)
    # A login (email) is locked after this many failures in a row: first for LOGIN_LOCKOUT_SECONDS,
    # doubling with each further failure up to LOGIN_LOCKOUT_MAX_SECONDS.
    LOGIN_LOCKOUT_AFTER = 5
    LOGIN_LOCKOUT_SECONDS = 60
    LOGIN_LOCKOUT_MAX_SECONDS = 3600
    # Failures for one email from every address together before each address that fails even
    # once more is locked (a guess spread over many addresses); see security/throttle.py.
    LOGIN_LOCKOUT_EMAIL_AFTER = 50
    # A staff login ends after this many minutes without a request, and this many hours after
    # logging in, whatever happens in between.
    STAFF_SESSION_IDLE_MINUTES = 30
    STAFF_SESSION_MAX_HOURS = 12


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
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # While the server is away a connect fails within seconds (a 503 page), not a minute.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    base_url = str(app.config.get("BASE_URL", ""))
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(name) is None:
            app.config[name] = base_url.startswith("https://")
    if app.config["LOG_FORMAT"] is None:
        app.config["LOG_FORMAT"] = "json" if app.config["ENV"] == "production" else "text"
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)


def trusted_hosts(config: dict[str, Any]) -> list[Any]:
    """The host names requests may name: BASE_URL's, those of the ``TRUSTED_HOSTS`` setting
    (a list, or one string of names separated by commas or spaces), and in development the
    loopback names. Ports are not compared (werkzeug's rule)."""
    extra = config.get("TRUSTED_HOSTS") or []
    if isinstance(extra, str):
        extra = extra.replace(",", " ").split()
    elif not isinstance(extra, list | tuple):
        extra = [extra]  # reported by config_problems
    hosts = [urlsplit(str(config.get("BASE_URL", ""))).hostname, *extra]
    if config.get("ENV") != "production":
        hosts += DEVELOPMENT_HOSTS
    return list(dict.fromkeys(host for host in hosts if host))


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


def _whole(minimum: int) -> Any:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be a whole number of at least {minimum}, not {value!r}"
        return None

    return check


def _rate_limit(value: Any) -> str | None:
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return None
    return f"must be [count, seconds] with two whole numbers above 0, not {value!r}"


def _one_of(*allowed: Any) -> Any:
    def check(value: Any) -> str | None:
        if value in allowed:
            return None
        return f"must be one of {', '.join(map(str, allowed))}, not {value!r}"

    return check


def _hours(value: Any) -> str | None:
    if isinstance(value, list | tuple) and value and all(_whole(1)(v) is None for v in value):
        return None
    return f"must be a list of whole hours above 0, e.g. [24] or [24, 2], not {value!r}"


CHECKS: dict[str, Any] = {
    "ENV": _one_of("development", "production"),
    "RETENTION_DAYS": _whole(1),
    "OUTBOX_KEEP_DAYS": _whole(1),
    "SUBSCRIPTION_UNCONFIRMED_DAYS": _whole(1),
    "SUBSCRIPTION_UNSUBSCRIBED_DAYS": _whole(1),
    "OFFER_DAYS": _whole(1),
    "FEED_REFRESH_MINUTES": _whole(1),
    "FEED_ALARM_MINUTES": _whole(0),
    "SESSIONS_SHOWN_ON_GROUP_PAGE": _whole(1),
    "MAX_CONTENT_LENGTH": _whole(1024),
    "REMINDER_OFFSETS_HOURS": _hours,
    "MAIL_BACKEND": _one_of("file", "smtp"),
    "LOG_LEVEL": _one_of("DEBUG", "INFO", "WARNING", "ERROR"),
    "LOG_FORMAT": _one_of("json", "text"),
    "RATE_LIMIT_APPLICATIONS": _rate_limit,
    "RATE_LIMIT_LOGIN": _rate_limit,
    "RATE_LIMIT_SUBSCRIPTIONS": _rate_limit,
    "LOGIN_LOCKOUT_AFTER": _whole(1),
    "LOGIN_LOCKOUT_SECONDS": _whole(1),
    "LOGIN_LOCKOUT_MAX_SECONDS": _whole(1),
    "LOGIN_LOCKOUT_EMAIL_AFTER": _whole(1),
    "STAFF_SESSION_IDLE_MINUTES": _whole(1),
    "STAFF_SESSION_MAX_HOURS": _whole(1),
    "PROXY_FIX_X_FOR": _whole(0),
    "PROXY_FIX_X_PROTO": _whole(0),
}


def config_problems(config: dict[str, Any]) -> list[str]:
    """Every problem of the configuration, each naming the setting and what it should be."""
    problems = [
        f"{name} {message}"
        for name, check in CHECKS.items()
        if (message := check(config.get(name))) is not None
    ]
    idle, most = config.get("STAFF_SESSION_IDLE_MINUTES"), config.get("STAFF_SESSION_MAX_HOURS")
    if _whole(1)(idle) is None and _whole(1)(most) is None and idle > most * 60:
        problems.append(
            f"STAFF_SESSION_IDLE_MINUTES ({idle}) must not be longer than "
            f"STAFF_SESSION_MAX_HOURS ({most}) in minutes"
        )
    production = config.get("ENV") == "production"
    key = config.get("SECRET_KEY") or ""
    if production and (key == DEV_SECRET_KEY or len(key) < 32):
        problems.append(
            "SECRET_KEY: production needs a real secret key of at least 32 characters, e.g.\n"
            "    export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
            "  or put SECRET_KEY = '...' in instance/config.py."
        )
    problems += data_key_problems(config)
    try:
        driver = make_url(config["SQLALCHEMY_DATABASE_URI"]).drivername
    except ArgumentError:
        problems.append(
            "DATABASE_URL is not a database URL, e.g. postgresql+psycopg://user@host:5432/name"
        )
    else:
        if driver not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
            problems.append(
                f"DATABASE_URL: {driver!r} is not supported; use postgresql+psycopg://… or sqlite:///…"
            )
    base = urlsplit(str(config.get("BASE_URL", "")))
    if base.scheme not in ("http", "https") or not base.netloc:
        problems.append(
            f"BASE_URL must be the site's address, e.g. https://ryhmat.example.fi, "
            f"not {config.get('BASE_URL')!r}"
        )
    elif production and base.scheme != "https":
        problems.append("BASE_URL: production is served over TLS, so it starts with https://")
    for host in config.get("TRUSTED_HOSTS") or ():
        if not isinstance(host, str) or not HOST_NAME.fullmatch(host):
            problems.append(
                "TRUSTED_HOSTS holds host names such as ryhmat.example.fi, without a scheme, "
                f"port or path, not {host!r}"
            )
    if not isinstance(config.get("MAIL_FROM"), str) or "@" not in config["MAIL_FROM"]:
        problems.append(f"MAIL_FROM must be an email address, not {config.get('MAIL_FROM')!r}")
    if config.get("MAIL_BACKEND") == "smtp":
        if not config.get("SMTP_HOST"):
            problems.append("SMTP_HOST is needed when MAIL_BACKEND is smtp")
        port = config.get("SMTP_PORT", 25)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            problems.append(f"SMTP_PORT must be a port number, not {port!r}")
        if config.get("SMTP_SECURITY", "starttls") not in ("starttls", "tls", "none"):
            problems.append("SMTP_SECURITY must be one of starttls, tls, none")
    for language in config["LANGUAGES"]:
        if language not in ("fi", "sv", "en"):
            problems.append(f"LANGUAGES may hold fi, sv and en, not {language!r}")
    return problems


def check_config(config: dict[str, Any]) -> None:
    """Refuse to start with a configuration that cannot run safely, listing every problem.

    A setting NAME comes from instance/config.py or the environment as REMOTE_GROUPS_NAME
    (DATABASE_URL and SECRET_KEY without the prefix).
    """
    problems = config_problems(config)
    if problems:
        raise ConfigError(
            "remote_groups cannot start: the configuration has problems\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\n(set them in instance/config.py or as REMOTE_GROUPS_<NAME> in the environment)"
        )
