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
from sqlmodel import Session, col, select

from tests.webhooks.receiver import Receiver
from voice.cases.models import CaseEvent
from voice.config import Environment, Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest import service as ingest_service
from voice.webhooks import catalogue, service, tasks
from voice.webhooks.models import EndpointCreate, WebhookDelivery, WebhookEndpoint


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
    """Ingest ``event``; return the deliveries ingest queued for it in the same transaction.

    With ``now``, the deliveries are dated then, for tests that run the worker's clock.
    """
    with transaction(engine) as session:
        ingest_service.ingest_event(session=session, candidate=event, policy=policy)
        stored = session.exec(
            select(CaseEvent).where(CaseEvent.source_event_id == event["source_event_id"])
        ).one()
        queued = session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id == stored.id)
            .order_by(col(WebhookDelivery.id))
        ).all()
        for row in queued:
            if now is not None:
                row.created_at = row.next_attempt_at = row.updated_at = now
                session.add(row)
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
