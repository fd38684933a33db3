"""What makes a staff password acceptable, checked wherever one is chosen.

Staff pages show clients' personal data, and applications may hold health data, so a password
must resist guessing. The judgement is zxcvbn's (Dropbox's estimator, kept on PyPI): it knows
the common and leaked passwords, names, keyboard patterns, dates, repeats and l33t spellings,
which no home-made rule of "a digit and a capital" does. A password is accepted at zxcvbn's
top score 4 (about 10^10 guesses or more: it stands up to offline cracking of a stolen hash,
not only to online guessing, which the lockout slows anyway) and at least 12 characters long.
Three or four unrelated words pass; "helsinki2026!" does not.
The user's own email and name, and the service's words ("salasana", "etäryhmä"…), count as
known words, so a password built of them scores as the guess it is.

zxcvbn reads at most 72 characters (longer input would make it slow, a way to tie up a
worker); a longer password is judged by its first 72, which is only ever stricter.

The rule applies when a password is set (the forms, ``users create-admin``), never when one is
checked at login, so an older password keeps working until its owner changes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 4  # of zxcvbn's 0–4
ZXCVBN_MAX_LENGTH = 72
SERVICE_WORDS = (
    "remote",
    "groups",
    "etäryhmä",
    "etäryhmät",
    "distansgrupp",
    "salasana",
    "lösenord",
    "hyvinvointialue",
    "välfärdsområde",
)


def password_problem(password: str, known_words: Iterable[str] = ()) -> LazyString | None:
    """Why ``password`` may not be chosen (a message for its owner), or None when it may.

    ``known_words`` are things about its owner an attacker knows: their email, their name.
    """
    if not password.strip():
        return _l("A password cannot be only spaces.")
    if len(password) < MIN_LENGTH:
        return _l("Use at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use at most %(num)d characters.", num=MAX_LENGTH)
    words = [*SERVICE_WORDS, *_pieces(known_words)]
    if zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=words)["score"] < MIN_SCORE:
        return _l(
            "This password is too easy to guess: it is a common password or follows a"
            " pattern. Try four or five words that have nothing to do with each other."
        )
    return None


def _pieces(known_words: Iterable[str]) -> list[str]:
    """Each known word, and its parts: "aino.virtanen@varha.fi" gives aino, virtanen, varha…"""
    pieces: list[str] = []
    for word in known_words:
        if not word:
            continue
        word = word.lower()
        pieces.append(word)
        for separator in "@.-_+ ":
            word = word.replace(separator, " ")
        pieces.extend(part for part in word.split() if len(part) > 2)
    return pieces
