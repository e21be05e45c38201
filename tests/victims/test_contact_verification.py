"""Contact verification, through the API alone: register, prove the email address by its link
and the phone number by its code, ingest an event, and the notice reaches both.

The tests write nothing to the database themselves; the clock is the app's ``get_now``
dependency, moved by hand, so expiry never depends on how fast the run is.
"""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST, staff_session, victim_sign_in
from voice.app import create_app
from voice.config import Settings
from voice.disclosure.policy import Policy
from voice.victims.deps import get_now
from voice.worker import make_context, run_worker

EMAIL = "jane.doe@example.org"
PHONE = "+15550100199"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    async def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_client(committed_engine: Engine, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    app = create_app(settings, engine=committed_engine)
    app.dependency_overrides[get_now] = clock
    with TestClient(app) as client:
        yield client


def outbox(settings: Settings, channel: str, prefix: str) -> list[Path]:
    folder = settings.outbox_dir / channel
    # In the order sent: names end in the challenge's id, so a shorter name is an older one
    # ("-9" before "-10", which a plain sort would swap once ids reach two digits).
    found = folder.glob(f"{prefix}*") if folder.exists() else []
    return sorted(found, key=lambda path: (len(path.name), path.name))


def read_email(path: Path) -> tuple[Message, str]:
    message = email.message_from_bytes(path.read_bytes())
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return message, payload.decode(part.get_content_charset() or "utf-8")


def link_in(text: str) -> str:
    return next(word for word in text.split() if "/self-service/confirm-email?token=" in word)


def code_in(path: Path) -> str:
    body: str = json.loads(path.read_text())["body"]
    return next(w.strip(".,") for w in body.split() if w.strip(".,").isdigit())


def register(client: TestClient, csrf: dict[str, str], **extra: object) -> dict[str, object]:
    body = {"first_name": "Jane", "last_name": "Doe", "email": EMAIL, "phone": PHONE, **extra}
    answer = client.post("/api/v1/victims", json=body, headers=csrf)
    assert answer.status_code == 201, answer.text
    registered: dict[str, object] = answer.json()
    return registered


def test_a_victim_registered_through_the_api_proves_both_contact_points_and_is_notified(
    app_client: TestClient, settings: Settings, committed_engine: Engine, policy: Policy
) -> None:
    client = app_client
    csrf = staff_session(client, "liaison", sub="liaison-7")
    assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).status_code
    case_id = client.get("/api/v1/cases").json()["data"][0]["id"]

    registered = register(client, csrf)
    victim = registered["victim"]
    assert isinstance(victim, dict)
    assert (victim["email_verified"], victim["phone_verified"]) == (False, False)

    # The email: a link to the served address, a page that changes nothing, a button that does.
    [mail] = outbox(settings, "email", "verify-email-")
    message, text = read_email(mail)
    assert message["To"] == EMAIL
    url = urlparse(link_in(text))
    assert f"{url.scheme}://{url.netloc}" == settings.public_base_url
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    assert 'lang="en"' in page.text
    token = parse_qs(url.query)["token"][0]
    done = client.post(url.path, data={"token": token})
    assert done.status_code == 200
    assert "confirmed" in done.text
    again = client.post(url.path, data={"token": token})  # single use
    assert again.status_code == 400

    # The phone: a code by SMS, typed by the signed-in victim.
    [sms] = outbox(settings, "sms", "verify-phone-")
    assert json.loads(sms.read_text())["to"] == PHONE
    victim_auth = victim_sign_in(client, str(registered["victim_id"]), str(registered["pin"]))
    confirm = client.post(
        "/api/v1/self-service/contact-points/phone/confirm",
        json={"code": code_in(sms)},
        headers=victim_auth,
    )
    assert confirm.status_code == 204, confirm.text

    points = client.get(f"/api/v1/victims/{victim['id']}/contact-points").json()
    assert [(p["kind"], p["verified"]) for p in points["data"]] == [
        ("email", True),
        ("phone", True),
    ]
    assert [(p["kind"], p["method"], p["actor"]) for p in points["proofs"]] == [
        ("email", "email_link", "victim"),
        ("phone", "sms_code", "victim"),
    ]

    link = client.post(
        f"/api/v1/victims/{victim['id']}/links",
        json={"case_id": case_id, "notify_sms": True},
        headers=csrf,
    ).json()
    assert client.post(f"/api/v1/links/{link['id']}/verify", headers=csrf).status_code == 200

    released = factories.event(
        "custody.released",
        occurred_at="2026-11-09T16:40:00Z",
        case={"custody_status": "released", "release_type": "bond"},
    )
    assert client.post("/api/v1/events", json=released, headers=INGEST).status_code in (200, 201)
    worker = make_context(engine=committed_engine, settings=settings, policy=policy)
    run_worker(worker, stop=threading.Event(), once=True)

    sent = client.get(f"/api/v1/victims/{victim['id']}/notifications").json()["data"]
    assert sorted((n["channel"], n["status"]) for n in sent) == [
        ("email", "sent"),
        ("sms", "sent"),
    ]


