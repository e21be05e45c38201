"""The notices' catalogue: every message is in every language's catalogue, English and Spanish
translate every one, and every kind of notice renders on every channel in English, in Spanish and
in a language whose catalogue is not complete yet (which reads wholly in English)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from voice.config import Settings
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView
from voice.notify import catalogue, phrases
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.models import CRITICAL_EVENT_TYPES, Channel
from voice.notify.pages import ack_page
from voice.notify.render import RenderedNotice, render_notice
from voice.notify.replies import REPLIES, reply_text
from voice.notify.sms import to_gsm7_where_possible
from voice.notify.verification_messages import VerificationCourier
from voice.victims.verification import Challenge
from voice.victims.verification_models import ContactKind
from voice.web.i18n import CATALOGUE_LANGUAGES, untranslated

REPO = Path(__file__).parents[2]
OFFICE = "VOICE office, 1-555-010-0100"
ACK = "https://voice.example/ack/token-123"
EVENT_TYPES = sorted(phrases.HEADLINES)
FALLBACK = "fr"  # a language of the locator whose notices catalogue is not translated yet
KEYWORDS = ("-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "N_")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted(tmp_path: Path) -> set[str]:
    # The extraction deploy/i18n.sh runs, in-process: nothing is downloaded.
    out = tmp_path / "notices.pot"
    config = str(REPO / "babel-notices.cfg")
    arguments = [
        "pybabel",
        "-q",
        "extract",
        "-F",
        config,
        *KEYWORDS,
        "-o",
        str(out),
        str(REPO / "voice"),
    ]
    CommandLineInterface().run(arguments)  # type: ignore[no-untyped-call]
    with out.open("rb") as source:
        return {_id(m.id) for m in read_po(source) if m.id}


def _id(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _texts(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    """A message's id or string as a list: one, or its singular and plural."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def test_every_language_of_the_locator_has_a_notices_catalogue_with_every_message(
    tmp_path: Path,
) -> None:
    wanted = _extracted(tmp_path)
    assert len(wanted) > 100
    assert set(phrases.HEADLINES.values()) <= wanted  # Python-side wording is extracted too
    assert set(REPLIES.values()) <= wanted
    for language in CATALOGUE_LANGUAGES:
        have = {_id(m.id) for m in catalogue.read_catalogue(language) if m.id}
        missing = wanted - have
        assert not missing, f"{language}: run deploy/i18n.sh; missing {sorted(missing)[:5]}"


def test_english_and_spanish_translate_every_notice_message() -> None:
    for language in ("en", "es"):
        assert untranslated(catalogue.read_catalogue(language)) == [], language
    assert {"en", "es"} <= catalogue.complete_languages()
    assert FALLBACK not in catalogue.complete_languages()


def test_a_notice_message_without_a_translation_is_caught() -> None:
    spanish = catalogue.read_catalogue("es")
    spanish.add("A notice sentence nobody translated", "")
    assert untranslated(spanish) == ["A notice sentence nobody translated"]


def test_spanish_keeps_every_placeholder_of_its_message() -> None:
    for message in catalogue.read_catalogue("es"):
        if not message.id:
            continue
        ids, strings = _texts(message.id), _texts(message.string)
        wanted = set(PLACEHOLDER.findall(ids[-1])) - {"count"}  # "in the next hour" may drop it
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) - {"count"} == wanted, ids[0]


def sample_view(event_type: str) -> DisclosedView:
    """Disclosed facts of every kind a verified victim may be told."""
    released: dict[str, object] = {
        "event.event_type": event_type,
        "event.occurred_at": "2026-11-03T02:30:00+00:00",
        "subject.first_name": "Ramon",
        "subject.last_name": "Example",
        "case.custody_status": "in_custody",
        "case.release_type": "bond",
        "case.facility_name": "Example Processing Center",
        "case.facility_city": "Sampletown",
        "case.facility_state": "TX",
        "case.proceedings_stage": "on_appeal",
        "case.hearing_at": "2026-12-01T14:00:00+00:00",
        "case.hearing_court": "Sampletown Immigration Court",
        "case.removed_to_country": "Exampleland",
    }
    return DisclosedView(audience=Audience.VICTIM_VERIFIED, released=MappingProxyType(released))


