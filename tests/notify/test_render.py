"""Rendering notices: every event type, language and channel, from the disclosed view only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import pytest

from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView, FieldValue, Record, disclose
from voice.disclosure.policy import Policy
from voice.notify.models import Channel
from voice.notify.phrases import HEADLINES, custody, headline, release_type
from voice.notify.render import RenderedNotice, render_notice
from voice.notify.sms import to_gsm7_where_possible

OFFICE = "VOICE office, 1-555-010-0100"
EVENT_TYPES = sorted(HEADLINES)
LANGUAGES = ["en", "es"]
CHANNELS = list(Channel)

# Phrases that only the Spanish templates contain, per channel.
SPANISH_MARKERS = {Channel.EMAIL: "Este es un aviso", Channel.SMS: "Preguntas:"}
ENGLISH_MARKERS = {Channel.EMAIL: "This is a notice", Channel.SMS: "Questions:"}


def record(
    event_type: str,
    *,
    custody_status: str = "in_custody",
    extra: dict[str, FieldValue] | None = None,
) -> Record:
    """A record with a value in every field a verified victim may receive."""
    fields = {
        "event.event_type": FieldValue(event_type),
        "event.occurred_at": FieldValue(datetime(2026, 11, 2, 9, 15, tzinfo=UTC)),
        "subject.first_name": FieldValue("Ramon"),
        "subject.middle_name": FieldValue("Q"),
        "subject.last_name": FieldValue("Example"),
        "case.custody_status": FieldValue(custody_status),
        "case.facility_name": FieldValue("Example Processing Center"),
        "case.facility_city": FieldValue("Sampletown"),
        "case.facility_state": FieldValue("TX"),
        "case.immigration_status": FieldValue("pending"),
        "case.proceedings_stage": FieldValue("hearing_scheduled"),
        "case.hearing_at": FieldValue(datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        "case.hearing_court": FieldValue("Sampletown Immigration Court"),
        "case.release_type": FieldValue("order_of_supervision"),
        "case.removed_to_country": FieldValue("Exampleland"),
        **(extra or {}),
    }
    return Record(
        fields=fields,
        subject_protected=False,
        custody_status=custody_status,
        event_type=event_type,
    )


def as_sent(text: str, channel: Channel) -> str:
    """Text messages go out in GSM-7 where possible: Spanish accents GSM-7 lacks are dropped."""
    return to_gsm7_where_possible(text) if channel is Channel.SMS else text


def render(view: DisclosedView, channel: Channel, language: str) -> RenderedNotice:
    return render_notice(view=view, channel=channel, language=language, office_contact=OFFICE)


# How the record's times read in the victim's time zone (America/New_York by default).
OCCURRED_ON = {"en": "November 2, 2026", "es": "2 de noviembre de 2026"}


@pytest.mark.parametrize("custody_status", ["in_custody", "removed"])
@pytest.mark.parametrize("channel", CHANNELS, ids=str)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_renders_in_every_language_and_channel(
    event_type: str, language: str, channel: Channel, custody_status: str, policy: Policy
) -> None:
    view = disclose(
        record(event_type, custody_status=custody_status),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    assert view.released["event.event_type"] == event_type

    notice = render(view, channel, language)

    assert as_sent(headline(event_type, language), channel) in notice.body
    assert "Ramon Q Example" in notice.body
    assert as_sent(custody(custody_status, language), channel) in notice.body
    assert OFFICE in notice.body
    assert notice.body.endswith("\n")
    assert not notice.body.endswith("\n\n")
    if channel is Channel.EMAIL:
        assert notice.subject.strip()
        assert "\n" not in notice.subject
        assert OCCURRED_ON[language] in notice.body
        if custody_status == "in_custody":
            assert "Example Processing Center, Sampletown, TX" in notice.body
            assert "Exampleland" not in notice.body  # only once removed
        else:
            assert "Exampleland" in notice.body
            assert "Example Processing Center" not in notice.body  # only while in custody
    else:
        assert notice.subject == ""


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_spanish_output_is_spanish(channel: Channel, policy: Policy) -> None:
    view = disclose(record("custody.released"), audience=Audience.VICTIM_VERIFIED, policy=policy)

    notice = render(view, channel, "es")

    assert SPANISH_MARKERS[channel] in notice.body
    assert ENGLISH_MARKERS[channel] not in notice.body
    assert as_sent(headline("custody.released", "es"), channel) in notice.body
    assert headline("custody.released", "en") not in notice.body
    if channel is Channel.EMAIL:
        assert release_type("order_of_supervision", "es") in notice.body
        assert notice.subject.startswith("Aviso de VOICE")


def test_spanish_email_words_the_proceedings_stage_in_spanish(policy: Policy) -> None:
    view = disclose(
        record("case.removal_ordered", extra={"case.proceedings_stage": FieldValue("on_appeal")}),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )

    body = render(view, Channel.EMAIL, "es").body

    (line,) = [ln for ln in body.splitlines() if ln.startswith("Etapa del caso migratorio")]
    # The upstream enum value, English words and all, is not Spanish.
    assert "on appeal" not in line
    assert "on_appeal" not in line


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_view_without_case_fields_still_renders(channel: Channel, language: str) -> None:
    view = DisclosedView(
        audience=Audience.VICTIM_VERIFIED,
        released=MappingProxyType({"event.event_type": "custody.escaped"}),
    )

    notice = render(view, channel, language)

    assert as_sent(headline("custody.escaped", language), channel) in notice.body
    assert OFFICE in notice.body
    assert (notice.subject != "") is (channel is Channel.EMAIL)
    fallback = {"en": "The person in", "es": "La persona de"}[language]
    assert fallback in notice.body


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
@pytest.mark.parametrize("language", ["fr", "", "EN", "es-MX"])
def test_an_unsupported_language_falls_back_to_english(
    channel: Channel, language: str, policy: Policy
) -> None:
    view = disclose(record("custody.booked"), audience=Audience.VICTIM_VERIFIED, policy=policy)

    assert render(view, channel, language) == render(view, channel, "en")


SENTINELS: dict[str, FieldValue] = {
    # Free text, whatever its marking.
    "event.notes": FieldValue("SENTINEL-NOTES", ("(U//LES)",)),
    # Harmful to release, and CUI.
    "case.release_address": FieldValue("SENTINEL-ADDRESS", ("CUI//SP-PRVCY",)),
    "case.transport_details": FieldValue("SENTINEL-TRANSPORT"),
    "case.officer_name": FieldValue("SENTINEL-OFFICER", ("(U//FOUO)",)),
    "case.informant_reference": FieldValue("SENTINEL-INFORMANT"),
    "case.scheduled_removal_at": FieldValue(datetime(2027, 1, 9, 6, 0, tzinfo=UTC)),
    "subject.a_number": FieldValue("A999888777"),
    "subject.date_of_birth": FieldValue(date(1977, 7, 7)),
    # Fields a victim may receive, withheld here by their marking.
    "case.hearing_court": FieldValue("SENTINEL-COURT", ("CUI",)),
    "subject.middle_name": FieldValue("(U//FOUO) SENTINEL-MIDDLE"),
    "case.facility_name": FieldValue("SENTINEL-FACILITY", ("SECRET//NOFORN",)),
}
SENTINEL_TEXTS = (
    "SENTINEL",
    "A999888777",
    "1977-07-07",
    "2027-01-09",
)


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
@pytest.mark.parametrize("language", LANGUAGES)
def test_output_holds_only_released_values(channel: Channel, language: str, policy: Policy) -> None:
    view = disclose(
        record("custody.transferred", extra=SENTINELS),
        audience=Audience.VICTIM_VERIFIED,
        policy=policy,
    )
    withheld = {w.field for w in view.withheld}
    assert set(SENTINELS) <= withheld
    assert not set(SENTINELS) & set(view.released)

    notice = render(view, channel, language)

    for text in SENTINEL_TEXTS:
        assert text not in notice.subject
        assert text not in notice.body
    # The output is a function of the released values alone: dropping the withheld list (and
    # everything not released) changes nothing.
    released_only = DisclosedView(audience=view.audience, released=dict(view.released))
    assert render(released_only, channel, language) == notice


def test_a_value_not_released_is_not_rendered_even_if_the_template_knows_the_field() -> None:
    with_court: dict[str, Any] = {
        "event.event_type": "case.hearing_scheduled",
        "case.hearing_at": "2026-12-01T14:00:00+00:00",
        "case.hearing_court": "Sampletown Immigration Court",
    }
    without_court = {k: v for k, v in with_court.items() if k != "case.hearing_court"}

    shown = render(DisclosedView(Audience.VICTIM_VERIFIED, with_court), Channel.EMAIL, "en")
    hidden = render(DisclosedView(Audience.VICTIM_VERIFIED, without_court), Channel.EMAIL, "en")

    # 14:00 UTC is 9:00 AM in the victim's time zone (the office's default, New York).
    assert "Hearing: December 1, 2026, 9:00\u202fAM at Sampletown Immigration Court." in shown.body
    assert "Hearing: December 1, 2026, 9:00\u202fAM." in hidden.body
    assert "Sampletown" not in hidden.body
