"""Configuration: typed settings, read at start in this order, each later source winning:

1. the defaults, declared with their types in :class:`Settings` below;
2. ``instance/config.py``, a Python file of ``NAME = value`` lines (not committed);
3. the environment: ``DATABASE_URL`` and ``SECRET_KEY``, then ``REMOTE_GROUPS_<NAME>`` for any
   setting NAME below (``REMOTE_GROUPS_RETENTION_DAYS=30``);
4. the overrides given to ``create_app`` (tests and tools).

A value is read by its setting's declared type, never guessed from how it looks: a text setting
stays text (``REMOTE_GROUPS_MAIL_FROM_NAME=2026`` is the name "2026"), whole numbers and
true/false are parsed as such, and a list or pair is JSON (``[20, 3600]``; the lists of names,
``TRUSTED_HOSTS`` and ``LANGUAGES``, also take ``a, b``). ``create_app`` refuses to start
while anything is wrong, listing every problem at once (:func:`config_problems`).

The checked settings fill ``app.config``, which the code reads. Names that are no setting here
(Flask's own, such as ``SESSION_COOKIE_NAME``) pass from instance/config.py and the overrides
to Flask as they are; from the environment only the settings below are read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Config, Flask
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from remote_groups.encryption import data_key_problems

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

ENV_PREFIX = "REMOTE_GROUPS_"
DEV_SECRET_KEY = "dev-only-not-secret"
# Loopback names a development server is reached by (`make run`, with `PORT=…` too).
DEVELOPMENT_HOSTS = ("127.0.0.1", "localhost")
HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")

# --- what each kind of setting must be ---------------------------------------------------------

SETTING = "setting"  # the error type of a value a setting refuses, with our own message


def rule(text: str, *, show_value: bool = True) -> WrapValidator:
    """What a setting must be: a value its type or checks refuse is reported as
    ``NAME <text>, not <value>``; a secret's value is never shown, only its type."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            if show_value:
                template, context = "{rule}, not {value}", {"rule": text, "value": repr(value)}
            else:
                template = "{rule} (the value given is of type {type})"
                context = {"rule": text, "type": type(value).__name__}
            raise PydanticCustomError(SETTING, template, context) from None

    return WrapValidator(check)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # Python counts True as 1; a setting does not
        raise ValueError("true or false is not a number")
    return value


def _names(value: Any) -> Any:
    """A list of names: a list, or one text of names separated by commas or spaces."""
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if not isinstance(value, list | tuple):
        raise PydanticCustomError(
            SETTING,
            'must be a list of names, e.g. ["a", "b"] or a, b, not {value}',
            {"value": repr(value)},
        )
    return value


def _host_name(value: str) -> str:
    if not HOST_NAME.fullmatch(value):
        raise ValueError("not a host name")
    return value


def _site_address(value: str) -> str:
    address = urlsplit(value)
    if address.scheme not in ("http", "https") or not address.netloc:
        raise ValueError("not an http(s) address")
    return value


def _email_address(value: str) -> str:
    if "@" not in value:
        raise ValueError("not an email address")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: 'Europe', a folder
        raise ValueError("no such time zone") from error
    return value


