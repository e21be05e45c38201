"""Email bounces: a hard bounce marks the address invalid and opens a liaison task."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.factories import booking, event
from tests.notify.test_tasks import (
    VICTIM_EMAIL,
    RecordingEmailSender,
    RecordingSmsSender,
    ingest,
    notifications,
    register,
)
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.contacts import is_suppressed
from voice.notify.models import Channel, DeliveryReceipt, NotificationStatus
from voice.notify.tasks import WorkerContext, run_once

BOUNCE_TOKEN = "bounce-token-for-tests"


def dsn(message_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification as an MTA writes it (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.example\r\n"
        "To: no-reply@voice.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {VICTIM_EMAIL.upper()}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\n"
        "Subject: VOICE notice\r\n"
        "--B--\r\n"
    ).encode()


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"bounce_token": SecretStr(BOUNCE_TOKEN)})
    with TestClient(create_app(configured, engine=committed_engine)) as client:
        yield client


def sent_email(engine: Engine, settings: Settings, policy: Policy) -> str:
    """Send one email notice; return the Message-ID it went out with."""
    register(engine, policy)
    ingest(engine, policy, booking())
    outbox = RecordingEmailSender()
    run_once(
        WorkerContext(
            engine=engine,
            settings=settings,
            policy=policy,
            email=outbox,
            sms=RecordingSmsSender(),
            worker_id="w-bounce",
        )
    )
    (row,) = notifications(engine)
    assert row.status == NotificationStatus.SENT
    (mail,) = outbox.calls
    assert mail.message_id == f"<n-{row.id:08d}.voice@voice.example>"
    return mail.message_id


def post(client: TestClient, body: bytes, token: str | None = BOUNCE_TOKEN, **kw: str) -> int:
    headers = {"content-type": kw.get("content_type", "multipart/report")}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = client.post("/callbacks/email/bounce", content=body, headers=headers)
    return int(response.status_code)


def test_a_hard_bounce_suppresses_the_address_and_opens_one_task(
    client: TestClient, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = sent_email(committed_engine, settings, policy)

    assert post(client, dsn(message_id)) == 204
    assert post(client, dsn(message_id)) == 204  # a repeat opens no second task

    with transaction(committed_engine) as session:
        assert is_suppressed(session=session, channel=Channel.EMAIL, address=VICTIM_EMAIL)
        (task,) = session.exec(select(LiaisonTask)).all()
        receipts = session.exec(select(DeliveryReceipt)).all()
    assert task.kind == TaskKind.INVALID_CONTACT
    assert VICTIM_EMAIL not in task.reason  # ids and codes only
    assert VICTIM_EMAIL not in task.dedupe_key
    assert [(r.provider_status, r.error_code) for r in receipts] == [("bounce-hard", "5.1.1")] * 2
    # The notice stays ``sent`` (final), and the next one is not even queued for that address.
    assert [n.status for n in notifications(committed_engine)] == ["sent"]
    later = event("custody.transferred", occurred_at="2026-11-06T10:00:00Z")
    assert ingest(committed_engine, policy, later).notifications == 0


def test_a_soft_bounce_is_kept_and_changes_nothing(
    client: TestClient, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = sent_email(committed_engine, settings, policy)
    assert post(client, dsn(message_id, action="delayed", status="4.2.2")) == 204
    with transaction(committed_engine) as session:
        assert not is_suppressed(session=session, channel=Channel.EMAIL, address=VICTIM_EMAIL)
        assert session.exec(select(LiaisonTask)).all() == []
        (receipt,) = session.exec(select(DeliveryReceipt)).all()
    assert receipt.provider_status == "bounce-soft"


def test_a_json_bounce_from_a_provider(
    client: TestClient, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = sent_email(committed_engine, settings, policy)
    body = f'{{"message_id": "{message_id}", "type": "hard", "status": "5.1.1"}}'.encode()
    assert post(client, body, content_type="application/json") == 204
    with transaction(committed_engine) as session:
        assert is_suppressed(session=session, channel=Channel.EMAIL, address=VICTIM_EMAIL)


def test_bounces_need_the_token_and_a_readable_report(
    client: TestClient, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    message_id = sent_email(committed_engine, settings, policy)
    assert post(client, dsn(message_id), token=None) == 403
    assert post(client, dsn(message_id), token="wrong") == 403
    assert post(client, b"not a report") == 422
    assert post(client, b'{"type": "hard"}', content_type="application/json") == 422
    with transaction(committed_engine) as session:
        assert session.exec(select(DeliveryReceipt)).all() == []


def test_without_a_configured_token_every_bounce_is_refused(
    committed_engine: Engine, settings: Settings
) -> None:
    with TestClient(create_app(settings, engine=committed_engine)) as unconfigured:
        response = unconfigured.post(
            "/callbacks/email/bounce",
            content=dsn("<n-1.voice@voice.example>"),
            headers={"Authorization": "Bearer "},
        )
    assert response.status_code == 403
