"""Every channel, end to end: a signed Twilio text, a signed Mailgun post, a SendGrid parse post
with its password, the self-service form, and staff logging a phone call."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.identity import staff_session, victim_sign_in
from tests.inquiries.conftest import (
    VICTIM_EMAIL,
    VICTIM_PHONE,
    Registrant,
    mailgun_post,
    sendgrid_post,
    text_in,
)
from voice.inquiries.models import Inquiry, InquiryEntry
from voice.pii import keyring


def inquiries(engine: Engine) -> list[Inquiry]:
    with Session(engine) as session:
        return list(session.exec(select(Inquiry).order_by(col(Inquiry.id))).all())


def bodies(engine: Engine, inquiry_id: int | None) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(InquiryEntry)
            .where(InquiryEntry.inquiry_id == inquiry_id)
            .order_by(col(InquiryEntry.id))
        )
        return [entry.body for entry in rows]


def test_a_free_text_sms_from_a_registrant_becomes_their_inquiry_and_stays_encrypted(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    response = text_in(client, "When is the hearing for my case?")
    assert response.status_code == 200
    assert "We received your message" in response.text
    (inquiry,) = inquiries(committed_engine)
    assert (inquiry.channel, inquiry.category, inquiry.status) == ("sms", "hearing", "new")
    assert (inquiry.victim_id, inquiry.case_id) == (registrant.victim_id, registrant.case_id)
    assert bodies(committed_engine, inquiry.id) == ["When is the hearing for my case?"]
    # At rest the question and the sender are ciphertext.
    with committed_engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT body FROM inquiry_entry").scalar_one()
        sender = connection.exec_driver_sql("SELECT sender_address FROM inquiry").scalar_one()
    assert "hearing" not in stored
    assert VICTIM_PHONE not in sender
    # A follow-up joins the open inquiry; a provider's retry of the same text lands once.
    text_in(client, "Also: is he still in custody?", sid="SM0002")
    text_in(client, "Also: is he still in custody?", sid="SM0002")
    assert len(inquiries(committed_engine)) == 1
    assert len(bodies(committed_engine, inquiry.id)) == 2


def test_keywords_are_not_inquiries(client: TestClient, registrant: Registrant) -> None:
    assert "no more texts" in text_in(client, "STOP").text
    assert "again" in text_in(client, "START", sid="SM0003").text
    assert "<Message>" in text_in(client, "HELP", sid="SM0004").text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(Inquiry)).first() is None


def test_an_unsigned_text_is_refused(client: TestClient, committed_engine: Engine) -> None:
    response = client.post(
        "/callbacks/sms/inbound", data={"From": VICTIM_PHONE, "Body": "hello", "MessageSid": "x"}
    )
    assert response.status_code == 403
    assert inquiries(committed_engine) == []


def test_a_reply_to_a_notice_email_through_mailgun(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    response = mailgun_post(
        client, sender=f"Vera <{VICTIM_EMAIL}>", text="Is he going to be released?"
    )
    assert response.status_code == 204
    (inquiry,) = inquiries(committed_engine)
    assert (inquiry.channel, inquiry.category) == ("email", "custody_or_release")
    assert inquiry.victim_id == registrant.victim_id
    # Only the new text is kept, not the quoted notice.
    assert bodies(committed_engine, inquiry.id) == ["Is he going to be released?"]
    # Mailgun retries the same post: it lands once.
    assert mailgun_post(client, sender=VICTIM_EMAIL, text="Is he going to be released?").is_success
    assert len(bodies(committed_engine, inquiry.id)) == 1


def test_mailgun_posts_without_a_good_signature_or_fresh_timestamp_are_refused(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    assert mailgun_post(client, sender=VICTIM_EMAIL, text="hi", key="wrong").status_code == 403
    stale = int(time.time()) - 3600
    assert mailgun_post(client, sender=VICTIM_EMAIL, text="hi", timestamp=stale).status_code == 403
    assert inquiries(committed_engine) == []


def test_a_sendgrid_parse_post_needs_its_password(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    refused = sendgrid_post(client, sender=VICTIM_EMAIL, text="hello", password="nope")
    assert refused.status_code == 403
    assert inquiries(committed_engine) == []
    accepted = sendgrid_post(client, sender=VICTIM_EMAIL, text="Where is he held now?")
    assert accepted.status_code == 204
    (inquiry,) = inquiries(committed_engine)
    assert inquiry.victim_id == registrant.victim_id
    assert bodies(committed_engine, inquiry.id) == ["Where is he held now?"]


def test_the_self_service_form_through_the_api(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    victim = victim_sign_in(client, registrant.victim_code, registrant.pin)
    response = client.post(
        "/api/v1/self-service/inquiries",
        json={"body": "Can I get counseling nearby?", "category": "victim_services"},
        headers=victim,
    )
    assert response.status_code == 201, response.text
    (inquiry,) = inquiries(committed_engine)
    assert (inquiry.channel, inquiry.category, inquiry.priority) == (
        "web",
        "victim_services",
        "normal",
    )
    assert inquiry.case_id == registrant.case_id
    mine = client.get("/api/v1/self-service/inquiries", headers=victim).json()
    assert mine["data"][0]["items"] == [
        {
            "who": "you",
            "body": "Can I get counseling nearby?",
            "at": mine["data"][0]["items"][0]["at"],
        }
    ]
    # Not one of their cases: refused.
    other = client.post(
        "/api/v1/self-service/inquiries", json={"body": "x", "case_id": 999}, headers=victim
    )
    assert other.status_code == 422


def test_staff_log_a_phone_call(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    csrf = staff_session(client, "liaison", sub="liaison-7")
    response = client.post(
        "/api/v1/inquiries/calls",
        json={
            "summary": "Caller asked when the removal will happen.",
            "category": "removal",
            "victim_id": registrant.victim_id,
            "case_id": registrant.case_id,
        },
        headers=csrf,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["channel"], body["priority"], body["victim_id"]) == (
        "phone",
        "high",
        registrant.victim_id,
    )
    thread = client.get(f"/api/v1/inquiries/{body['id']}").json()
    assert thread["entries"][0]["author"] == "liaison-7"
    # An unidentified caller is kept by the number they gave, and gets no case.
    anonymous = client.post(
        "/api/v1/inquiries/calls",
        json={
            "summary": "Wanted to comment.",
            "category": "unrelated_or_commentary",
            "caller_phone": "+1 555 010 9999",
            "case_id": registrant.case_id,
        },
        headers=csrf,
    )
    assert anonymous.status_code == 422
    logged = client.post(
        "/api/v1/inquiries/calls",
        json={
            "summary": "Wanted to comment.",
            "category": "unrelated_or_commentary",
            "caller_phone": "+1 555 010 9999",
        },
        headers=csrf,
    ).json()
    assert (logged["victim_id"], logged["case_id"]) == (None, None)
    assert logged["sender_address"] == "+15550109999"
    with Session(committed_engine) as session:
        row = session.get_one(Inquiry, logged["id"])
        assert row.sender_bidx == keyring.active().blind_index("+15550109999", kind="phone")