def _psycopg_driver(url: str) -> str:
    """psycopg 3 is the driver we install; the bare scheme would ask for psycopg2."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


NOT_BOOL = BeforeValidator(_not_bool)
WholeFrom0 = Annotated[int, NOT_BOOL, Field(ge=0), rule("must be a whole number of at least 0")]
WholeFrom1 = Annotated[int, NOT_BOOL, Field(ge=1), rule("must be a whole number of at least 1")]
Text = Annotated[str, rule("must be text")]
Secret = Annotated[str, rule("must be text", show_value=False)]
Flag = Annotated[bool, rule("must be true or false")]
FlagOrNone = Annotated[bool | None, rule("must be true or false")]
SameSite = Annotated[
    Literal["Lax", "Strict", "None"] | None, rule("must be one of Lax, Strict, None")
]
Zone = Annotated[
    str, AfterValidator(_time_zone), rule("must be a time zone such as Europe/Helsinki")
]
_Above0 = Annotated[int, NOT_BOOL, Field(gt=0)]
RateLimit = Annotated[
    tuple[_Above0, _Above0], rule("must be [count, seconds] with two whole numbers above 0")
]
HostName = Annotated[
    str,
    AfterValidator(_host_name),
    rule("holds host names such as ryhmat.example.fi, without a scheme, port or path"),
]
Language = Annotated[Literal["fi", "sv", "en"], rule("may hold fi, sv and en")]

# --- reading the sources -----------------------------------------------------------------------


class _Environment(EnvSettingsSource):
    """``REMOTE_GROUPS_<NAME>``: text as it is for text, parsed by the setting's type otherwise.

    A list or pair setting is read as JSON; a value that is not JSON is kept as the text it is,
    for the setting's own check to name (not an error of its own, so every problem is listed).
    """

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            return value


class _BareEnvironment(PydanticBaseSettingsSource):
    """``DATABASE_URL`` and ``SECRET_KEY``, without the prefix, as hosting platforms name them."""

    NAMES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "SECRET_KEY": "SECRET_KEY"}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for variable, name in self.NAMES.items():
            if name == field_name and os.environ.get(variable):
                return os.environ[variable], variable, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {
            name: value
            for variable, name in self.NAMES.items()
            if (value := os.environ.get(variable))
        }


class InstanceFile(PydanticBaseSettingsSource):
    """``instance/config.py``: Python ``NAME = value`` lines (Flask's ``from_pyfile``), so the
    values come typed as Python writes them. Its names that are no setting are Flask's own."""

    def __init__(self, settings_cls: type[BaseSettings], directory: str | Path = INSTANCE):
        super().__init__(settings_cls)
        loaded = Config(str(directory))
        loaded.from_pyfile("config.py", silent=True)
        self.values = dict(loaded)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return _declared(self.values)

    def flask_settings(self) -> dict[str, Any]:
        return {name: value for name, value in self.values.items() if name not in FIELDS}


def trusted_hosts(config: Mapping[str, Any]) -> list[Any]:
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


# --- the settings ------------------------------------------------------------------------------


class Settings(BaseSettings):
    """Every setting, its type and its default. ``Settings(**values)`` checks the values given
    and nothing else: :func:`read_settings` gathers them from the sources, in order, and
    :func:`config_problems` adds the rules between settings, listing every problem."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, case_sensitive=True, extra="ignore", validate_default=True
    )

    ENV: Annotated[
        Literal["development", "production"], rule("must be one of development, production")
    ] = "development"
    SECRET_KEY: Secret = DEV_SECRET_KEY
    # From DATABASE_URL; a bare postgresql:// is given the psycopg 3 driver.
    SQLALCHEMY_DATABASE_URI: Annotated[
        str, AfterValidator(_psycopg_driver), rule("must be a database URL", show_value=False)
    ] = f"sqlite:///{INSTANCE / 'remote_groups.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: Annotated[
        dict[str, Any], rule("must be a dict of SQLAlchemy engine options")
    ] = {"pool_pre_ping": True}
    BABEL_DEFAULT_LOCALE: Annotated[
        Literal["fi", "sv", "en"], rule("must be one of fi, sv, en")
    ] = "fi"
    BABEL_DEFAULT_TIMEZONE: Zone = "Europe/Helsinki"
    BABEL_TRANSLATION_DIRECTORIES: Text = str(ROOT / "translations")
    LANGUAGES: Annotated[tuple[Language, ...], BeforeValidator(_names)] = ("fi", "sv", "en")
    TIMEZONE: Zone = "Europe/Helsinki"
    BASE_URL: Annotated[
        str,
        AfterValidator(_site_address),
        rule("must be the site's address, e.g. https://ryhmat.example.fi"),
    ] = "http://127.0.0.1:5000"
    # Host names requests may name besides BASE_URL's (in development also DEVELOPMENT_HOSTS);
    # others get a 400. Once read, the setting holds the whole list (public_address.py).
    TRUSTED_HOSTS: Annotated[list[HostName], BeforeValidator(_names)] = []
    SESSION_COOKIE_SAMESITE: SameSite = "Lax"
    SESSION_COOKIE_HTTPONLY: Flag = True
    SESSION_COOKIE_SECURE: FlagOrNone = None  # None: secure when BASE_URL is https
    REMEMBER_COOKIE_SAMESITE: SameSite = "Lax"
    REMEMBER_COOKIE_HTTPONLY: Flag = True
    REMEMBER_COOKIE_SECURE: FlagOrNone = None  # None: secure when BASE_URL is https
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (werkzeug ProxyFix).
    # Leave 0 when clients connect directly, or anyone could choose their own address.
    PROXY_FIX_X_FOR: WholeFrom0 = 0
    PROXY_FIX_X_PROTO: WholeFrom0 = 0
    # Seconds a form's CSRF token lasts; None: no limit, for people who fill in forms slowly.
    WTF_CSRF_TIME_LIMIT: Annotated[
        Annotated[int, NOT_BOOL, Field(ge=1)] | None,
        rule("must be a whole number of seconds (at least 1), or None for no limit"),
    ] = None
    MAX_CONTENT_LENGTH: Annotated[
        int, NOT_BOOL, Field(ge=1024), rule("must be a whole number of at least 1024")
    ] = 1024 * 1024
    # How many coming sessions (and holiday gaps) a group's public page lists.
    SESSIONS_SHOWN_ON_GROUP_PAGE: WholeFrom1 = 12
    RETENTION_DAYS: WholeFrom1 = 90
    # The outbox keeps sent, expired and failed mail this many days (then deletes it, and its
    # development .eml file); subscriptions never confirmed, and those ended, are deleted after
    # these. Run nightly with the retention rule (remote_groups.retention).
    OUTBOX_KEEP_DAYS: WholeFrom1 = 30
    SUBSCRIPTION_UNCONFIRMED_DAYS: WholeFrom1 = 7
    SUBSCRIPTION_UNSUBSCRIBED_DAYS: WholeFrom1 = 30
    # Fernet keys that encrypt applicants' needs at rest, newest first (a comma-separated
    # string or a list); required in production, derived from SECRET_KEY in development when
    # empty. See remote_groups/encryption.py, which checks each key.
    DATA_KEYS: Annotated[
        str | list[str],
        rule("must be a comma-separated list of Fernet keys, newest first", show_value=False),
    ] = ""
    OFFER_DAYS: WholeFrom1 = 3  # days a waitlisted applicant has to confirm an offered place
    # The undo window: mail a coordinator causes by sending decisions or cancelling a session
    # is held this many minutes, during which they can take it back (0: no window).
    MAIL_UNDO_MINUTES: WholeFrom0 = 10
    RUN_SCHEDULER: Flag = False
    MAIL_BACKEND: Annotated[Literal["file", "smtp"], rule("must be one of file, smtp")] = "file"
    MAIL_DIR: Text = str(INSTANCE / "mail")
    MAIL_FROM: Annotated[str, AfterValidator(_email_address), rule("must be an email address")] = (
        "remote-groups@example.org"
    )
    MAIL_FROM_NAME: Text = ""  # the sender's name shown beside MAIL_FROM; always text
    SMTP_HOST: Text = ""
    SMTP_PORT: Annotated[int, NOT_BOOL, Field(ge=1, le=65535), rule("must be a port number")] = 25
    SMTP_SECURITY: Annotated[
        Literal["starttls", "tls", "none"], rule("must be one of starttls, tls, none")
    ] = "starttls"
    SMTP_USERNAME: Text = ""
    SMTP_PASSWORD: Secret = ""
    SMTP_TIMEOUT: Annotated[
        float, NOT_BOOL, Field(gt=0), rule("must be a number of seconds above 0")
    ] = 30.0
    FEED_REFRESH_MINUTES: WholeFrom1 = 60  # REFRESH-INTERVAL / X-PUBLISHED-TTL of the feeds
    FEED_ALARM_MINUTES: WholeFrom0 = 30  # reminder in participants' feeds; 0 for none
    LOG_LEVEL: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        rule("must be one of DEBUG, INFO, WARNING, ERROR"),
    ] = "INFO"
    # json | text; None: json in production, text otherwise
    LOG_FORMAT: Annotated[Literal["json", "text"] | None, rule("must be one of json, text")] = None
    # [count, seconds] per client address: POSTs of the application form, the login form and
    # the email subscription form. A group home's residents may share one address.
    RATE_LIMIT_APPLICATIONS: RateLimit = (20, 3600)
    RATE_LIMIT_LOGIN: RateLimit = (30, 900)
    RATE_LIMIT_SUBSCRIPTIONS: RateLimit = (20, 3600)
    # A login (email) is locked after this many failures in a row: first for LOGIN_LOCKOUT_SECONDS,
    # doubling with each further failure up to LOGIN_LOCKOUT_MAX_SECONDS.
    LOGIN_LOCKOUT_AFTER: WholeFrom1 = 5
    LOGIN_LOCKOUT_SECONDS: WholeFrom1 = 60
    LOGIN_LOCKOUT_MAX_SECONDS: WholeFrom1 = 3600
    # Failures for one email from every address together before each address that fails even
    # once more is locked (a guess spread over many addresses); see security/throttle.py.
    LOGIN_LOCKOUT_EMAIL_AFTER: WholeFrom1 = 50
    # A staff login ends after this many minutes without a request, and this many hours after
    # logging in, whatever happens in between.
    STAFF_SESSION_IDLE_MINUTES: WholeFrom1 = 30
    STAFF_SESSION_MAX_HOURS: WholeFrom1 = 12

    @model_validator(mode="after")
    def _settled(self) -> Settings:
        """The settings that follow from others once every one of them is right."""
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            # While the server is away a connect fails within seconds (a 503 page), not a minute.
            options = dict(self.SQLALCHEMY_ENGINE_OPTIONS)
            options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
            self.SQLALCHEMY_ENGINE_OPTIONS = options
        https = self.BASE_URL.startswith("https://")
        if self.SESSION_COOKIE_SECURE is None:
            self.SESSION_COOKIE_SECURE = https
        if self.REMEMBER_COOKIE_SECURE is None:
            self.REMEMBER_COOKIE_SECURE = https
        if self.LOG_FORMAT is None:
            self.LOG_FORMAT = "json" if self.ENV == "production" else "text"
        self.TRUSTED_HOSTS = trusted_hosts(
            {"BASE_URL": self.BASE_URL, "TRUSTED_HOSTS": self.TRUSTED_HOSTS, "ENV": self.ENV}
        )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The values given only: the sources are read by read_settings, which keeps what
        they hold as it is, so that a wrong value is listed with every other problem."""
        return (init_settings,)


FIELDS = frozenset(Settings.model_fields)
# Every default as declared (before the settings that follow from others are settled).
DECLARED_DEFAULTS: dict[str, Any] = {
    name: field.get_default(call_default_factory=True)
    for name, field in Settings.model_fields.items()
}
# The settings when nothing is configured.
Defaults = Settings.model_validate({})


def _declared(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in FIELDS}


def read_settings(
    overrides: Mapping[str, Any] | None = None, instance: str | Path = INSTANCE
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings given, not yet checked, each later source winning (instance file,
    DATABASE_URL/SECRET_KEY, REMOTE_GROUPS_*, overrides); and beside them Flask's own names
    from the instance file and the overrides, to pass on as they are."""
    overrides = dict(overrides or {})
    instance_file = InstanceFile(Settings, instance)
    given: dict[str, Any] = {}
    for source in (instance_file(), _BareEnvironment(Settings)(), _Environment(Settings)()):
        given.update(source)
    given.update(_declared(overrides))
    flask_own = {
        **instance_file.flask_settings(),
        **{name: value for name, value in overrides.items() if name not in FIELDS},
    }
    return given, flask_own


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from the typed settings, read in the documented order: defaults,
    instance file, environment, overrides. With a setting wrong, its value is left as given,
    for :func:`check_config` to list with every other problem."""
    given, flask_own = read_settings(overrides, app.config.root_path)
    app.config.update(flask_own)
    try:
        settings = Settings.model_validate(given)
    except ValidationError:
        app.config.update({**DECLARED_DEFAULTS, **given})
        return
    app.config.update(settings.model_dump())


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


def _setting_problems(error: ValidationError) -> tuple[list[str], set[str]]:
    """One line for each wrong value (each wrong name of a list), and the settings named."""
    problems: list[str] = []
    wrong: set[str] = set()
    for detail in error.errors(include_url=False):
        name = str(detail["loc"][0]) if detail["loc"] else "settings"
        wrong.add(name)
        separator = " " if detail["type"] == SETTING else ": "
        problems.append(f"{name}{separator}{detail['msg']}")
    return list(dict.fromkeys(problems)), wrong


def _rule_problems(values: Mapping[str, Any], wrong: set[str]) -> list[str]:
    """What is wrong between settings, and what production needs; a rule about a setting that
    is wrong in itself is left out (that setting is named already)."""

    def right(*names: str) -> bool:
        return wrong.isdisjoint(names)

    problems = []
    idle, most = values["STAFF_SESSION_IDLE_MINUTES"], values["STAFF_SESSION_MAX_HOURS"]
    if right("STAFF_SESSION_IDLE_MINUTES", "STAFF_SESSION_MAX_HOURS") and idle > most * 60:
        problems.append(
            f"STAFF_SESSION_IDLE_MINUTES ({idle}) must not be longer than "
            f"STAFF_SESSION_MAX_HOURS ({most}) in minutes"
        )
    production = right("ENV") and values["ENV"] == "production"
    key = values["SECRET_KEY"]
    if production and right("SECRET_KEY") and (key == DEV_SECRET_KEY or len(key) < 32):
        problems.append(
            "SECRET_KEY: production needs a real secret key of at least 32 characters, e.g.\n"
            "    export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
            "  or put SECRET_KEY = '...' in instance/config.py."
        )
    if right("DATA_KEYS", "ENV"):
        problems += data_key_problems(values)
    if right("SQLALCHEMY_DATABASE_URI"):
        try:
            driver = make_url(values["SQLALCHEMY_DATABASE_URI"]).drivername
        except (ArgumentError, ValueError):
            problems.append(
                "DATABASE_URL is not a database URL, e.g. postgresql+psycopg://user@host:5432/name"
            )
        else:
            if driver not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
                problems.append(
                    f"DATABASE_URL: {driver!r} is not supported; "
                    "use postgresql+psycopg://… or sqlite:///…"
                )
    if production and right("BASE_URL") and urlsplit(values["BASE_URL"]).scheme != "https":
        problems.append("BASE_URL: production is served over TLS, so it starts with https://")
    smtp = right("MAIL_BACKEND") and values["MAIL_BACKEND"] == "smtp"
    if smtp and right("SMTP_HOST") and not values["SMTP_HOST"]:
        problems.append("SMTP_HOST is needed when MAIL_BACKEND is smtp")
    return problems


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """Every problem of the configuration, each naming the setting and what it should be:
    each setting checked against its type, then the rules between settings."""
    given = _declared(config)
    try:
        values: dict[str, Any] = Settings.model_validate(given).model_dump()
    except ValidationError as error:
        problems, wrong = _setting_problems(error)
        values = {**DECLARED_DEFAULTS, **given}
    else:
        problems, wrong = [], set()
    return problems + _rule_problems(values, wrong)


def check_config(config: Mapping[str, Any]) -> None:
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
