"""Locale choice and localized helpers that do not depend on a request."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED = ("fi", "sv", "en")
# The cookie that remembers a visitor's chosen language (set by the language links).
LANGUAGE_COOKIE = "lang"
FALLBACK_ORDER = {"fi": ("fi", "sv", "en"), "sv": ("sv", "fi", "en"), "en": ("en", "fi", "sv")}


def normalize_language(value: str | None, default: str = "fi") -> str:
    """A supported language code for any input; anything unknown falls back to ``default``."""
    if value:
        code = value.strip().lower().replace("_", "-").split("-")[0]
        if code in SUPPORTED:
            return code
    return default


@dataclass(frozen=True)
class LocalizedText:
    """A text with the language it is really in, so pages can mark fallbacks with ``lang``."""

    text: str
    lang: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def pick_localized(values: dict[str, str | None], locale: str) -> LocalizedText:
    """The text in ``locale``, else the nearest other language that has one."""
    for position, code in enumerate(FALLBACK_ORDER.get(locale, FALLBACK_ORDER["fi"])):
        text = values.get(code)
        if text:
            return LocalizedText(text, code, position > 0)
    return LocalizedText("", locale, False)