def render(event_type: str, channel: Channel, language: str, **kwargs: str) -> RenderedNotice:
    return render_notice(
        view=sample_view(event_type),
        channel=channel,
        language=language,
        office_contact=OFFICE,
        ack_url=ACK if event_type in CRITICAL_EVENT_TYPES and channel is Channel.EMAIL else "",
        retracted=sample_view("custody.released") if event_type == "correction" else None,
        **kwargs,
    )


def _english_sentences() -> set[str]:
    """English messages long enough that finding one in a Spanish notice means it was left
    untranslated (short ones such as "VOICE" are the same in both)."""
    english = {_id(m.id) for m in catalogue.read_catalogue("en") if m.id}
    return {PLACEHOLDER.split(text)[0] for text in english if len(PLACEHOLDER.split(text)[0]) > 12}


ENGLISH = _english_sentences()


@pytest.mark.parametrize("channel", list(Channel), ids=str)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_kind_of_notice_renders_in_english_spanish_and_a_fallback_language(
    event_type: str, channel: Channel
) -> None:
    english = render(event_type, channel, "en")
    spanish = render(event_type, channel, "es")
    fallback = render(event_type, channel, FALLBACK)

    # A language whose catalogue is incomplete reads wholly in English, dates and all.
    assert fallback == english
    for notice, language in ((english, "en"), (spanish, "es")):
        headline = phrases.headline(event_type, language)
        sent = to_gsm7_where_possible(headline) if channel is Channel.SMS else headline
        assert sent in notice.body
        assert "Ramon Example" in notice.body
        assert OFFICE in notice.body
    for sentence in ENGLISH:
        assert sentence not in spanish.body, sentence
        assert sentence not in spanish.subject
        assert sentence not in spanish.html
    if channel is Channel.EMAIL:
        # 02:30 UTC on 3 November is still 2 November in New York, the office's default zone.
        assert "(as of November 2, 2026)." in english.body
        assert "(a partir del 2 de noviembre de 2026)." in spanish.body
        assert "Immigration case stage: on appeal." in english.body
        assert "Etapa del caso migratorio: en apelación." in spanish.body
        assert '<html lang="es">' in spanish.html
        assert '<html lang="en">' in fallback.html


def test_dates_and_times_are_in_the_victims_time_zone() -> None:
    pacific = render("case.hearing_scheduled", Channel.EMAIL, "en", time_zone="America/Los_Angeles")
    eastern = render("case.hearing_scheduled", Channel.EMAIL, "es")

    assert "Hearing: December 1, 2026, 6:00\u202fAM at Sampletown Immigration Court." in (
        pacific.body
    )
    assert "(as of November 2, 2026)." in pacific.body
    assert "Audiencia: 1 de diciembre de 2026, 9:00 en Sampletown Immigration Court." in (
        eastern.body
    )


def test_a_right_to_left_language_is_marked_so_in_html(monkeypatch: pytest.MonkeyPatch) -> None:
    # Once Arabic's catalogue is complete, its notices are written in Arabic, right to left.
    monkeypatch.setattr(catalogue, "complete_languages", lambda: frozenset({"en", "es", "ar"}))

    notice = render("custody.released", Channel.EMAIL, "ar")

    assert '<html lang="ar" dir="rtl">' in notice.html
    assert "2026" in notice.body
    assert "November" not in notice.body  # the date is formatted by Babel in Arabic


