"""Dates, times and language names for templates, formatted by Babel in Europe/Helsinki.

Everything here formats through :func:`babel_locale`: dates and times are written as people
in Finland write them, in Finnish (``fi_FI``) and in Finland-Swedish (``sv_FI``: 2.12.2026
and 13.00, not Sweden's 2026-12-02 and 13:00); English keeps Babel's ``en``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_day_names
from flask import Flask
from flask_babel import get_locale

HELSINKI = ZoneInfo("Europe/Helsinki")

# The service's languages → the Babel locale whose conventions its dates and times follow.
BABEL_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en"}


def current_locale() -> str:
    """The language of this request (fi, sv or en) as a plain string."""
    return str(get_locale())


def babel_locale(language: str | None = None) -> str:
    """The Babel locale for ``language`` (default: this request's, or a mail's recipient's
    under ``force_locale``); Finnish for anything else."""
    return BABEL_LOCALES.get(language or current_locale(), BABEL_LOCALES["fi"])


def date_full(value: date) -> str:
    """E.g. "torstai 3. joulukuuta 2026" / "torsdag 3 december 2026"; an instant's day in
    Helsinki."""
    if isinstance(value, datetime):
        value = value_in_helsinki(value)
    return format_date(value, "full", locale=babel_locale())


def datetime_full(value: datetime) -> str:
    """E.g. "torstai 3. joulukuuta 2026 13.00", in Helsinki."""
    return f"{date_full(value)} {time_short(value)}"


def value_in_helsinki(value: datetime) -> date:
    return value.astimezone(HELSINKI).date()


def time_short(value: datetime) -> str:
    """E.g. "13.00", in Helsinki."""
    return format_time(value, "short", tzinfo=HELSINKI, locale=babel_locale())


def datetime_short(value: datetime) -> str:
    """E.g. "3.12.2026 13.00" (fi and sv), in Helsinki."""
    return format_datetime(value, "short", tzinfo=HELSINKI, locale=babel_locale())


def wall_clock(value: time) -> str:
    """A schedule's local time as it is, with no time-zone conversion (13:00 is 13.00)."""
    return format_time(value, "short", locale=babel_locale())


def weekday_name(weekday: int) -> str:
    """Monday = 0, in the current locale ("torstai", "torsdag", "Thursday")."""
    # Stand-alone forms: Finnish format names are inflected ("torstaina").
    return get_day_names("wide", context="stand-alone", locale=babel_locale())[weekday]


def today_in_helsinki() -> date:
    return datetime.now(HELSINKI).date()


def language_name(code: str) -> str:
    """A language's name in the current locale, e.g. sv → "ruotsi" for a Finnish reader."""
    return Locale.parse(code).get_display_name(babel_locale()) or code


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        date_full=date_full,
        datetime_full=datetime_full,
        time_short=time_short,
        datetime_short=datetime_short,
        wall_clock=wall_clock,
    )
    app.jinja_env.globals.update(language_name=language_name, weekday_name=weekday_name)
    app.context_processor(lambda: {"today": today_in_helsinki()})
