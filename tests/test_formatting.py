"""Dates and times as people in Finland write them: Finnish (fi_FI) and Finland-Swedish
(sv_FI: 2.12.2026 13.00, not Sweden's 2026-12-02 13:00), English as Babel's en; always the
time in Helsinki. Mail renders under its recipient's language (``force_locale``), as here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from flask import Flask
from flask_babel import force_locale

from remote_groups import formatting

# Wednesday 2 December 2026 at 23:30 in Helsinki: in UTC still 21:30 on the same day; and
# Thursday 3 December 00:30 in Helsinki, when UTC is still on Wednesday (22:30).
EVENING = datetime(2026, 12, 2, 21, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)

EXPECTED = {
    "fi": {
        "date_full": "keskiviikko 2. joulukuuta 2026",
        "datetime_full": "keskiviikko 2. joulukuuta 2026 23.30",
        "datetime_short": "2.12.2026 23.30",
        "time_short": "23.30",
        "wall_clock": "13.00",
        "weekday": "keskiviikko",
        "after_midnight": "3.12.2026 0.30",
    },
    "sv": {
        "date_full": "onsdag 2 december 2026",
        "datetime_full": "onsdag 2 december 2026 23.30",
        "datetime_short": "2.12.2026 23.30",
        "time_short": "23.30",
        "wall_clock": "13.00",
        "weekday": "onsdag",
        "after_midnight": "3.12.2026 0.30",
    },
    "en": {
        "date_full": "Wednesday, December 2, 2026",
        "datetime_full": "Wednesday, December 2, 2026 11:30\u202fPM",
        "datetime_short": "12/2/26, 11:30\u202fPM",
        "time_short": "11:30\u202fPM",
        "wall_clock": "1:00\u202fPM",
        "weekday": "Wednesday",
        "after_midnight": "12/3/26, 12:30\u202fAM",
    },
}


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_dates_and_times_are_written_as_in_finland_in_helsinki_time(
    app: Flask, language: str
) -> None:
    expected = EXPECTED[language]
    with app.test_request_context(), force_locale(language):
        shown = {
            "date_full": formatting.date_full(date(2026, 12, 2)),
            "datetime_full": formatting.datetime_full(EVENING),
            "datetime_short": formatting.datetime_short(EVENING),
            "time_short": formatting.time_short(EVENING),
            "wall_clock": formatting.wall_clock(time(13, 0)),
            "weekday": formatting.weekday_name(2),
            "after_midnight": formatting.datetime_short(AFTER_MIDNIGHT),
        }
        # An instant's day is its day in Helsinki.
        assert formatting.date_full(AFTER_MIDNIGHT) == formatting.date_full(date(2026, 12, 3))
    assert shown == expected


def test_a_language_without_its_own_conventions_is_written_as_in_finnish() -> None:
    assert formatting.babel_locale("de") == "fi_FI"
    assert formatting.babel_locale("sv") == "sv_FI"
