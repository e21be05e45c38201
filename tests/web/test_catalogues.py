"""The message catalogues: every message of the victims' pages is in every catalogue, and the
complete languages (English and Spanish) translate every one."""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from voice.disclosure.policy import Policy
from voice.web import i18n

REPO = Path(__file__).parents[2]


def _extracted(tmp_path: Path) -> set[str]:
    # The same extraction deploy/i18n.sh runs, in-process: nothing is downloaded.
    out = tmp_path / "messages.pot"
    CommandLineInterface().run(  # type: ignore[no-untyped-call]
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(REPO / "babel.cfg"),
            "-k",
            "_",
            "-k",
            "gettext",
            "-o",
            str(out),
            str(REPO / "voice"),
        ]
    )
    with out.open("rb") as source:
        return {m.id for m in read_po(source) if m.id and isinstance(m.id, str)}


def test_every_language_of_the_locator_has_a_catalogue_with_every_message(
    tmp_path: Path,
) -> None:
    wanted = _extracted(tmp_path)
    assert len(wanted) > 100
    for language in i18n.CATALOGUE_LANGUAGES:
        catalogue = i18n.read_catalogue(language)
        have = {m.id for m in catalogue if m.id}
        missing = wanted - have
        assert not missing, f"{language}: run deploy/i18n.sh; missing {sorted(missing)[:5]}"


def test_english_and_spanish_translate_every_message() -> None:
    for language in ("en", "es"):
        assert i18n.untranslated(i18n.read_catalogue(language)) == [], language
    assert {"en", "es"} <= set(i18n.offered_languages())


def test_an_untranslated_message_is_caught() -> None:
    catalogue = i18n.read_catalogue("es")
    catalogue.add("A message nobody translated", "")
    assert i18n.untranslated(catalogue) == ["A message nobody translated"]


def test_the_policys_neutral_message_is_translated(policy: Policy) -> None:
    spanish = i18n.translations("es").gettext(policy.neutral_message)
    assert spanish != policy.neutral_message


def test_right_to_left_languages_get_dir_rtl() -> None:
    from voice.web.templating import make_localized_templates

    env = make_localized_templates("ar").env
    html = env.from_string('{% extends "base.html" %}').render()
    assert '<html lang="ar" dir="rtl">' in html
    assert i18n.text_direction("es") == "ltr"
