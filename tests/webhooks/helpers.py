"""Fixtures and helpers for the webhook tests: a real receiver, endpoints, queued events."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.webhooks.receiver import Receiver
from voice.cases.models import Case, CaseEvent, Subject
from voice.config import Environment, Settings
from voice.database import transaction
from voice.disclosure import holds
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import event_record
from voice.ingest import service as ingest_service
from voice.webhooks import catalogue, service, tasks
from voice.webhooks.models import EndpointCreate, WebhookDelivery, WebhookEndpoint
from voice.webhooks.service import PayloadFor


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def wh_settings(settings: Settings) -> Settings:
    # Plain http to a loopback receiver: development, with loopback allow-listed.
    return settings.model_copy(
        update={
            "environment": Environment.DEVELOPMENT,
            "webhook_allowed_networks": ["127.0.0.1/32"],
        }
    )


def partner_payload(session: Session, policy: Policy, event: CaseEvent) -> PayloadFor:
    """What the one door releases of ``event`` to a partner, shaped as the payload."""

    def payload_for(_endpoint: WebhookEndpoint) -> dict[str, Any] | None:
        subject = session.get_one(Subject, event.subject_id)
        case = session.get_one(Case, event.case_id)
        assert case.id is not None
        view = disclose(
            event_record(
                event, subject, case, safety_hold=holds.is_held(session=session, case_id=case.id)
            ),
            audience=Audience.PARTNER,
            policy=policy,
        )
        return catalogue.payload_from_view(
            event_type=event.event_type,
            case_id=case.id,
            view=view,
            emitted_at=event.received_at,
        )

    return payload_for


def add_endpoint(
    engine: Engine, settings: Settings, url: str, types: list[str] | None = None
) -> tuple[int, str]:
    with transaction(engine) as session:
        endpoint, secret = service.create_endpoint(
            session=session,
            endpoint_in=EndpointCreate(
                url=url,
                partner_name="State VINE",
                partner_contact="ops@partner.example",
                event_types=types or sorted(catalogue.NAMES),
            ),
            settings=settings,
        )
        assert endpoint.id is not None
        return endpoint.id, secret


def ingest(
    engine: Engine, policy: Policy, event: dict[str, Any], *, now: datetime | None = None
) -> list[int]:
    """Ingest ``event`` and queue its deliveries in the same transaction, as ingest will."""
    with transaction(engine) as session:
        ingest_service.ingest_event(session=session, candidate=event, policy=policy)
        stored = session.exec(
            select(CaseEvent).where(CaseEvent.source_event_id == event["source_event_id"])
        ).one()
        assert stored.id is not None
        if stored.event_type == catalogue.CORRECTION:
            retracted = session.exec(
                select(CaseEvent).where(CaseEvent.retracted_by_id == stored.id)
            ).one()
            assert retracted.id is not None
            queued = service.enqueue_correction(
                session=session,
                retracted_event_id=retracted.id,
                correction_event_id=stored.id,
                case_id=stored.case_id,
                payload_for=partner_payload(session, policy, stored),
                now=now,
            )
        else:
            queued = service.enqueue(
                session=session,
                event_type=stored.event_type,
                case_id=stored.case_id,
                event_id=stored.id,
                payload_for=partner_payload(session, policy, stored),
                now=now,
            )
        return [d.id or 0 for d in queued]


def deliver(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
    client: httpx.AsyncClient | None = None,
) -> tasks.RunStats:
    async def run() -> tasks.RunStats:
        async with client or httpx.AsyncClient() as http:
            return await tasks.deliver_due(
                engine=engine, client=http, settings=settings, now=now, rng=rng
            )

    return asyncio.run(run())


def delivery(engine: Engine, delivery_id: int) -> WebhookDelivery:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(WebhookDelivery, delivery_id)


def endpoint(engine: Engine, endpoint_id: int) -> WebhookEndpoint:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(WebhookEndpoint, endpoint_id)
