"""Texts from victims (STOP, START, HELP, YES), acknowledgement by link and self-service, and
escalation of critical notices nobody acknowledged."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select
from twilio.request_validator import RequestValidator

from tests import identity
from tests.factories import booking, case_of, event, victim_with_link
from tests.notify.servers import TWILIO_SID, TWILIO_TOKEN
from tests.notify.test_tasks import (
    VICTIM_PHONE,
    FailingEmailSender,
    RecordingEmailSender,
    RecordingSmsSender,
    ingest,
    notifications,
    register,
)
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.adapters.base import DeliveryError
from voice.notify.escalation import run_periodic
from voice.notify.models import NoticeAcknowledgement, NotificationStatus
from voice.notify.tasks import WorkerContext, run_once
from voice.victims.models import Language

PUBLIC = "https://voice.example"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "public_base_url": PUBLIC,
        }
    )


@pytest.fixture
def client(committed_engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, engine=committed_engine)) as client:
        yield client


@pytest.fixture
def outboxes() -> tuple[RecordingEmailSender, RecordingSmsSender]:
    return RecordingEmailSender(), RecordingSmsSender()


@pytest.fixture
def ctx(
    committed_engine: Engine,
    app_settings: Settings,
    policy: Policy,
    outboxes: tuple[RecordingEmailSender, RecordingSmsSender],
) -> WorkerContext:
    return WorkerContext(
        engine=committed_engine,
        settings=app_settings,
        policy=policy,
        email=outboxes[0],
        sms=outboxes[1],
        worker_id="w-ack",
    )


def text_in(client: TestClient, body: str, sender: str = VICTIM_PHONE) -> httpx.Response:
    params = {"From": sender, "To": "+15550100000", "Body": body, "MessageSid": "SMin"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC + "/callbacks/sms/inbound", params
    )
    response: httpx.Response = client.post(
        "/callbacks/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}
    )
    return response


def reply(response: httpx.Response) -> str | None:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    text = response.text
    if "<Message>" not in text:
        assert text.endswith("<Response></Response>")
        return None
    return text.split("<Message>", 1)[1].split("</Message>", 1)[0]


def released(**kwargs: object) -> dict[str, object]:
    return event(
        "custody.released",
        occurred_at="2026-11-09T16:40:00Z",
        case={"custody_status": "released", "release_type": "bond"},
        **kwargs,  # type: ignore[arg-type]
    )


def acknowledgements(engine: Engine) -> list[NoticeAcknowledgement]:
    with transaction(engine) as session:
        return list(session.exec(select(NoticeAcknowledgement)).all())


# ----------------------------------------------------------------------------- STOP / START


@pytest.mark.parametrize("word", ["STOP", "unsubscribe", " End ", "QUIT", "cancel."])
def test_stop_opts_out_at_once_with_one_confirmation(
    word: str,
    client: TestClient,
    ctx: WorkerContext,
    policy: Policy,
    outboxes: tuple[RecordingEmailSender, RecordingSmsSender],
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(ctx.engine, policy, booking())  # queued: one email, one text

    first = reply(text_in(client, word))
    assert first is not None
    assert "no more texts" in first
    assert reply(text_in(client, word)) is None  # one confirmation, not two

    run_once(ctx)
    by_channel = {n.channel: n for n in notifications(ctx.engine)}
    assert by_channel["sms"].status == NotificationStatus.CANCELLED
    assert by_channel["sms"].last_error == "contact point suppressed"
    assert by_channel["email"].status == NotificationStatus.SENT
    assert outboxes[1].calls == []
    # Later notices are not even queued for the opted-out number.
    receipt = ingest(ctx.engine, policy, event(occurred_at="2026-11-05T10:00:00Z"))
    assert receipt.notifications == 1


def test_start_opts_back_in_and_help_names_the_office(
    client: TestClient, ctx: WorkerContext, policy: Policy, app_settings: Settings
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True, language=Language.SPANISH)
    assert reply(text_in(client, "STOP")) is not None
    started = reply(text_in(client, "START"))
    assert started is not None
    assert "Volvera a recibir" in started  # in their language, in GSM-7
    assert reply(text_in(client, "START")) is None
    helped = reply(text_in(client, "help"))
    assert helped is not None
    assert app_settings.office_contact in helped
    # Free text is a question for staff (voice.inquiries): acknowledged, in their language.
    received = reply(text_in(client, "what is this"))
    assert received is not None
    assert received.startswith("VOICE: Recibimos su mensaje")
    receipt = ingest(ctx.engine, policy, booking())
    assert receipt.notifications == 2  # email and text again


# ----------------------------------------------------------------------------- acknowledging


def test_yes_acknowledges_the_latest_critical_notice(
    client: TestClient, ctx: WorkerContext, policy: Policy
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(ctx.engine, policy, booking())
    assert reply(text_in(client, "YES")) is not None  # nothing to acknowledge yet
    assert acknowledgements(ctx.engine) == []

    receipt = ingest(ctx.engine, policy, released())
    run_once(ctx)
    text = reply(text_in(client, "yes"))
    assert text is not None
    assert "Thank you" in text
    (ack,) = acknowledgements(ctx.engine)
    assert ack.event_id == receipt.event_id
    assert ack.via == "sms"
    again = reply(text_in(client, "Y"))
    assert again is not None
    assert "no notice waiting" in again
    assert len(acknowledgements(ctx.engine)) == 1


def test_the_signed_email_link_acknowledges_on_post_only(
    client: TestClient,
    ctx: WorkerContext,
    policy: Policy,
    outboxes: tuple[RecordingEmailSender, RecordingSmsSender],
) -> None:
    register(ctx.engine, policy)
    receipt = ingest(ctx.engine, policy, released())
    run_once(ctx)
    (mail,) = outboxes[0].calls
    link = next(word for word in mail.text.split() if word.startswith(PUBLIC + "/ack/"))
    path = urlparse(link).path

    page = client.get(path)
    assert page.status_code == 200
    assert "<form" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert acknowledgements(ctx.engine) == []  # a mail scanner's GET acknowledges nothing

    done = client.post(path)
    assert done.status_code == 200
    assert "Thank you" in done.text
    (ack,) = acknowledgements(ctx.engine)
    assert (ack.event_id, ack.via) == (receipt.event_id, "email_link")

    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.post(tampered).status_code == 400
    assert client.get("/ack/not-a-token").status_code == 400


def test_a_non_critical_email_has_no_acknowledgement_link(
    ctx: WorkerContext, policy: Policy, outboxes: tuple[RecordingEmailSender, RecordingSmsSender]
) -> None:
    register(ctx.engine, policy)
    ingest(ctx.engine, policy, booking())
    run_once(ctx)
    (mail,) = outboxes[0].calls
    assert "/ack/" not in mail.text
    assert mail.html is not None
    assert "/ack/" not in mail.html


def test_self_service_lists_and_acknowledges_pending_notices(
    client: TestClient, ctx: WorkerContext, policy: Policy
) -> None:
    ingest(ctx.engine, policy, booking())
    with transaction(ctx.engine) as session:
        victim, _, pin = victim_with_link(session, case_of(session))
    receipt = ingest(ctx.engine, policy, released())
    auth = identity.victim_sign_in(client, victim.victim_code, pin)
    assert client.get("/api/v1/self-service/notices", headers=auth).json()["count"] == 0

    run_once(ctx)
    pending = client.get("/api/v1/self-service/notices", headers=auth).json()
    assert pending["count"] == 1
    assert pending["data"][0]["event_id"] == receipt.event_id
    assert pending["data"][0]["event_type"] == "custody.released"

    url = f"/api/v1/self-service/notices/{receipt.event_id}/acknowledge"
    assert client.post(url, headers=auth).status_code == 204
    assert client.post(url, headers=auth).status_code == 404
    assert client.get("/api/v1/self-service/notices", headers=auth).json()["count"] == 0
    (ack,) = acknowledgements(ctx.engine)
    assert ack.via == "self_service"
    assert client.post(url).status_code == 401


# ----------------------------------------------------------------------------- escalation


def escalate(engine: Engine, settings: Settings, after: float) -> int:
    later = utcnow() + timedelta(seconds=after)
    with transaction(engine) as session:
        return run_periodic(session=session, settings=settings, now=later).escalated


def test_an_unacknowledged_critical_notice_escalates_once_after_the_timeout(
    ctx: WorkerContext, policy: Policy, app_settings: Settings
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(ctx.engine, policy, booking())  # not critical: never escalated
    receipt = ingest(ctx.engine, policy, released())
    run_once(ctx)
    timeout = app_settings.ack_escalation_seconds

    assert escalate(ctx.engine, app_settings, timeout - 60) == 0
    assert escalate(ctx.engine, app_settings, timeout + 1) == 1
    assert escalate(ctx.engine, app_settings, timeout + 120) == 0  # once only
    with transaction(ctx.engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    assert task.kind == TaskKind.UNACKNOWLEDGED_NOTICE
    assert task.event_id == receipt.event_id
    assert "call the victim" in task.reason


def test_an_acknowledged_notice_does_not_escalate(
    client: TestClient, ctx: WorkerContext, policy: Policy, app_settings: Settings
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    ingest(ctx.engine, policy, released())
    run_once(ctx)
    assert reply(text_in(client, "YES")) is not None
    assert escalate(ctx.engine, app_settings, app_settings.ack_escalation_seconds + 1) == 0


def test_a_critical_notice_that_never_went_out_escalates_too(
    ctx: WorkerContext, policy: Policy, app_settings: Settings
) -> None:
    register(ctx.engine, policy)
    ingest(ctx.engine, policy, released())
    failing = FailingEmailSender(DeliveryError("smtp.recipient.550", retryable=False))
    run_once(dataclasses.replace(ctx, email=failing))
    assert escalate(ctx.engine, app_settings, app_settings.ack_escalation_seconds + 1) == 1
