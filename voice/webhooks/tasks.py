"""The worker's job: claim due deliveries, send them concurrently, settle the answers.

A claim is a lease committed before anything is sent (ADR 0001, as for notifications), and no
transaction spans a send. Within one (endpoint, case) deliveries go strictly in order: a
delivery cannot be claimed while an earlier one for the same endpoint and case is still owed,
so a release never overtakes the booking it follows. Different endpoints and cases go side by
side.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio.to_thread
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from voice.config import Settings
from voice.database import transaction, utcnow
from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind
from voice.webhooks import sender, service, ssrf
from voice.webhooks.models import (
    READY,
    UNDELIVERED,
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from voice.webhooks.sender import Job, Outcome, Verdict

log = logging.getLogger(__name__)

DISABLE_AFTER = timedelta(days=5)


@dataclass
class RunStats:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    lease_lost: int = 0
    endpoints_disabled: list[int] = field(default_factory=list)


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    """Lease up to ``limit`` due deliveries, at most the oldest owed one per (endpoint, case)."""
    d = WebhookDelivery
    # The same table again, as plain columns: "an earlier delivery of this endpoint and case".
    earlier = sa.alias(WebhookDelivery.__table__, name="earlier").c  # type: ignore[attr-defined]
    due = sa.or_(
        sa.and_(col(d.status).in_(READY), col(d.next_attempt_at) <= now),
        sa.and_(col(d.status) == DeliveryStatus.SENDING, col(d.claimed_until) < now),
    )
    active = (
        sa.select(col(WebhookEndpoint.id))
        .where(
            col(WebhookEndpoint.id) == col(d.endpoint_id),
            col(WebhookEndpoint.status) == EndpointStatus.ACTIVE,
        )
        .exists()
    )
    owed_before = (
        sa.select(earlier.id)
        .where(
            earlier.endpoint_id == col(d.endpoint_id),
            earlier.case_id == col(d.case_id),
            earlier.id < col(d.id),
            earlier.status.in_(UNDELIVERED),
        )
        .exists()
    )
    candidates = (
        sa.select(col(d.id))
        .where(due, active, ~owed_before)
        .order_by(col(d.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(d)
        .where(col(d.id).in_(candidates.scalar_subquery()))
        .values(
            status=DeliveryStatus.SENDING,
            claimed_by=worker_id,
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=col(d.attempts) + 1,
            updated_at=now,
        )
        .returning(col(d.id))
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(statement).scalars().all())


def body_of(delivery: WebhookDelivery) -> bytes:
    """The bytes sent and signed: compact JSON, the same on every attempt."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def _claim_jobs(
    engine: Engine, settings: Settings, worker_id: str, now: datetime, limit: int
) -> list[Job]:
    with transaction(engine) as session:
        ids = claim(
            session=session,
            worker_id=worker_id,
            now=now,
            lease_seconds=settings.worker_lease_seconds,
            limit=limit,
        )
        if not ids:
            return []
        deliveries = session.execute(
            sa.select(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids))
        ).scalars()
        jobs = []
        signing_secrets: dict[int, list[str]] = {}
        urls: dict[int, str] = {}
        for delivery in deliveries:
            ep = delivery.endpoint_id
            if ep not in urls:
                urls[ep] = session.get_one(WebhookEndpoint, ep).url
                signing_secrets[ep] = service.secrets_in_force(
                    session=session, endpoint_id=ep, now=now
                )
            assert delivery.id is not None
            jobs.append(
                Job(
                    delivery_id=delivery.id,
                    endpoint_id=ep,
                    url=urls[ep],
                    message_id=delivery.message_id,
                    body=body_of(delivery),
                    secrets=tuple(signing_secrets[ep]),
                    attempts=delivery.attempts,
                )
            )
        return sorted(jobs, key=lambda j: j.delivery_id)


