"""Deliveries to a real receiver that verifies each one with the standardwebhooks package."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests import factories
from tests.webhooks.helpers import add_endpoint, deliver, delivery, endpoint, ingest
from tests.webhooks.receiver import Answer, Receiver
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.webhooks import sender, service
from voice.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


def _booking() -> dict[str, object]:
    return factories.booking()


def test_a_delivery_verifies_with_standardwebhooks_and_matches_its_schema(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    _, secret = add_endpoint(committed_engine, wh_settings, receiver.url())
    receiver.secrets = [secret]
    [delivery_id] = ingest(committed_engine, policy, _booking())
    stats = deliver(committed_engine, wh_settings)
    assert stats.delivered == 1
    [got] = receiver.received
    assert got.verified == {secret: True}
    assert got.schema_valid
    assert got.headers["webhook-id"] == delivery(committed_engine, delivery_id).message_id
    payload = got.payload
    assert payload["type"] == "custody.booked"
    assert payload["data"]["subject"]["last_name"] == "Example"
    # Withheld by the partner policy: officer, notes, identifiers, dates of birth.
    for withheld in ("Officer J. Sample", "A200100101", "1988-04-12", "county jail"):
        assert withheld not in got.body.decode()
    assert delivery(committed_engine, delivery_id).status == DeliveryStatus.DELIVERED
    with Session(committed_engine) as session:
        [attempt] = session.exec(select(WebhookAttempt)).all()
    assert attempt.status_code == 204


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    endpoint_id, old = add_endpoint(committed_engine, wh_settings, receiver.url())
    start = utcnow()
    with transaction(committed_engine) as session:
        new, expires = service.rotate_secret(
            session=session,
            endpoint=session.get_one(WebhookEndpoint, endpoint_id),
            settings=wh_settings,
            now=start,
        )
    assert expires == start + timedelta(hours=24)
    receiver.secrets = [old, new]
    ingest(committed_engine, policy, _booking())
    deliver(committed_engine, wh_settings, now=start + timedelta(hours=23))
    assert receiver.received[-1].verified == {old: True, new: True}
    ingest(committed_engine, policy, factories.event("custody.transferred"))
    deliver(committed_engine, wh_settings, now=start + timedelta(hours=24, seconds=1))
    assert receiver.received[-1].verified == {old: False, new: True}
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 1


def test_retries_follow_the_schedule_with_full_jitter_then_fail(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    add_endpoint(committed_engine, wh_settings, receiver.url())
    [delivery_id] = ingest(committed_engine, policy, _booking())
    receiver.answer(*[Answer(503)] * sender.MAX_ATTEMPTS)
    now = utcnow()
    rng = random.Random(7)
    for attempt, step in enumerate((*sender.RETRY_SCHEDULE, None), start=1):
        stats = deliver(committed_engine, wh_settings, now=now, rng=rng)
        assert stats.claimed == 1
        row = delivery(committed_engine, delivery_id)
        assert row.attempts == attempt
        if step is None:
            assert row.status == DeliveryStatus.FAILED
            break
        assert row.status == DeliveryStatus.RETRYING
        assert now <= row.next_attempt_at <= now + step
        # Nothing is due a moment before the drawn time.
        early = row.next_attempt_at - timedelta(microseconds=1)
        assert deliver(committed_engine, wh_settings, now=early, rng=rng).claimed == 0
        now = row.next_attempt_at
    assert len(receiver.received) == sender.MAX_ATTEMPTS


@pytest.mark.parametrize("retry_after", ["120", "http-date"])
def test_retry_after_is_honoured(
    retry_after: str,
    committed_engine: Engine,
    policy: Policy,
    wh_settings: Settings,
    receiver: Receiver,
) -> None:
    from email.utils import format_datetime

    add_endpoint(committed_engine, wh_settings, receiver.url())
    [delivery_id] = ingest(committed_engine, policy, _booking())
    now = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    value = retry_after
    if value == "http-date":
        value = format_datetime(now + timedelta(seconds=120), usegmt=True)
    receiver.answer(Answer(429, {"Retry-After": value}))
    deliver(committed_engine, wh_settings, now=now)
    assert delivery(committed_engine, delivery_id).next_attempt_at == now + timedelta(seconds=120)


def test_a_410_disables_the_endpoint_and_raises_a_task(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    endpoint_id, _ = add_endpoint(committed_engine, wh_settings, receiver.url())
    [first] = ingest(committed_engine, policy, _booking())
    [_second] = ingest(
        committed_engine, policy, factories.booking(subject_id="S-2", case_number="C-2")
    )
    receiver.answer(Answer(410), Answer(410))
    deliver(committed_engine, wh_settings)
    assert endpoint(committed_engine, endpoint_id).status == EndpointStatus.DISABLED
    assert delivery(committed_engine, first).status == DeliveryStatus.FAILED
    with Session(committed_engine) as session:
        tasks = session.exec(select(LiaisonTask)).all()
    assert [t.kind for t in tasks] == [TaskKind.WEBHOOK_ENDPOINT_DISABLED]
    # Nothing more goes to a disabled endpoint.
    ingest(committed_engine, policy, factories.event("custody.transferred"))
    assert deliver(committed_engine, wh_settings).claimed == 0


def test_five_days_of_failure_disable_the_endpoint_and_raise_a_task(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    endpoint_id, _ = add_endpoint(committed_engine, wh_settings, receiver.url())
    receiver.answer(*[Answer(500)] * 40)
    start = utcnow()
    for day in range(6):
        now = start + timedelta(days=day)
        ingest(committed_engine, policy, factories.booking(case_number=f"C-D{day}"), now=now)
        deliver(committed_engine, wh_settings, now=now)
        expected = EndpointStatus.DISABLED if day >= 5 else EndpointStatus.ACTIVE
        assert endpoint(committed_engine, endpoint_id).status == expected, day
    row = endpoint(committed_engine, endpoint_id)
    assert row.disabled_reason == "every delivery failed for five days"
    with Session(committed_engine) as session:
        [task] = session.exec(select(LiaisonTask)).all()
    assert task.kind == TaskKind.WEBHOOK_ENDPOINT_DISABLED
    assert "ops@partner.example" not in task.reason


@pytest.mark.parametrize("status", [400, 401, 404, 422, 301, 302, 307])
def test_other_4xx_and_redirects_fail_without_retry(
    status: int,
    committed_engine: Engine,
    policy: Policy,
    wh_settings: Settings,
    receiver: Receiver,
) -> None:
    add_endpoint(committed_engine, wh_settings, receiver.url())
    [delivery_id] = ingest(committed_engine, policy, _booking())
    receiver.answer(Answer(status, {"Location": receiver.url("/elsewhere")}, b"x" * 5000))
    deliver(committed_engine, wh_settings)
    row = delivery(committed_engine, delivery_id)
    assert row.status == DeliveryStatus.FAILED
    assert [r.path for r in receiver.received] == ["/hooks"]  # the redirect was not followed
    with Session(committed_engine) as session:
        [attempt] = session.exec(select(WebhookAttempt)).all()
    assert attempt.status_code == status
    assert attempt.response_body == "x" * 1024


def test_per_case_order_holds_while_other_cases_go_ahead(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    add_endpoint(committed_engine, wh_settings, receiver.url())
    [booked] = ingest(committed_engine, policy, _booking())
    [released] = ingest(committed_engine, policy, factories.event("custody.released"))
    receiver.answer(Answer(503))
    now = utcnow()
    deliver(committed_engine, wh_settings, now=now)
    # The booking failed; the release waits behind it.
    assert delivery(committed_engine, booked).status == DeliveryStatus.RETRYING
    assert delivery(committed_engine, released).status == DeliveryStatus.PENDING
    # Another case is not held up by this one.
    other_case = factories.booking(subject_id="S-9", case_number="C-9")
    [other] = ingest(committed_engine, policy, other_case, now=now)
    assert deliver(committed_engine, wh_settings, now=now).claimed == 1
    assert delivery(committed_engine, other).status == DeliveryStatus.DELIVERED
    later = now + timedelta(hours=1)
    deliver(committed_engine, wh_settings, now=later)
    deliver(committed_engine, wh_settings, now=later)
    types = [r.payload["type"] for r in receiver.received]
    assert types == ["custody.booked", "custody.booked", "custody.booked", "custody.released"]
    assert delivery(committed_engine, released).status == DeliveryStatus.DELIVERED


def test_replay_of_one_and_of_failed_since(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    endpoint_id, _ = add_endpoint(committed_engine, wh_settings, receiver.url())
    [first] = ingest(committed_engine, policy, _booking())
    [second] = ingest(
        committed_engine, policy, factories.booking(subject_id="S-3", case_number="C-3")
    )
    receiver.answer(Answer(400), Answer(400))
    deliver(committed_engine, wh_settings)
    assert delivery(committed_engine, first).status == DeliveryStatus.FAILED
    with transaction(committed_engine) as session:
        row = session.get_one(WebhookDelivery, first)
        service.replay(session=session, delivery=row)
        with pytest.raises(service.WebhookError):
            service.replay(session=session, delivery=row)
    deliver(committed_engine, wh_settings)
    assert delivery(committed_engine, first).status == DeliveryStatus.DELIVERED
    with transaction(committed_engine) as session:
        count = service.replay_failed_since(
            session=session, endpoint_id=endpoint_id, since=utcnow() - timedelta(hours=1)
        )
    assert count == 1
    deliver(committed_engine, wh_settings)
    assert delivery(committed_engine, second).status == DeliveryStatus.DELIVERED
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids.count(delivery(committed_engine, first).message_id) == 2


def test_a_correction_goes_only_to_endpoints_that_were_sent_the_event(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    add_endpoint(committed_engine, wh_settings, receiver.url("/told"))
    add_endpoint(committed_engine, wh_settings, receiver.url("/later"), ["custody.released"])
    add_endpoint(committed_engine, wh_settings, receiver.url("/other"), ["case.closed"])
    booking = _booking()
    [sent] = ingest(committed_engine, policy, booking)
    deliver(committed_engine, wh_settings)
    release = factories.event("custody.released")
    queued = ingest(committed_engine, policy, release)
    assert len(queued) == 2  # /told and /later; neither has tried it yet
    correction = factories.event("correction", corrects=booking["source_event_id"])
    corrections = ingest(committed_engine, policy, correction)
    assert len(corrections) == 1
    deliver(committed_engine, wh_settings)
    deliver(committed_engine, wh_settings)
    last = receiver.received[-1]
    assert last.path == "/told"
    assert last.schema_valid
    assert last.payload["type"] == "correction"
    assert last.payload["data"]["retracts"] == {
        "message_id": delivery(committed_engine, sent).message_id,
        "event_type": "custody.booked",
    }
    assert [r.path for r in receiver.received if r.payload["type"] == "correction"] == ["/told"]


def test_no_personal_data_or_bodies_in_the_logs(
    committed_engine: Engine,
    policy: Policy,
    wh_settings: Settings,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    add_endpoint(committed_engine, wh_settings, receiver.url("/hooks?token=s3cr3t"))
    ingest(committed_engine, policy, _booking())
    receiver.answer(Answer(500, body=b"partner says Ramon Example"))
    deliver(committed_engine, wh_settings)
    deliver(committed_engine, wh_settings, now=utcnow() + timedelta(minutes=1))
    assert len(receiver.received) == 2
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "webhook delivery" in text
    for secret in ("Ramon", "Example", "ops@partner.example", "s3cr3t", "whsec_", "Sampletown"):
        assert secret not in text
    with Session(committed_engine) as session:
        attempts = session.exec(select(WebhookAttempt).order_by(col(WebhookAttempt.id))).all()
    assert attempts[0].response_body == "partner says Ramon Example"
