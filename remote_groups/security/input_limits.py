"""What the service reads at all, refused at the edge with a 4xx instead of failing deeper.

- **Control characters.** PostgreSQL cannot store NUL, and the other C0 characters have no
  place in an address, a query or a form: :func:`refuse_control_characters` answers 400,
  before any view runs, when the path, the query or a form value holds one (a form value may
  hold tab, CR and LF, which multi-line fields need; :func:`single_line` refuses those in
  the fields that are one line: names, addresses, titles).
- **Ids.** Every ``<int:…>`` route takes at most :data:`MAX_ID` (the tables' ids are 32-bit
  integers): a larger number is no row, so 404, instead of an overflow in the database driver.
- **Numbers, ids and dates sent in forms** stay in what the database and the calendar code
  can hold: :func:`database_integer`, :func:`record_id`, :func:`supported_date`
  (:data:`SUPPORTED_DATES`).
- **JSON bodies** are read by :func:`read_json`: at most :data:`MAX_JSON_DEPTH` levels,
  numbers of at most :data:`MAX_JSON_INT_DIGITS` digits and finite, strings without control
  characters. Anything else is a ``ValueError``, which ``request.get_json`` turns into 400.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import Map
from werkzeug.routing.converters import IntegerConverter
from wtforms.validators import StopValidation, ValidationError

# The largest id any table holds: the id columns are PostgreSQL ``integer``, 32 bits.
MAX_ID = 2**31 - 1
# Dates the service plans with: terms, sessions, blackouts, API ranges. The calendar code
# turns them into instants in UTC and back, which fails near date.min and date.max.
SUPPORTED_DATES = (date(2000, 1, 1), date(2099, 12, 31))
MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 15

# C0 control characters; form values may hold tab, CR and LF (multi-line fields).
_CONTROL = re.compile(r"[\x00-\x1f]")
_CONTROL_IN_FORM = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What ends a line for str.splitlines, and tab: none of it belongs in a one-line field.
_NOT_ON_ONE_LINE = re.compile(r"[\x00-\x1f\x85\u2028\u2029]")


# --- the request guard ----------------------------------------------------------------------


def _any_match(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    return any(pattern.search(text) for text in texts)


def has_control_characters() -> bool:
    """The request's path, query (names and values) or form (names and values) holds a control
    character; form values may hold tab, CR and LF."""
    if _CONTROL.search(request.path):
        return True
    if _any_match(_CONTROL, (part for pair in request.args.items(multi=True) for part in pair)):
        return True
    form = list(request.form.items(multi=True))
    return _any_match(_CONTROL, (name for name, _value in form)) or _any_match(
        _CONTROL_IN_FORM, (value for _name, value in form)
    )


def refuse_control_characters() -> ResponseReturnValue | None:
    if not has_control_characters():
        return None
    message = _(
        "The address or the form held invisible control characters, so we did not read it. "
        "Go back, remove them (for example by typing the text again) and send it again."
    )
    if request.path.startswith("/api/"):
        return jsonify(error={"code": 400, "message": message}), 400
    return render_template("errors/400.html", code=400, reason=message), 400


# --- ids in paths ---------------------------------------------------------------------------


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` with :data:`MAX_ID` as its default maximum: a larger number matches no
    route (404)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


# --- form rules -----------------------------------------------------------------------------


def record_id(value: object) -> int:
    """A WTForms ``coerce`` for ids sent in a form (checkboxes of applications): a number out
    of range is a ValueError, which the field reports as an invalid choice."""
    number = int(str(value))
    if not 0 < number <= MAX_ID:
        raise ValueError("not an id")
    return number


def single_line(form: Any, field: Any) -> None:
    """A WTForms rule for one-line fields (names, email addresses, phone numbers, titles,
    topics): no line break or other control character, which would break a mail header, an
    iCalendar line or a CSV row the value is later written into."""
    if isinstance(field.data, str) and _NOT_ON_ONE_LINE.search(field.data):
        raise ValidationError(_l("Write this on one line, without line breaks."))


def database_integer(form: Any, field: Any) -> None:
    """A WTForms rule, before any NumberRange (whose NaN check overflows on a huge integer):
    a whole number the database can store."""
    if isinstance(field.data, int) and not -MAX_ID <= field.data <= MAX_ID:
        raise StopValidation(_l("The number is too large."))


def supported_date(form: Any, field: Any) -> None:
    """A WTForms rule for dates: within :data:`SUPPORTED_DATES`."""
    first, last = SUPPORTED_DATES
    if isinstance(field.data, date) and not first <= field.data <= last:
        raise StopValidation(
            _l(
                "Choose a date between %(first)s and %(last)s.",
                first=first.isoformat(),
                last=last.isoformat(),
            )
        )


# --- JSON bodies ----------------------------------------------------------------------------


class UnreadableJSON(ValueError):
    """A JSON body outside what the service reads (see the module's docstring)."""


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise UnreadableJSON(f"numbers have at most {MAX_JSON_INT_DIGITS} digits")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJSON("numbers must be finite")
    return value


def _parse_constant(name: str) -> Any:
    raise UnreadableJSON(f"{name} is not a number")


def _check_shape(value: Any) -> None:
    """Depth and strings, walked without recursion (the value may be deep)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise UnreadableJSON(f"JSON nests at most {MAX_JSON_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and _CONTROL_IN_FORM.search(item):
            raise UnreadableJSON("strings must not hold control characters")


def read_json(text: str | bytes) -> Any:
    """``json.loads`` within the limits above; raises ``ValueError`` (UnreadableJSON or
    JSONDecodeError) for anything else, never RecursionError or OverflowError."""
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError:
        raise UnreadableJSON(f"JSON nests at most {MAX_JSON_DEPTH} levels") from None
    _check_shape(value)
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with :func:`read_json`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return read_json(s)


def register(app: Flask) -> None:
    """Before any blueprint: their routes take the bounded ``int`` converter as they are added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = BoundedJSONProvider(app)
    app.before_request(refuse_control_characters)