def _disable(session: Session, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    service.disable(session=session, endpoint=endpoint, reason=reason, now=now)
    liaison_service.open_task(
        session=session,
        kind=TaskKind.WEBHOOK_ENDPOINT_DISABLED,
        dedupe_key=f"webhook-endpoint:{endpoint.id}:disabled:{now.isoformat()}",
        reason=f"webhook endpoint {endpoint.id} disabled: {reason}",
    )


def _settle_one(
    session: Session,
    outcome: Outcome,
    worker_id: str,
    now: datetime,
    rng: random.Random,
    stats: RunStats,
) -> None:
    session.add(
        WebhookAttempt(
            delivery_id=outcome.delivery_id,
            attempted_at=outcome.attempted_at,
            status_code=outcome.status_code,
            error_kind=outcome.error_kind,
            response_body=outcome.response_body,
            duration_ms=outcome.duration_ms,
        )
    )
    delivery = session.get_one(WebhookDelivery, outcome.delivery_id)
    if delivery.claimed_by != worker_id or delivery.status != DeliveryStatus.SENDING:
        # Another worker took it over, or a correction cancelled it: theirs to settle.
        stats.lease_lost += 1
        return
    endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.updated_at = now
    verdict = outcome.verdict
    if verdict is Verdict.RETRY:
        again = sender.next_attempt_at(
            attempts=delivery.attempts, now=now, retry_after=outcome.retry_after, rng=rng
        )
        if again is None:
            verdict = Verdict.FAILED
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = again
            stats.retrying += 1
    if verdict is Verdict.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        endpoint.failing_since = None
        stats.delivered += 1
    elif verdict in (Verdict.FAILED, Verdict.GONE):
        delivery.status = DeliveryStatus.FAILED
        stats.failed += 1
    if verdict is not Verdict.DELIVERED:
        endpoint.failing_since = endpoint.failing_since or now
        active = endpoint.status == EndpointStatus.ACTIVE
        if active and verdict is Verdict.GONE:
            _disable(session, endpoint, "the endpoint answered 410 Gone", now)
            stats.endpoints_disabled.append(endpoint.id or 0)
        elif active and now - endpoint.failing_since >= DISABLE_AFTER:
            _disable(session, endpoint, "every delivery failed for five days", now)
            stats.endpoints_disabled.append(endpoint.id or 0)
    session.add(endpoint)
    session.add(delivery)


def _settle(
    engine: Engine, outcomes: Sequence[Outcome], worker_id: str, now: datetime, rng: random.Random
) -> RunStats:
    stats = RunStats(claimed=len(outcomes))
    with transaction(engine) as session:
        # One read for the batch; _settle_one then finds each row in the identity map.
        ids = [o.delivery_id for o in outcomes]
        session.execute(sa.select(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids))).all()
        for outcome in outcomes:
            _settle_one(session, outcome, worker_id, now, rng, stats)
    return stats


async def deliver_due(
    *,
    engine: Engine,
    client: httpx.AsyncClient,
    settings: Settings,
    worker_id: str = "webhooks",
    now: datetime | None = None,
    limit: int | None = None,
    resolver: ssrf.Resolver = ssrf.system_resolver,
    rng: random.Random | None = None,
) -> RunStats:
    """One round: claim what is due, send it (concurrently), settle it. Returns the counts.

    ``now`` schedules (claims, retries, the five-day rule); tests pass a frozen clock.
    """
    now = now or utcnow()
    rng = rng or random.Random()  # noqa: S311  (jitter, not secrecy)
    batch = limit or settings.webhook_batch_size
    jobs = await anyio.to_thread.run_sync(_claim_jobs, engine, settings, worker_id, now, batch)
    if not jobs:
        return RunStats()
    allowed = ssrf.AllowList.parse(settings.webhook_allowed_networks)
    gate = asyncio.Semaphore(max(1, settings.webhook_concurrency))

    async def send(job: Job) -> Outcome:
        async with gate:
            try:
                return await sender.send(
                    job,
                    client=client,
                    allow_http=settings.is_development,
                    allowed=allowed,
                    now=now,
                    resolver=resolver,
                )
            except Exception as exc:
                # A surprise in one send must not lose the batch's other answers.
                log.error("webhook delivery %s: %s", job.delivery_id, type(exc).__name__)
                return Outcome(job.delivery_id, Verdict.RETRY, now, 0, error_kind="internal")

    outcomes = await asyncio.gather(*(send(job) for job in jobs))
    return await anyio.to_thread.run_sync(_settle, engine, outcomes, worker_id, now, rng)
