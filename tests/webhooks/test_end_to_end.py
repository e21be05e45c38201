"""From an upstream event to a verified delivery at the partner's receiver, through the API,
the ingest transaction, the one door and the worker; and the correction that follows it."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests import factories
from tests.identity import INGEST, staff_session
from tests.webhooks.receiver import Receiver
from voice.app import create_app
from voice.audit.models import DisclosureRecord, RecipientReference
from voice.config import Settings
from voice.disclosure.policy import Policy
from voice.webhooks.models import WebhookDelivery
from voice.worker import make_context, run_worker


def _drain(engine: Engine, settings: Settings, policy: Policy) -> None:
    ctx = make_context(engine=engine, settings=settings, policy=policy)
    run_worker(ctx, stop=threading.Event(), once=True)


def test_an_event_reaches_the_partner_signed_released_and_accounted_for(
    committed_engine: Engine, policy: Policy, wh_settings: Settings, receiver: Receiver
) -> None:
    with TestClient(create_app(wh_settings, engine=committed_engine)) as client:
        csrf = staff_session(client, "admin")
        created = client.post(
            "/api/v1/webhook-endpoints",
            json={
                "url": receiver.url(),
                "partner_name": "State VINE",
                "partner_contact": "ops@partner.example",
                "event_types": ["custody.booked", "custody.released", "correction"],
            },
            headers=csrf,
        ).json()
        receiver.secrets = [created["secret"]]
        booking = factories.booking()
        booking["case"]["officer_name"] = "Officer Withheld"
        assert client.post("/api/v1/events", json=booking, headers=INGEST).status_code == 201
        release = factories.event("custody.released", source_event_id="t-rel")
        release["case"]["release_address"] = "1 Secret Way"
        assert client.post("/api/v1/events", json=release, headers=INGEST).status_code == 201
        with Session(committed_engine) as session:
            # Written in the ingest transaction, one per subscribed endpoint and event.
            queued = session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))
            assert [d.event_type for d in queued] == ["custody.booked", "custody.released"]

        _drain(committed_engine, wh_settings, policy)
        assert [r.payload["type"] for r in receiver.received] == [
            "custody.booked",
            "custody.released",
        ]
        for received in receiver.received:
            assert received.verified == {created["secret"]: True}
            assert received.schema_valid
            assert b"Officer Withheld" not in received.body
            assert b"Secret Way" not in received.body
            assert b"@" not in received.body  # nothing about a registrant, ever

        correction = factories.event(
            "correction", source_event_id="t-fix", corrects=release["source_event_id"]
        )
        assert client.post("/api/v1/events", json=correction, headers=INGEST).is_success
        _drain(committed_engine, wh_settings, policy)
        last = receiver.received[-1].payload
        assert last["type"] == "correction"
        assert last["data"]["retracts"]["message_id"] == receiver.received[1].headers["webhook-id"]

    with Session(committed_engine) as session:
        partner_refs = session.exec(
            select(RecipientReference.ref).where(RecipientReference.recipient_kind == "partner")
        ).all()
        records = session.exec(
            select(DisclosureRecord).where(col(DisclosureRecord.recipient_ref).in_(partner_refs))
        ).all()
    assert [(r.channel, r.audience) for r in records] == [("webhook", "partner")] * 3
    assert all("case.officer_name" not in r.fields_released for r in records)
