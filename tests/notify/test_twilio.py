"""The Twilio-compatible SMS adapter against a local server speaking Twilio's Messages API,
and the signed status callbacks that finish what it started."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.datastructures import MultiDict
from twilio.request_validator import RequestValidator

from tests.factories import booking
from tests.notify.servers import TWILIO_SID, TWILIO_TOKEN, FakeTwilio, twilio_server
from tests.notify.test_tasks import (
    VICTIM_PHONE,
    claim_at,
    get_notification,
    ingest,
    notifications,
    register,
)
from voice.app import create_app
from voice.config import Settings, SmsAdapterKind
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.adapters import build_sms_sender
from voice.notify.adapters.base import DeliveryError, OutgoingSms
from voice.notify.adapters.memory import MemoryEmailSender
from voice.notify.adapters.safe import AllowListSmsSender
from voice.notify.adapters.twilio import TwilioSmsSender
from voice.notify.contacts import is_suppressed
from voice.notify.models import Channel, DeliveryReceipt, NotificationStatus
from voice.notify.signature import twilio_signature, valid_twilio_signature
from voice.notify.tasks import WorkerContext, deliver_batch, run_once

PUBLIC = "https://voice.example"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with twilio_server() as fake:
        yield fake


@pytest.fixture
def sms_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "public_base_url": PUBLIC,
        }
    )


def sender_for(fake: FakeTwilio, client: httpx.Client) -> TwilioSmsSender:
    return TwilioSmsSender(
        client=client,
        base_url=fake.base_url,
        account_sid=TWILIO_SID,
        auth_token=SecretStr(TWILIO_TOKEN),
        callback_base_url=PUBLIC,
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def worker(engine: Engine, settings: Settings, policy: Policy, sms: object) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=settings,
        policy=policy,
        email=MemoryEmailSender(),
        sms=sms,  # type: ignore[arg-type]
        worker_id="w-sms",
    )


def queue_one_sms(engine: Engine, policy: Policy) -> None:
    register(engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    with transaction(engine) as session:
        from voice.victims.models import VictimCaseLink

        link = session.exec(select(VictimCaseLink)).one()
        link.notify_email = False
        session.add(link)
    ingest(engine, policy, booking())


def sign(url: str, params: dict[str, str]) -> str:
    signature: str = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    return signature


# ----------------------------------------------------------------------------- the adapter


def test_a_send_is_a_form_post_with_basic_auth_and_a_status_callback(
    twilio: FakeTwilio, http: httpx.Client
) -> None:
    message = OutgoingSms(
        to=VICTIM_PHONE, sender="+15550100000", body="VOICE: hello", reference="n-00000007"
    )

    sid = sender_for(twilio, http).send(message=message)

    (request,) = twilio.requests
    assert sid == "SM" + "1".zfill(32)
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.form == {
        "To": VICTIM_PHONE,
        "From": "+15550100000",
        "Body": "VOICE: hello",
        "StatusCallback": f"{PUBLIC}/callbacks/sms/status?reference=n-00000007",
    }
    assert request.idempotency_key == "n-00000007"
    assert twilio.messages[sid]["body"] == "VOICE: hello"


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (404, False), (429, True), (500, True), (503, True)]
)
def test_answers_are_classified(
    status: int, retryable: bool, twilio: FakeTwilio, http: httpx.Client
) -> None:
    twilio.script = [status]
    message = OutgoingSms(to=VICTIM_PHONE, sender="+15550100000", body="x", reference="n-1")
    with pytest.raises(DeliveryError) as error:
        sender_for(twilio, http).send(message=message)
    assert error.value.retryable is retryable
    assert error.value.code.startswith(f"twilio.http_{status}")


def test_an_unreachable_provider_is_retryable(http: httpx.Client) -> None:
    with twilio_server() as fake:
        base = fake.base_url
    sender = TwilioSmsSender(
        client=http, base_url=base, account_sid=TWILIO_SID, auth_token=SecretStr(TWILIO_TOKEN)
    )
    message = OutgoingSms(to=VICTIM_PHONE, sender="+15550100000", body="x", reference="n-1")
    with pytest.raises(DeliveryError) as error:
        sender.send(message=message)
    assert error.value.retryable is True
    assert error.value.code == "twilio.ConnectError"


def test_the_auth_token_never_reaches_a_log(
    twilio: FakeTwilio, http: httpx.Client, caplog: pytest.LogCaptureFixture, sms_settings: Settings
) -> None:
    caplog.set_level(logging.DEBUG)
    message = OutgoingSms(to=VICTIM_PHONE, sender="+15550100000", body="x", reference="n-1")
    sender_for(twilio, http).send(message=message)
    twilio.script = [500]
    with pytest.raises(DeliveryError):
        sender_for(twilio, http).send(message=message)
    assert caplog.records  # httpx did log the requests
    assert TWILIO_TOKEN not in caplog.text
    assert TWILIO_TOKEN not in repr(sms_settings)
    assert TWILIO_TOKEN not in str(sms_settings.model_dump())
    assert TWILIO_TOKEN not in sms_settings.model_dump_json()


def test_the_builder_wraps_twilio_in_safe_test_mode(sms_settings: Settings) -> None:
    twilio_settings = sms_settings.model_copy(update={"sms_adapter": SmsAdapterKind.TWILIO})
    sender = build_sms_sender(twilio_settings)
    assert isinstance(sender, AllowListSmsSender)
    assert isinstance(sender.inner, TwilioSmsSender)
    assert sender.has_receipts is True
    with pytest.raises(DeliveryError) as error:
        sender.send(
            message=OutgoingSms(to="+442071234567", sender="+1555", body="x", reference="n-1")
        )
    assert error.value.code == "test-mode.recipient-not-allowed"
    assert error.value.retryable is False
    live = twilio_settings.model_copy(update={"safe_test_mode": False})
    assert isinstance(build_sms_sender(live), TwilioSmsSender)


# ----------------------------------------------------------------------------- the worker


def test_500_three_times_then_201_is_delivered_after_retries(
    committed_engine: Engine, sms_settings: Settings, policy: Policy, http: httpx.Client
) -> None:
    queue_one_sms(committed_engine, policy)
    with twilio_server(script=[500, 500, 500]) as fake:
        ctx = worker(committed_engine, sms_settings, policy, sender_for(fake, http))
        assert run_once(ctx) == 1
        for _ in range(3):
            (row,) = notifications(committed_engine)
            ids = claim_at(ctx, row.next_attempt_at + timedelta(seconds=1))
            deliver_batch(ctx, ids)

        (row,) = notifications(committed_engine)
        assert len(fake.requests) == 4
        assert len(fake.messages) == 1  # nothing sent twice
        # Handed over: sending, with the provider's SID, waiting for the receipt.
        assert row.status == NotificationStatus.SENDING
        assert row.claimed_by is None
        assert row.provider_ref == next(iter(fake.messages))
        assert row.attempts == 4


def test_400_is_a_permanent_failure_and_an_invalid_number(
    committed_engine: Engine, sms_settings: Settings, policy: Policy, http: httpx.Client
) -> None:
    queue_one_sms(committed_engine, policy)
    with twilio_server(script=[400]) as fake:
        assert run_once(worker(committed_engine, sms_settings, policy, sender_for(fake, http)))

    (row,) = notifications(committed_engine)
    assert row.status == NotificationStatus.PERMANENT_FAILURE
    assert row.last_error == "twilio.http_400.21211"
    with transaction(committed_engine) as session:
        kinds = sorted(t.kind for t in session.exec(select(LiaisonTask)).all())
        assert is_suppressed(session=session, channel=Channel.SMS, address=VICTIM_PHONE)
    assert kinds == [TaskKind.DELIVERY_FAILED, TaskKind.INVALID_CONTACT]


# ----------------------------------------------------------------------------- receipts


@pytest.fixture
def client(committed_engine: Engine, sms_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sms_settings, engine=committed_engine)) as client:
        yield client


def post_status(
    client: TestClient, reference: str, params: dict[str, str], signature: str | None = "auto"
) -> httpx.Response:
    path = f"/callbacks/sms/status?{urlencode({'reference': reference})}"
    headers = {}
    if signature == "auto":
        signature = sign(PUBLIC + path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response: httpx.Response = client.post(path, data=params, headers=headers)
    return response


def sent_sms(
    committed_engine: Engine, sms_settings: Settings, policy: Policy, http: httpx.Client
) -> tuple[int, str]:
    queue_one_sms(committed_engine, policy)
    with twilio_server() as fake:
        run_once(worker(committed_engine, sms_settings, policy, sender_for(fake, http)))
    (row,) = notifications(committed_engine)
    assert row.id is not None
    assert row.provider_ref is not None
    return row.id, row.provider_ref


def test_a_signed_delivered_receipt_delivers_and_a_final_status_never_changes(
    client: TestClient,
    committed_engine: Engine,
    sms_settings: Settings,
    policy: Policy,
    http: httpx.Client,
) -> None:
    notification_id, sid = sent_sms(committed_engine, sms_settings, policy, http)
    reference = f"n-{notification_id:08d}"

    sent = {"MessageSid": sid, "MessageStatus": "sent", "AccountSid": TWILIO_SID}
    assert post_status(client, reference, sent).status_code == 204
    assert get_notification(committed_engine, notification_id).status == "sending"

    delivered = {**sent, "MessageStatus": "delivered"}
    assert post_status(client, reference, delivered).status_code == 204
    assert get_notification(committed_engine, notification_id).status == "delivered"

    late = {**sent, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert post_status(client, reference, late).status_code == 204
    assert get_notification(committed_engine, notification_id).status == "delivered"
    with transaction(committed_engine) as session:
        receipts = session.exec(select(DeliveryReceipt).order_by(col(DeliveryReceipt.id))).all()
        assert [r.provider_status for r in receipts] == ["sent", "delivered", "undelivered"]
        assert session.exec(select(LiaisonTask)).all() == []


def test_unsigned_and_mis_signed_callbacks_are_refused(
    client: TestClient,
    committed_engine: Engine,
    sms_settings: Settings,
    policy: Policy,
    http: httpx.Client,
) -> None:
    notification_id, sid = sent_sms(committed_engine, sms_settings, policy, http)
    reference = f"n-{notification_id:08d}"
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    path = f"/callbacks/sms/status?reference={reference}"

    assert post_status(client, reference, params, signature=None).status_code == 403
    wrong_body = sign(PUBLIC + path, {**params, "MessageStatus": "failed"})
    assert post_status(client, reference, params, signature=wrong_body).status_code == 403
    wrong_url = sign("https://elsewhere.example" + path, params)
    assert post_status(client, reference, params, signature=wrong_url).status_code == 403
    wrong_key = RequestValidator("another-token").compute_signature(PUBLIC + path, params)
    assert post_status(client, reference, params, signature=wrong_key).status_code == 403
    assert client.post("/callbacks/sms/inbound", data={"From": VICTIM_PHONE}).status_code == 403

    assert get_notification(committed_engine, notification_id).status == "sending"


def test_a_receipt_that_beats_the_workers_commit_is_applied_by_the_worker(
    committed_engine: Engine, sms_settings: Settings, policy: Policy, http: httpx.Client
) -> None:
    from voice.notify.callbacks import receipts

    queue_one_sms(committed_engine, policy)
    with twilio_server() as fake:
        inner = sender_for(fake, http)

        class FastProvider:
            has_receipts = True

            def send(self, *, message: OutgoingSms) -> str:
                sid = inner.send(message=message)
                # The delivery receipt arrives before the worker has finished the row.
                with transaction(committed_engine) as session:
                    outcome = receipts.record_sms_receipt(
                        session=session,
                        reference=message.reference,
                        message_sid=sid,
                        status="delivered",
                        error_code=None,
                    )
                assert outcome is None  # still leased: kept, not applied
                return sid

        assert run_once(worker(committed_engine, sms_settings, policy, FastProvider())) == 1
    (row,) = notifications(committed_engine)
    assert row.status == NotificationStatus.DELIVERED


def test_an_undelivered_receipt_to_a_landline_marks_the_number_invalid(
    client: TestClient,
    committed_engine: Engine,
    sms_settings: Settings,
    policy: Policy,
    http: httpx.Client,
) -> None:
    notification_id, sid = sent_sms(committed_engine, sms_settings, policy, http)
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert post_status(client, f"n-{notification_id:08d}", params).status_code == 204
    assert get_notification(committed_engine, notification_id).status == "permanent-failure"
    with transaction(committed_engine) as session:
        assert is_suppressed(session=session, channel=Channel.SMS, address=VICTIM_PHONE)
        kinds = sorted(t.kind for t in session.exec(select(LiaisonTask)).all())
    assert kinds == [TaskKind.DELIVERY_FAILED, TaskKind.INVALID_CONTACT]


def test_a_notification_with_no_receipt_is_resolved_after_the_timeout(
    committed_engine: Engine, sms_settings: Settings, policy: Policy, http: httpx.Client
) -> None:
    from voice.notify.escalation import run_periodic

    notification_id, _ = sent_sms(committed_engine, sms_settings, policy, http)
    with transaction(committed_engine) as session:
        early = run_periodic(session=session, settings=sms_settings)
    assert early.timed_out == 0
    later = utcnow() + timedelta(seconds=sms_settings.receipt_timeout_seconds + 1)
    with transaction(committed_engine) as session:
        assert run_periodic(session=session, settings=sms_settings, now=later).timed_out == 1
    row = get_notification(committed_engine, notification_id)
    assert row.status == NotificationStatus.TEMPORARY_FAILURE
    assert row.last_error == "no receipt before the timeout"


# ----------------------------------------------------------------------------- signatures


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz/?=&-_.0123456789", max_size=40),
    params=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=8),
    token=st.text(min_size=1, max_size=40),
)
def test_our_signature_matches_twilios_request_validator(
    path: str, params: list[tuple[str, str]], token: str
) -> None:
    url = "https://voice.example/" + path
    validator = RequestValidator(token)
    # Twilio's validator takes a multi-valued mapping (a Django QueryDict, for instance).
    theirs = validator.compute_signature(url, MultiDict(params))
    assert twilio_signature(token, url, params) == theirs
    assert valid_twilio_signature(token, url, params, theirs)
    assert not valid_twilio_signature(token, url + "x", params, theirs)
