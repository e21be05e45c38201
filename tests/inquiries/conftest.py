"""Fixtures for the inquiry tests: an app whose provider credentials are known, a registrant with
a proven phone and email on a verified link, and a worker with in-memory adapters."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import time
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from twilio.request_validator import RequestValidator

from tests.factories import booking, case_of, victim_with_link
from tests.notify.servers import TWILIO_SID, TWILIO_TOKEN
from voice import migrate
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.inquiries import directory
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender
from voice.notify.context import WorkerContext

PUBLIC = "https://voice.example"
MAILGUN_KEY = "mailgun-signing-key-for-tests"
SENDGRID_TOKEN = "sendgrid-parse-password-for-tests"
VICTIM_PHONE = "+15550123456"
VICTIM_EMAIL = "vera@example.invalid"


@dataclass(frozen=True)
class Registrant:
    victim_id: int
    link_id: int
    case_id: int
    victim_code: str
    pin: str


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "public_base_url": PUBLIC,
            "mailgun_signing_key": SecretStr(MAILGUN_KEY),
            "sendgrid_inbound_token": SecretStr(SENDGRID_TOKEN),
        }
    )


@pytest.fixture
def client(committed_engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, engine=committed_engine)) as client:
        yield client


@pytest.fixture
def registrant(committed_engine: Engine, policy: Policy) -> Registrant:
    """A booked case and a verified registrant of it, with a proven phone and email."""
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        victim, link, pin = victim_with_link(
            session, case_of(session), email=VICTIM_EMAIL, phone=VICTIM_PHONE, notify_sms=True
        )
        assert victim.id
        assert link.id
        assert victim.victim_code
        return Registrant(victim.id, link.id, link.case_id, victim.victim_code, pin)


def _seed_templates() -> tuple[tuple[str, str, str, str], ...]:
    """The answer templates migration 0008 writes in."""
    path = migrate.migrations_dir() / "versions" / "20261127_inquiries.py"
    spec = importlib.util.spec_from_file_location("inquiries_migration", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seeds: tuple[tuple[str, str, str, str], ...] = module.SEED_TEMPLATES
    return seeds


@pytest.fixture(autouse=True)
def answer_templates(committed_engine: Engine) -> None:
    """The migration's templates, again: tests that commit empty every table after them."""
    with transaction(committed_engine) as session:
        for key, language, title, body in _seed_templates():
            directory.save_template(
                session=session, key=key, language=language, title=title, body=body, by="tests"
            )


@pytest.fixture
def ctx(committed_engine: Engine, app_settings: Settings, policy: Policy) -> WorkerContext:
    return WorkerContext(
        engine=committed_engine,
        settings=app_settings,
        policy=policy,
        email=MemoryEmailSender(),
        sms=MemorySmsSender(),
        worker_id="w-inquiries",
    )


def text_in(
    client: TestClient, body: str, sender: str = VICTIM_PHONE, sid: str = "SM0001"
) -> httpx.Response:
    """A free-text SMS, posted the way Twilio posts it, signed with the account's token."""
    params = {"From": sender, "To": "+15550100000", "Body": body, "MessageSid": sid}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC + "/callbacks/sms/inbound", params
    )
    response: httpx.Response = client.post(
        "/callbacks/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}
    )
    return response


def mailgun_post(
    client: TestClient,
    *,
    sender: str,
    text: str,
    in_reply_to: str | None = None,
    token: str = "t" * 50,
    timestamp: int | None = None,
    key: str = MAILGUN_KEY,
) -> httpx.Response:
    """A parsed inbound email as Mailgun forwards it, signed with the webhook signing key."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    headers = [["From", sender], ["Message-Id", f"<{token[:12]}@mail.example.net>"]]
    if in_reply_to:
        headers.append(["In-Reply-To", in_reply_to])
    form = {
        "timestamp": stamp,
        "token": token,
        "signature": signature,
        "from": sender,
        "sender": sender,
        "recipient": "replies@voice.example",
        "subject": "Re: A notice from VOICE",
        "body-plain": text + "\n\nOn Mon, Nov 9, 2026 VOICE wrote:\n> the notice",
        "stripped-text": text,
        "message-headers": json.dumps(headers),
    }
    response: httpx.Response = client.post("/callbacks/email/inbound/mailgun", data=form)
    return response


def sendgrid_post(
    client: TestClient, *, sender: str, text: str, password: str = SENDGRID_TOKEN
) -> httpx.Response:
    auth = b64encode(f"parse:{password}".encode()).decode()
    raw_headers = (
        f"From: {sender}\r\nMessage-ID: <sg-1@mail.example.net>\r\nSubject: Re: notice\r\n"
    )
    files = {
        "from": (None, sender),
        "to": (None, "replies@voice.example"),
        "subject": (None, "Re: notice"),
        "text": (None, text + "\n\n> quoted notice"),
        "headers": (None, raw_headers),
    }
    response: httpx.Response = client.post(
        "/callbacks/email/inbound/sendgrid", files=files, headers={"Authorization": f"Basic {auth}"}
    )
    return response