@pytest.mark.parametrize("key", sorted(REPLIES))
def test_every_reply_to_a_text_is_worded_in_english_and_spanish(key: str) -> None:
    english = reply_text(key, language="en", office_contact=OFFICE)
    spanish = reply_text(key, language="es", office_contact=OFFICE)

    assert english.startswith("VOICE: ")
    assert spanish.startswith("VOICE: ")
    assert english != spanish
    assert reply_text(key, language=FALLBACK, office_contact=OFFICE) == english
    assert (OFFICE in english) is ("%(office)s" in REPLIES[key])


def _challenge(kind: ContactKind, language: str) -> Challenge:
    return Challenge(
        challenge_id=7,
        victim_id=3,
        kind=kind,
        to="victim@example.invalid" if kind is ContactKind.EMAIL else "+15550100123",
        secret="token-abc" if kind is ContactKind.EMAIL else "482913",
        language=language,
        expires_at=datetime(2026, 11, 5, tzinfo=UTC),
    )


def _sent(kind: ContactKind, language: str) -> OutgoingEmail | OutgoingSms:
    email, sms = MemoryEmailSender(), MemorySmsSender()
    VerificationCourier(settings=SETTINGS, email=email, sms=sms).deliver(_challenge(kind, language))
    sent: list[OutgoingEmail | OutgoingSms] = [*email.outbox.values(), *sms.outbox.values()]
    (message,) = sent
    return message


SETTINGS = Settings(office_contact=OFFICE, contact_link_hours=72, contact_code_minutes=1)


def test_the_confirmation_link_email_is_worded_in_the_victims_language() -> None:
    english, spanish = _sent(ContactKind.EMAIL, "en"), _sent(ContactKind.EMAIL, "es")
    assert isinstance(english, OutgoingEmail)
    assert isinstance(spanish, OutgoingEmail)

    assert english.subject == "Confirm your email address for VOICE"
    assert spanish.subject == "Confirme su correo electrónico para VOICE"
    assert "open this link within 72 hours. It works once:\nhttp" in english.text
    assert "abra este enlace en las próximas 72 horas. Sirve una sola vez:\nhttp" in spanish.text
    for text in (english.text, spanish.text):
        assert "/self-service/confirm-email?token=token-abc\n\n" in text
        assert text.endswith(f"{OFFICE}.\n")
    assert _sent(ContactKind.EMAIL, FALLBACK) == english


def test_the_confirmation_code_text_is_worded_in_the_victims_language() -> None:
    english, spanish = _sent(ContactKind.PHONE, "en"), _sent(ContactKind.PHONE, "es")
    assert isinstance(english, OutgoingSms)
    assert isinstance(spanish, OutgoingSms)

    # One minute is singular, in both languages.
    assert english.body == (
        "VOICE: Your code is 482913. Reply with it to this number, or enter it on the VOICE "
        "self-service page, within 1 minute, to confirm this phone number."
    )
    assert spanish.body.startswith("VOICE: Su codigo es 482913.")  # GSM-7 has no ó
    assert "en el proximo minuto" in spanish.body
    assert _sent(ContactKind.PHONE, FALLBACK) == english


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "I received the notice"), ("es", "Recibí el aviso"), (FALLBACK, "I received")],
)
def test_the_acknowledgement_page_is_in_the_victims_language(language: str, words: str) -> None:
    page = bytes(ack_page(SETTINGS, language, "confirm", action="/ack/x").body).decode()

    assert words in page
    assert f'<html lang="{"en" if language == FALLBACK else language}">' in page
    assert f"{OFFICE}." in page


def test_a_date_the_victims_calendar_cannot_hold_still_renders() -> None:
    released = dict(sample_view("custody.booked").released)
    released["event.occurred_at"] = "0001-01-01T00:00:00+00:00"  # New York's is in year 0
    view = DisclosedView(audience=Audience.VICTIM_VERIFIED, released=MappingProxyType(released))

    notice = render_notice(view=view, channel=Channel.EMAIL, language="es", office_contact=OFFICE)

    assert "(a partir del 0001-01-01)." in notice.body