def test_a_link_expires_by_the_apps_clock_and_a_resend_replaces_it(
    app_client: TestClient, settings: Settings, clock: Clock
) -> None:
    client = app_client
    csrf = staff_session(client, "liaison")
    victim = register(client, csrf, phone=None)["victim"]
    assert isinstance(victim, dict)
    [first] = outbox(settings, "email", "verify-email-")
    old_token = parse_qs(urlparse(link_in(read_email(first)[1])).query)["token"][0]

    clock.now += timedelta(hours=settings.contact_link_hours)
    expired = client.post("/api/v1/self-service/confirm-email", json={"token": old_token})
    assert expired.status_code == 400
    assert "expired" in expired.json()["detail"]

    resend = f"/api/v1/victims/{victim['id']}/contact-points/email/send-verification"
    assert client.post(resend, headers=csrf).status_code == 202
    [_, second] = outbox(settings, "email", "verify-email-")
    new_token = parse_qs(urlparse(link_in(read_email(second)[1])).query)["token"][0]
    assert (
        client.post("/api/v1/self-service/confirm-email", json={"token": old_token}).status_code
        == 400
    )
    assert (
        client.post("/api/v1/self-service/confirm-email", json={"token": new_token}).status_code
        == 204
    )
    # Proven: nothing left to send.
    assert client.post(resend, headers=csrf).status_code == 409


def test_wrong_codes_spend_the_code_and_a_changed_number_is_asked_again(
    app_client: TestClient, settings: Settings
) -> None:
    client = app_client
    csrf = staff_session(client, "liaison")
    registered = register(client, csrf, email=None, preferred_language="es")
    victim = registered["victim"]
    assert isinstance(victim, dict)
    [sms] = outbox(settings, "sms", "verify-phone-")
    assert "Su codigo es" in json.loads(sms.read_text())["body"]  # Spanish, GSM-7
    code = code_in(sms)
    wrong = "000000" if code != "000000" else "111111"
    auth = victim_sign_in(client, str(registered["victim_id"]), str(registered["pin"]))
    confirm = "/api/v1/self-service/contact-points/phone/confirm"
    for _ in range(settings.contact_code_max_attempts):
        assert client.post(confirm, json={"code": wrong}, headers=auth).status_code == 400
    # Out of attempts: even the right code no longer works.
    assert client.post(confirm, json={"code": code}, headers=auth).status_code == 400

    changed = client.patch(
        f"/api/v1/victims/{victim['id']}", json={"phone": "+15550100777"}, headers=csrf
    )
    assert changed.json()["phone_verified"] is False
    [_, fresh] = outbox(settings, "sms", "verify-phone-")
    assert json.loads(fresh.read_text())["to"] == "+15550100777"
    assert client.post(confirm, json={"code": code_in(fresh)}, headers=auth).status_code == 204


def test_a_liaison_attests_a_contact_point_recording_who_when_and_how(
    app_client: TestClient, clock: Clock
) -> None:
    client = app_client
    csrf = staff_session(client, "liaison", sub="liaison-42")
    victim = register(client, csrf)["victim"]
    assert isinstance(victim, dict)
    attest = f"/api/v1/victims/{victim['id']}/contact-points/phone/attest"
    note = "Called the victim on this number; they confirmed it."
    answer = client.post(attest, json={"note": note}, headers=csrf)
    assert answer.status_code == 201, answer.text
    proof = answer.json()
    assert (proof["kind"], proof["method"], proof["actor"], proof["note"]) == (
        "phone",
        "staff_attestation",
        "liaison-42",
        note,
    )
    assert datetime.fromisoformat(proof["proven_at"]) == clock.now
    assert client.get(f"/api/v1/victims/{victim['id']}").json()["phone_verified"] is True
    assert client.post(attest, json={}, headers=csrf).status_code == 422
    bad_kind = f"/api/v1/victims/{victim['id']}/contact-points/fax/attest"
    assert client.post(bad_kind, json={"note": "x"}, headers=csrf).status_code == 422
    auditor = staff_session(client, "auditor")
    assert client.post(attest, json={"note": note}, headers=auditor).status_code == 403
