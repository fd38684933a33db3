"""Dates, times and language names for templates and files, by Babel in Europe/Helsinki.

Everything here formats through :func:`babel_locale`: dates and times are written as people
in Finland write them, in Finnish (``fi_FI``) and in Finland-Swedish (``sv_FI``: 2.12.2026
and 13.00, not Sweden's 2026-12-02 and 13:00); English keeps Babel's ``en``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_day_names
from flask import Flask
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

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


def spreadsheet_date(value: datetime) -> str:
    """An instant's day in Helsinki as Finnish and Swedish Excel read a date, "2.12.2026",
    whatever the reader's language (a file for those spreadsheets)."""
    return format_date(value_in_helsinki(value), "short", locale=BABEL_LOCALES["fi"])


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


# Language names: one rule everywhere. Where a page or a file says what language something is
# in ("Language: finska"), the name is in the reader's language (``language_name``). In a
# language chooser, each language names itself (``own_language_name``: suomi, svenska,
# English), so that a reader finds their own language whatever the page is in.


def language_name(code: str, reader: str | None = None) -> str:
    """A language's name in the reader's language (default: this request's), e.g. sv →
    "ruotsi" for a Finnish reader, "svenska" for a Swedish one, "Swedish" in English."""
    return Locale.parse(code).get_display_name(babel_locale(reader)) or code


def own_language_name(code: str) -> str:
    """A language's name in itself: "suomi", "svenska", "English"."""
    return Locale.parse(code).get_display_name(code) or code


def language_choices(codes: Iterable[str]) -> list[tuple[str, str]]:
    """A language chooser's options: each language named in itself."""
    return [(code, own_language_name(code)) for code in codes]


def language_labels(codes: Iterable[str]) -> list[tuple[str, LazyString]]:
    """Options that say which language something is in (a filter, the group's language),
    each named in the reader's language when the page is drawn (a form class's choices are
    made once, at import)."""
    return [(code, LazyString(language_name, code)) for code in codes]


# The short note beside a text shown in another language than the page's ("(på finska)").
IN_LANGUAGE = {"fi": _l("(in Finnish)"), "sv": _l("(in Swedish)"), "en": _l("(in English)")}


def in_language_note(code: str) -> str:
    return str(IN_LANGUAGE.get(code, code))


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        date_full=date_full,
        datetime_full=datetime_full,
        time_short=time_short,
        datetime_short=datetime_short,
        wall_clock=wall_clock,
    )
    app.jinja_env.globals.update(
        language_name=language_name,
        own_language_name=own_language_name,
        in_language_note=in_language_note,
        weekday_name=weekday_name,
    )
    app.context_processor(lambda: {"today": today_in_helsinki()})
