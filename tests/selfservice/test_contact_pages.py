"""My preferences: a victim changes or adds a contact point, and proves it again."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.identity import INGEST
from tests.selfservice.conftest import Clock
from tests.selfservice.web_helpers import post_form, sign_in
from voice.config import Settings
from voice.database import transaction
from voice.liaison.models import LiaisonTask
from voice.notify.models import Channel
from voice.notify.service import chosen_channels
from voice.victims.models import Language, Victim, VictimCaseLink
from voice.victims.verification import Challenge
from voice.victims.verification_models import ContactKind, ContactProof

NEW_PHONE = "+12025550143"
PREFERENCES = "/self-service/preferences"


@dataclass
class RecordingCourier:
    sent: list[Challenge] = field(default_factory=list)

    def deliver(self, challenge: Challenge) -> None:
        self.sent.append(challenge)


@pytest.fixture
def courier(web: TestClient) -> RecordingCourier:
    recording = RecordingCourier()
    web.app.state.contact_courier = recording  # type: ignore[attr-defined]  # ASGI app type
    return recording


def _signed_in(web: TestClient, engine: Engine, **victim: object) -> tuple[Victim, VictimCaseLink]:
    web.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(engine) as session:
        found, link, pin = factories.victim_with_link(
            session,
            factories.case_of(session),
            **victim,  # type: ignore[arg-type]
        )
    assert sign_in(web, found.victim_code, pin).status_code == 303
    return found, link


def _stored(engine: Engine, victim: Victim) -> Victim:
    with Session(engine) as session:
        return session.get_one(Victim, victim.id)


def test_a_changed_phone_number_is_confirmed_with_the_texted_code(
    web: TestClient, committed_engine: Engine, courier: RecordingCourier
) -> None:
    victim, _ = _signed_in(web, committed_engine, phone="+15550100111")
    changed = post_form(web, PREFERENCES, f"{PREFERENCES}/phone", {"phone": "(202) 555-0143"})
    assert changed.status_code == 303
    assert changed.headers["location"] == f"{PREFERENCES}/phone"
    stored = _stored(committed_engine, victim)
    # Replaced at once, and unproven: nothing goes to either number until the code comes back.
    assert (stored.phone, stored.phone_verified) == (NEW_PHONE, False)
    [challenge] = courier.sent
    assert (challenge.kind, challenge.to) == (ContactKind.PHONE, NEW_PHONE)

    page = web.get(f"{PREFERENCES}/phone")
    assert "Enter the code we texted you" in page.text
    assert NEW_PHONE in page.text
    wrong = "000000" if challenge.secret != "000000" else "111111"
    refused = post_form(web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": wrong})
    assert refused.status_code == 422
    assert "That code is not right" in refused.text
    done = post_form(
        web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": challenge.secret}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"{PREFERENCES}?phone_confirmed=1"
    assert _stored(committed_engine, victim).phone_verified
    assert "Your phone number is confirmed" in web.get(done.headers["location"]).text
    with Session(committed_engine) as session:
        proof = session.exec(select(ContactProof).where(ContactProof.victim_id == victim.id)).one()
    assert (proof.kind, proof.method, proof.actor) == ("phone", "sms_code", "victim")


def test_wrong_codes_are_limited_and_a_new_code_can_be_asked_for(
    web: TestClient,
    committed_engine: Engine,
    courier: RecordingCourier,
    settings: Settings,
    clock: Clock,
) -> None:
    victim, _ = _signed_in(web, committed_engine)
    post_form(web, PREFERENCES, f"{PREFERENCES}/phone", {"phone": NEW_PHONE})
    [first] = courier.sent
    wrong = "000000" if first.secret != "000000" else "111111"
    for _ in range(settings.contact_code_max_attempts):
        post_form(web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": wrong})
    # Spent: even the right code no longer works.
    late = post_form(
        web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": first.secret}
    )
    assert late.status_code == 422
    assert "too many wrong tries" in late.text
    assert not _stored(committed_engine, victim).phone_verified

    again = post_form(web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/resend", {})
    assert again.headers["location"] == f"{PREFERENCES}/phone?resent=1"
    assert "We sent you a new code" in web.get(again.headers["location"]).text
    second = courier.sent[-1]
    assert second.challenge_id != first.challenge_id
    # Asking again at once sends nothing more: the code just sent is the one to type, and
    # the page says so rather than claiming a new one went out.
    soon = post_form(web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/resend", {})
    assert courier.sent[-1] == second
    assert soon.headers["location"] == f"{PREFERENCES}/phone?recent=1"
    page = web.get(soon.headers["location"]).text
    assert "We sent you a code a moment ago, so we did not send another." in page
    assert "We sent you a new code" not in page
    # Past the code's life, in steps a victim's activity keeps the session alive through.
    for _ in range(settings.contact_code_minutes // 10 + 1):
        clock.advance(minutes=10)
        assert web.get(f"{PREFERENCES}/phone").status_code == 200
    expired = post_form(
        web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": second.secret}
    )
    assert "This code has expired" in expired.text


def test_an_email_only_victim_adds_a_phone_and_then_chooses_text_messages(
    web: TestClient, committed_engine: Engine, courier: RecordingCourier
) -> None:
    victim, link = _signed_in(web, committed_engine)
    page = web.get(PREFERENCES).text
    assert "Add a phone number to get notices by text message" in page
    assert 'name="sms"' not in page  # no text-message choice without a phone number
    post_form(web, PREFERENCES, f"{PREFERENCES}/phone", {"phone": NEW_PHONE})
    post_form(
        web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/code", {"code": courier.sent[0].secret}
    )
    stored = _stored(committed_engine, victim)
    assert (stored.email_verified, stored.phone_verified) == (True, True)
    assert 'name="sms"' in web.get(PREFERENCES).text
    post_form(web, PREFERENCES, f"{PREFERENCES}/cases/{link.case_id}", {"email": "on", "sms": "on"})
    with Session(committed_engine) as session:
        chosen = session.get_one(VictimCaseLink, link.id)
    assert (chosen.notify_email, chosen.notify_sms) == (True, True)


def test_a_changed_email_address_gets_a_link_and_receives_nothing_until_confirmed(
    web: TestClient, committed_engine: Engine, courier: RecordingCourier
) -> None:
    victim, link = _signed_in(web, committed_engine, phone="+15550100111", notify_sms=True)
    changed = post_form(web, PREFERENCES, f"{PREFERENCES}/email", {"email": "new@example.org"})
    assert changed.headers["location"] == f"{PREFERENCES}?link_sent=1"
    assert "We sent a confirmation link" in web.get(changed.headers["location"]).text
    [challenge] = courier.sent
    assert (challenge.kind, challenge.to) == (ContactKind.EMAIL, "new@example.org")
    # Notices go on to the proven phone only, until the new address is confirmed.
    with Session(committed_engine) as session:
        stored = session.get_one(Victim, victim.id)
        assert chosen_channels(session.get_one(VictimCaseLink, link.id), stored) == [Channel.SMS]
    # The emailed link's page, on the victims' layout, then its button.
    page = web.get("/self-service/confirm-email", params={"token": challenge.secret})
    assert "usa-banner" in page.text
    assert "Confirm my email address" in page.text
    done = web.post("/self-service/confirm-email", data={"token": challenge.secret})
    assert "Your email address is confirmed" in done.text
    assert _stored(committed_engine, victim).email_verified


def test_a_bad_contact_point_is_refused_in_words_and_changes_nothing(
    web: TestClient, committed_engine: Engine, courier: RecordingCourier
) -> None:
    victim, _ = _signed_in(web, committed_engine, language=Language.SPANISH)
    refused = post_form(web, PREFERENCES, f"{PREFERENCES}/phone", {"phone": "12"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    assert '<html lang="es"' in refused.text
    assert _stored(committed_engine, victim).phone is None
    assert courier.sent == []
    with Session(committed_engine) as session:
        assert session.exec(select(LiaisonTask)).all() == []


def test_an_unproven_number_with_no_code_sent_is_offered_one_not_told_it_was_sent(
    web: TestClient, committed_engine: Engine, courier: RecordingCourier
) -> None:
    # Registered by staff with a phone number nobody has proven, and no code ever texted.
    victim, _ = _signed_in(web, committed_engine, phone="+15550100111")
    with transaction(committed_engine) as session:
        stored = session.get_one(Victim, victim.id)
        stored.phone_verified = False
        session.add(stored)
    page = web.get(f"{PREFERENCES}/phone")
    assert page.status_code == 200
    assert "Confirm your phone number" in page.text
    assert "We have no code waiting for +15550100111" in page.text
    assert "We sent a text message" not in page.text
    assert 'name="code"' not in page.text  # nothing to type yet
    asked = post_form(web, f"{PREFERENCES}/phone", f"{PREFERENCES}/phone/resend", {})
    # The first code is not called a new one.
    assert asked.headers["location"] == f"{PREFERENCES}/phone"
    [challenge] = courier.sent
    assert challenge.to == "+15550100111"
    now_waiting = web.get(asked.headers["location"])
    assert "Enter the code we texted you" in now_waiting.text
    assert "We sent you a new code" not in now_waiting.text
    assert 'name="code"' in now_waiting.text
