"""Dates, times and language names for templates, formatted by Babel in Europe/Helsinki."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_time as babel_format_time
from babel.dates import get_day_names
from flask import Flask
from flask_babel import format_date, format_datetime, format_time, get_locale

HELSINKI = ZoneInfo("Europe/Helsinki")


def current_locale() -> str:
    """The language of this request (fi, sv or en) as a plain string."""
    return str(get_locale())


def date_full(value: date) -> str:
    """E.g. "torstai 3. joulukuuta 2026" / "torsdag 3 december 2026"."""
    return format_date(value, "full")


def datetime_full(value: datetime) -> str:
    return f"{format_date(value_in_helsinki(value), 'full')} {format_time(value, 'short')}"


def value_in_helsinki(value: datetime) -> date:
    return value.astimezone(HELSINKI).date()


def time_short(value: datetime) -> str:
    return format_time(value, "short")


def datetime_short(value: datetime) -> str:
    return format_datetime(value, "short")


def wall_clock(value: time) -> str:
    """A schedule's local time as it is, with no time-zone conversion (13:00 is 13.00)."""
    return babel_format_time(value, "short", locale=str(get_locale()))


def weekday_name(weekday: int) -> str:
    """Monday = 0, in the current locale ("torstai", "torsdag", "Thursday")."""
    # Stand-alone forms: Finnish format names are inflected ("torstaina").
    return get_day_names("wide", context="stand-alone", locale=str(get_locale()))[weekday]


def today_in_helsinki() -> date:
    return datetime.now(HELSINKI).date()


def language_name(code: str) -> str:
    """A language's name in the current locale, e.g. sv → "ruotsi" for a Finnish reader."""
    return Locale(code).get_display_name(str(get_locale())) or code


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
