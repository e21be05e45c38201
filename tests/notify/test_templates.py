"""One template per notice kind for every language and channel, HTML escaping, and SMS segment
counting."""

from __future__ import annotations

from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from types import MappingProxyType

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView
from voice.notify.adapters.base import OutgoingEmail
from voice.notify.adapters.mime import build_mime
from voice.notify.models import CRITICAL_EVENT_TYPES, Channel
from voice.notify.phrases import HEADLINES, headline, release_explanation
from voice.notify.render import NoticeTooLong, _environment, render_notice
from voice.notify.sms import MAX_SEGMENTS, measure, to_gsm7_where_possible

TEMPLATES = Path(__file__).resolve().parents[2] / "voice" / "notify" / "templates"
OFFICE = "VOICE office, 1-555-010-0100, voice-office@voice.example"
EVENT_TYPES = sorted(HEADLINES)
LANGUAGES = ["en", "es"]
ACK = "https://voice.example/ack/token-123"
EXPLAINED = {"en": "What this means:", "es": "Qué significa:"}
NEXT = {"en": "What you can do:", "es": "Qué puede hacer:"}


def full_view(event_type: str, **case: str) -> DisclosedView:
    released: dict[str, object] = {
        "event.event_type": event_type,
        "event.occurred_at": "2026-11-02T09:15:00+00:00",
        "subject.first_name": "Ramon",
        "subject.last_name": "Example",
        "case.custody_status": "released",
        "case.release_type": "order_of_supervision",
        "case.proceedings_stage": "hearing_scheduled",
        "case.hearing_at": "2026-12-01T14:00:00+00:00",
        "case.hearing_court": "Sampletown Immigration Court",
        "case.removed_to_country": "Exampleland",
    }
    released.update({f"case.{k}": v for k, v in case.items()})
    return DisclosedView(audience=Audience.VICTIM_VERIFIED, released=MappingProxyType(released))


def test_there_is_one_template_per_notice_kind_for_every_channel_and_language() -> None:
    names = {p.name for p in (TEMPLATES / "notices").glob("*.j2")}
    assert names == {f"{t}.j2" for t in EVENT_TYPES}


@pytest.mark.parametrize("channel", list(Channel), ids=str)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_template_renders_in_every_language_on_every_channel(
    event_type: str, language: str, channel: Channel
) -> None:
    critical = event_type in CRITICAL_EVENT_TYPES
    notice = render_notice(
        view=full_view(event_type),
        channel=channel,
        language=language,
        office_contact=OFFICE,
        ack_url=ACK if critical else "",
        retracted=full_view("custody.released") if event_type == "correction" else None,
    )

    assert OFFICE in notice.body
    if channel is Channel.SMS:
        size = measure(notice.body.strip())
        assert size.segments <= MAX_SEGMENTS
        assert size.encoding == "GSM-7"  # English and Spanish both fit GSM-7
        assert ("YES" in notice.body or "SI " in notice.body) is critical
        assert notice.html == ""
        return
    # The explanation and the next steps are there, and not empty.
    lines = notice.body.splitlines()
    for label in (EXPLAINED[language], NEXT[language]):
        (line,) = [ln for ln in lines if ln.startswith(label)]
        assert len(line) > len(label) + 20
    assert (ACK in notice.body) is critical
    assert (f'href="{ACK}"' in notice.html) is critical
    assert notice.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in notice.html
    assert str(escape(headline(event_type, language))) in notice.html


def test_a_release_explains_what_the_kind_of_release_means() -> None:
    for language in LANGUAGES:
        notice = render_notice(
            view=full_view("custody.released"),
            channel=Channel.EMAIL,
            language=language,
            office_contact=OFFICE,
        )
        assert release_explanation("order_of_supervision", language) in notice.body


def test_a_correction_names_the_notice_it_corrects() -> None:
    notice = render_notice(
        view=full_view("correction", custody_status="in_custody"),
        channel=Channel.EMAIL,
        language="es",
        office_contact=OFFICE,
        retracted=full_view("custody.released"),
    )
    assert headline("custody.released", "es") in notice.body
    assert "no era correcto" in notice.body


def test_html_is_autoescaped_and_text_is_not() -> None:
    view = full_view("custody.booked")
    released = dict(view.released)
    released["subject.first_name"] = "<script>alert(1)</script> O'Brien & Co"
    hostile = DisclosedView(audience=view.audience, released=MappingProxyType(released))

    notice = render_notice(
        view=hostile, channel=Channel.EMAIL, language="en", office_contact=OFFICE
    )

    assert "<script>" not in notice.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien &amp; Co" in notice.html
    assert "<script>alert(1)</script> O'Brien & Co" in notice.body


def test_a_misspelt_variable_is_an_error_not_a_blank() -> None:
    template = _environment().from_string("{{ subject_nmae }}")
    with pytest.raises(UndefinedError):
        template.render(subject_name="x")
    assert _environment(html=True).autoescape is True


def test_the_email_is_multipart_text_and_html() -> None:
    notice = render_notice(
        view=full_view("custody.escaped"),
        channel=Channel.EMAIL,
        language="en",
        office_contact=OFFICE,
    )
    email = OutgoingEmail(
        to="victim@example.invalid",
        sender="VOICE Office <no-reply@voice.example>",
        subject=notice.subject,
        text=notice.body,
        html=notice.html,
        message_id="<n-00000001.voice@voice.example>",
        reference="n-00000001",
    )
    parsed = BytesParser(policy=email_policy.default).parsebytes(bytes(build_mime(email)))
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "has escaped" in plain.get_content()
    assert "has escaped" in html.get_content()


# ----------------------------------------------------------------------------- SMS sizes


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character costs two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("ñ" * 160, "GSM-7", 160, 1),  # ñ is in GSM-7's basic set
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("á" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
    ],
)
def test_segments_are_counted_per_encoding(
    text: str, encoding: str, units: int, segments: int
) -> None:
    size = measure(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_spanish_accents_outside_gsm7_are_dropped_but_names_in_other_scripts_are_kept() -> None:
    assert to_gsm7_where_possible("Situación, está, ñandú, él") == "Situacion, esta, ñandu, él"
    assert to_gsm7_where_possible("¿Qué? ¡Sí!") == "¿Qué? ¡Si!"
    assert to_gsm7_where_possible("\u201cquoted\u201d \u2013 it\u2019s") == '"quoted" - it\'s'
    # A name GSM-7 cannot write keeps its letters, accents and all; the message goes as UCS-2.
    assert to_gsm7_where_possible("王小明 está") == "王小明 está"
    assert measure("王小明 está").encoding == "UCS-2"


def test_a_long_name_falls_back_to_a_shorter_text_within_the_cap() -> None:
    view = full_view("custody.released")
    released = dict(view.released)
    released["subject.first_name"] = "王" * 200
    released["subject.last_name"] = "明" * 200
    long_name = DisclosedView(audience=view.audience, released=MappingProxyType(released))

    notice = render_notice(
        view=long_name, channel=Channel.SMS, language="en", office_contact=OFFICE
    )

    assert measure(notice.body.strip()).segments <= MAX_SEGMENTS
    assert "王" not in notice.body
    assert "The person in your case has been released" in notice.body
    assert "Reply YES" in notice.body


def test_an_office_contact_too_long_for_any_text_is_refused() -> None:
    with pytest.raises(NoticeTooLong):
        render_notice(
            view=full_view("custody.booked"),
            channel=Channel.SMS,
            language="en",
            office_contact="x" * 1000,
        )
