"""The SMTP adapter against a real SMTP server (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.factories import booking, event
from tests.notify.servers import SMTP_PASSWORD, SMTP_USER, SmtpServer, smtp_server
from tests.notify.test_tasks import (
    NEVER_RENDERED,
    RELEASE_ADDRESS,
    VICTIM_EMAIL,
    claim_at,
    ingest,
    notifications,
    register,
)
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.adapters.base import DeliveryError, OutgoingEmail
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.adapters.smtp import SmtpEmailSender
from voice.notify.models import NotificationStatus
from voice.notify.tasks import WorkerContext, deliver_batch, run_once


def sender_for(server: SmtpServer, *, password: str = SMTP_PASSWORD) -> SmtpEmailSender:
    return SmtpEmailSender(
        host="127.0.0.1",
        port=server.port,
        username=SMTP_USER,
        password=SecretStr(password),
        starttls=True,
        timeout=10,
        ssl_context=server.client_context,
    )


def an_email(reference: str, to: str = VICTIM_EMAIL) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        sender="VOICE Office <no-reply@voice.example>",
        subject="VOICE notice",
        text="Plain words.",
        html="<p>Plain words.</p>",
        message_id=f"<{reference}.voice@voice.example>",
        reference=reference,
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def worker(engine: Engine, settings: Settings, policy: Policy, email: object) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=settings,
        policy=policy,
        email=email,  # type: ignore[arg-type]
        sms=MemorySmsSender(),
        worker_id="w-smtp",
    )


def test_notices_arrive_as_valid_mime_with_our_message_id_and_both_parts(
    smtp: SmtpServer, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    register(committed_engine, policy)
    ingest(committed_engine, policy, booking())
    release = event(
        "custody.released",
        occurred_at="2026-11-09T16:40:00Z",
        case={
            "custody_status": "released",
            "release_type": "order_of_supervision",
            "release_address": RELEASE_ADDRESS,
        },
        markings={"/case/release_address": "CUI//SP-PRVCY"},
    )
    ingest(committed_engine, policy, release)
    sender = sender_for(smtp)
    ctx = worker(committed_engine, settings, policy, sender)

    assert run_once(ctx) == 2
    sender.close()

    rows = notifications(committed_engine)
    assert [r.status for r in rows] == [NotificationStatus.SENT] * 2
    assert len(smtp.handler.received) == 2
    by_id = {r.message["Message-ID"]: r for r in smtp.handler.received}
    for row in rows:
        # The Message-ID is ours, derived from the reference, and it is what we stored.
        assert row.provider_ref == f"<n-{row.id:08d}.voice@voice.example>"
        received = by_id[row.provider_ref]
        assert received.tls  # the session went through STARTTLS before AUTH and DATA
        assert received.rcpt_tos == [VICTIM_EMAIL]
        assert received.mail_from == "no-reply@voice.example"
        message = received.message
        assert message["Subject"].startswith("VOICE notice")
        assert message.get_content_type() == "multipart/alternative"
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None
        assert html is not None
        for text in (message["Subject"], plain.get_content(), html.get_content()):
            for secret in NEVER_RENDERED:
                assert secret not in text
    release_mail = next(
        r.message for r in smtp.handler.received if "important" in r.message["Subject"]
    )
    release_html = release_mail.get_body(("html",))
    assert release_html is not None
    assert 'href="http://127.0.0.1:8000/ack/' in release_html.get_content()


def test_connections_are_kept_open_between_sends(smtp: SmtpServer) -> None:
    sender = sender_for(smtp)
    for n in range(5):
        sender.send(message=an_email(f"n-{n}"))
    sender.close()
    assert len(smtp.handler.received) == 5
    assert {r.connection for r in smtp.handler.received} == {1}


def test_smtp_down_then_up_delivers_everything_once(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    with smtp_server(start=False) as smtp:
        register(committed_engine, policy)
        for day in (3, 4, 5):
            ingest(committed_engine, policy, event(occurred_at=f"2026-11-0{day}T10:00:00Z"))
        ctx = worker(committed_engine, settings, policy, sender_for(smtp))

        assert run_once(ctx) == 3  # nobody listening: every send fails, retryably
        rows = notifications(committed_engine)
        assert {r.status for r in rows} == {NotificationStatus.CREATED}
        assert {r.last_error for r in rows} == {"smtp.ConnectionRefusedError"}
        assert smtp.handler.received == []

        smtp.start()
        later = max(r.next_attempt_at for r in rows) + timedelta(seconds=1)
        ids = claim_at(ctx, later)
        assert len(ids) == 3
        deliver_batch(ctx, ids)

        rows = notifications(committed_engine)
        assert {r.status for r in rows} == {NotificationStatus.SENT}
        assert {r.attempts for r in rows} == {2}
        ids_received = sorted(r.message["Message-ID"] for r in smtp.handler.received)
        assert ids_received == sorted(r.provider_ref or "" for r in rows)  # once each


def test_a_refused_recipient_is_permanent_and_opens_a_task(
    smtp: SmtpServer, committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    smtp.handler.refuse[VICTIM_EMAIL] = "550 5.1.1 No such user"
    register(committed_engine, policy)
    ingest(committed_engine, policy, booking())

    assert run_once(worker(committed_engine, settings, policy, sender_for(smtp))) == 1

    (row,) = notifications(committed_engine)
    assert row.status == NotificationStatus.PERMANENT_FAILURE
    assert row.last_error == "smtp.recipient.550"
    with transaction(committed_engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    assert task.kind == TaskKind.DELIVERY_FAILED
    assert task.notification_id == row.id


def test_a_4xx_refusal_is_retried(smtp: SmtpServer) -> None:
    smtp.handler.refuse[VICTIM_EMAIL] = "451 4.3.0 Try again later"
    with pytest.raises(DeliveryError) as error:
        sender_for(smtp).send(message=an_email("n-00000001"))
    assert error.value.retryable is True
    assert error.value.code == "smtp.recipient.451"


def test_a_refused_login_is_retryable_and_never_logs_the_password(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as error:
        sender_for(smtp, password="wrong-password-never-logged").send(message=an_email("n-1"))
    # Our configuration is wrong, not the victim's address: retry, then technical failure.
    assert error.value.retryable is True
    assert error.value.code == "smtp.auth.535"
    sender = sender_for(smtp)
    sender.send(message=an_email("n-2"))
    sender.close()
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert SMTP_PASSWORD not in logged
    assert "wrong-password-never-logged" not in logged
    assert "wrong-password-never-logged" not in str(error.value)


def test_a_dropped_connection_is_replaced(smtp: SmtpServer) -> None:
    sender = sender_for(smtp)
    sender.send(message=an_email("n-1"))
    # The server goes away and comes back: the pooled connection is dead.
    smtp.stop()
    smtp.start()
    with pytest.raises(DeliveryError) as error:
        sender.send(message=an_email("n-2"))
    assert error.value.retryable is True
    sender.send(message=an_email("n-2"))  # the retry opens a fresh connection
    sender.close()
    assert [r.message["Message-ID"] for r in smtp.handler.received] == [
        "<n-1.voice@voice.example>",
        "<n-2.voice@voice.example>",
    ]


def test_smtp_without_starttls_is_refused_by_a_server_that_requires_it(smtp: SmtpServer) -> None:
    sender = SmtpEmailSender(
        host="127.0.0.1",
        port=smtp.port,
        username=SMTP_USER,
        password=SecretStr(SMTP_PASSWORD),
        starttls=False,
        timeout=10,
    )
    with pytest.raises(DeliveryError) as error:
        sender.send(message=an_email("n-1"))
    assert error.value.retryable is True
    assert smtp.handler.received == []


def test_worker_alerts_staff_when_smtp_stays_down(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    with smtp_server(start=False) as smtp:
        register(committed_engine, policy)
        ingest(committed_engine, policy, booking())
        budget = settings.model_copy(update={"worker_max_attempts": 2})
        ctx = worker(committed_engine, budget, policy, sender_for(smtp))
        assert run_once(ctx) == 1
        ids = claim_at(ctx, utcnow() + timedelta(hours=2))
        assert deliver_batch(ctx, ids) == {ids[0]: NotificationStatus.TECHNICAL_FAILURE}
    with transaction(committed_engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    assert task.kind == TaskKind.DELIVERY_FAILED
    assert "technical-failure" in task.reason
