"""The catalogs are complete: every translatable string of the code and templates is in them,
translated into Finnish and Swedish (and English), with its placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fi", "sv", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The msgids in the code and templates now, extracted as `make extract` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "ngettext:1,2", "-o", str(pot),
         "--no-location", "--sort-output", "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as handle:
        return {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(handle)
            if message.id
        }


def catalog(language: str):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalog(extracted, language):
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
    missing = sorted(extracted - known)
    assert missing == [], f"run `make extract` and translate: {missing[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    problems = [
        message.id
        for message in catalog(language)
        if message.id
        and (
            message.fuzzy
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
    ]
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    """The same placeholders as the English text; a plural form may leave out the count."""
    broken = []
    for message in catalog(language):
        if not message.id:
            continue
        plural = isinstance(message.id, tuple)
        expected = set(PLACEHOLDER.findall(message.id[-1] if plural else message.id))
        for string in message.string if plural else (message.string,):
            found = set(PLACEHOLDER.findall(string))
            if found != expected and not (plural and found == expected - {"num"}):
                broken.append(message.id)
    assert broken == []


def test_a_missing_translation_shows_the_finnish_text(tmp_path):
    """With a Swedish catalog that lacks a message, the page shows the Finnish text."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from remote_groups import create_app

    for language, text in (("fi", "Sivua ei löydy"), ("sv", None)):
        built = Catalog(locale=language)
        if text:
            built.add("Page not found", text)
        built.add("Remote groups", {"fi": "Etäryhmät", "sv": "Distansgrupper"}[language])
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "messages.mo").open("wb") as handle:
            write_mo(handle, built)
    app = create_app(
        {
            "TESTING": True,
            "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    page = app.test_client().get("/no-such-page?lang=sv").get_data(as_text=True)
    assert "Sivua ei löydy" in page  # missing in Swedish: the Finnish text
    assert "Distansgrupper" in page  # present in Swedish: Swedish
