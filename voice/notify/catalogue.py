"""The notices' gettext catalogue (domain ``notices``): every word a victim reads in an email,
a text message, a reply to a text, a confirmation message or the acknowledgement page.

The sources are the ``.po`` files in ``locales/``, compiled in memory once per language and
process (the worker renders per notification; reading a catalogue each time would cost more
than the render). ``deploy/i18n.sh`` extracts the messages from the templates and from
``phrases.py``, and merges them into the catalogue of every language of ICE's detainee locator.

A notice is written in the victim's language only once that language's catalogue translates
every message; until then it is written wholly in English, dates included, so that nobody gets
a notice half in one language and half in another, or English under another language's tag.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from voice.web.i18n import CATALOGUE_LANGUAGES, SOURCE_LANGUAGE, untranslated

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "notices"


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language``; English (the message ids) when there is none.
    An empty or fuzzy entry is left out of the compiled catalogue, so it reads in English."""
    if language not in CATALOGUE_LANGUAGES:
        return gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, read_catalogue(language), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def complete_languages() -> frozenset[str]:
    """The languages notices are written in: English, and each whose catalogue is complete."""
    return frozenset(
        language
        for language in CATALOGUE_LANGUAGES
        if language == SOURCE_LANGUAGE or not untranslated(read_catalogue(language))
    )


def notice_language(preferred: str) -> str:
    """The language a notice to someone who prefers ``preferred`` is written in."""
    return preferred if preferred in complete_languages() else SOURCE_LANGUAGE
