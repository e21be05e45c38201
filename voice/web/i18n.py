"""Languages for the victims' pages: gettext catalogues (Babel), locale choice, dates and times.

The catalogues' sources are the ``.po`` files in ``locales/``; they are compiled in memory when
first used, so no build step, network or committed binary is needed. ``deploy/i18n.sh``
extracts new messages and merges them into every catalogue. Every language of ICE's detainee
locator has a catalogue; a language is *offered* (in the language switch, and as a page
language) only once its catalogue translates every message, so nobody is shown a page that is
half in another language under their language's name.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# The nine languages of ICE's online detainee locator, in its order.
CATALOGUE_LANGUAGES = ("en", "es", "fr", "pt", "ar", "ru", "so", "vi", "zh")
DEFAULT_TIME_ZONE = "America/New_York"


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def untranslated(catalogue: Catalog) -> list[str]:
    """The messages a catalogue does not translate (fuzzy ones count as untranslated)."""
    if str(catalogue.locale) == SOURCE_LANGUAGE:
        return []  # the source language's message ids are its text
    missing = []
    for message in catalogue:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language`` (English text when there is none)."""
    if language not in CATALOGUE_LANGUAGES:
        return gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, read_catalogue(language), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def offered_languages() -> tuple[str, ...]:
    """The languages whose catalogue is complete, in the locator's order."""
    return tuple(
        lang
        for lang in CATALOGUE_LANGUAGES
        if lang == SOURCE_LANGUAGE or not untranslated(read_catalogue(lang))
    )


@cache
def _locale(language: str) -> Locale:
    # Parsing a locale looks for its data file on disk: once per language, not per date.
    return Locale.parse(language)


def language_name(language: str) -> str:
    """A language's name in that language, as a language switch shows it."""
    name = _locale(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def text_direction(language: str) -> str:
    return "rtl" if _locale(language).text_direction == "rtl" else "ltr"


def negotiate(*wanted: str | None, accept_language: str = "") -> str:
    """The first offered language among ``wanted`` (in order), then the browser's, then English."""
    offered = offered_languages()
    for choice in wanted:
        if choice and choice in offered:
            return choice
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in offered:
            return base
    return SOURCE_LANGUAGE


def zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def long_date(value: date | datetime, language: str, time_zone: str | None) -> str:
    """ "3 November 2026" in the victim's language, on the calendar day of their time zone."""
    if isinstance(value, datetime):
        value = value.astimezone(zone(time_zone)).date()
    return format_date(value, format="long", locale=_locale(language))


def date_time(value: datetime, language: str, time_zone: str | None) -> str:
    """ "3 November 2026, 10:30 AM" in the victim's language and time zone: no seconds, no
    offsets, nothing a person has to decode."""
    local = value.astimezone(zone(time_zone))
    day = format_date(local.date(), format="long", locale=_locale(language))
    time = format_time(local, format="short", locale=_locale(language))
    pattern = str(_locale(language).datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", day).replace("{0}", time)
