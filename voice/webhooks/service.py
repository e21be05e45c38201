"""Endpoints, secrets, enqueueing and replay. Functions flush and never commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import utcnow
from voice.webhooks import catalogue, signing, ssrf
from voice.webhooks.models import (
    UNDELIVERED,
    DeliveryStatus,
    EndpointCreate,
    EndpointStatus,
    EndpointUpdate,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

log = logging.getLogger(__name__)

# Returns the partner payload the one door released for this endpoint, or None to send nothing.
PayloadFor = Callable[[WebhookEndpoint], Mapping[str, Any] | None]


class WebhookError(ValueError):
    """A request the webhook service refuses; the message is safe to show to an admin."""


class NotFound(LookupError):
    pass


def _check_url(url: str, settings: Settings) -> None:
    # The form only: addresses are checked at every send, where resolution cannot go stale.
    try:
        ssrf.check_url_form(url, allow_http=settings.is_development)
    except ssrf.UrlRefused as exc:
        raise WebhookError(str(exc)) from exc


def _check_types(event_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(event_types) - catalogue.NAMES)
    if unknown:
        raise WebhookError(f"unknown event types: {', '.join(unknown)}")
    return sorted(set(event_types))


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def create_endpoint(
    *, session: Session, endpoint_in: EndpointCreate, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is never shown again."""
    _check_url(endpoint_in.url, settings)
    endpoint = WebhookEndpoint(
        url=endpoint_in.url,
        partner_name=endpoint_in.partner_name,
        partner_contact=endpoint_in.partner_contact,
        event_types=_check_types(endpoint_in.event_types),
    )
    session.add(endpoint)
    session.flush()
    assert endpoint.id is not None
    secret = signing.generate_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret))
    session.flush()
    log.info("webhook endpoint %s created", endpoint.id)
    return endpoint, secret


def get_endpoint(*, session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


def list_endpoints(*, session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))).all())


def update_endpoint(
    *, session: Session, endpoint: WebhookEndpoint, changes: EndpointUpdate, settings: Settings
) -> WebhookEndpoint:
    if changes.url is not None:
        _check_url(changes.url, settings)
        endpoint.url = changes.url
    if changes.partner_name is not None:
        endpoint.partner_name = changes.partner_name
    if changes.partner_contact is not None:
        endpoint.partner_contact = changes.partner_contact
    if changes.event_types is not None:
        endpoint.event_types = _check_types(changes.event_types)
    if changes.status is EndpointStatus.DISABLED:
        disable(session=session, endpoint=endpoint, reason=changes.disabled_reason or "by admin")
    elif changes.status is EndpointStatus.ACTIVE:
        enable(session=session, endpoint=endpoint)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def disable(
    *, session: Session, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None
) -> None:
    if endpoint.status == EndpointStatus.DISABLED:
        return
    endpoint.status = EndpointStatus.DISABLED
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = now or utcnow()
    endpoint.updated_at = endpoint.disabled_at
    session.add(endpoint)
    session.flush()
    log.warning("webhook endpoint %s disabled", endpoint.id)


def enable(*, session: Session, endpoint: WebhookEndpoint) -> None:
    """Back in service: what it is owed goes out again, and its failure clock starts afresh."""
    endpoint.status = EndpointStatus.ACTIVE
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()


def rotate_secret(
    *, session: Session, endpoint: WebhookEndpoint, settings: Settings, now: datetime | None = None
) -> tuple[str, datetime | None]:
    """A new secret; the ones in force keep signing for the configured overlap."""
    now = now or utcnow()
    overlap_ends = now + timedelta(seconds=settings.webhook_secret_overlap_seconds)
    previous: datetime | None = None
    for old in _secret_rows(session, endpoint):
        if old.expires_at is not None and old.expires_at <= now:
            session.delete(old)  # long past its overlap: nothing signs with it any more
            continue
        old.expires_at = min(old.expires_at or overlap_ends, overlap_ends)
        previous = max(previous or old.expires_at, old.expires_at)
        session.add(old)
    assert endpoint.id is not None
    secret = signing.generate_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret, created_at=now))
    session.flush()
    log.info("webhook endpoint %s secret rotated", endpoint.id)
    return secret, previous


def _secret_rows(session: Session, endpoint: WebhookEndpoint) -> list[WebhookSecret]:
    return list(
        session.exec(
            select(WebhookSecret)
            .where(WebhookSecret.endpoint_id == endpoint.id)
            .order_by(col(WebhookSecret.id).desc())
        ).all()
    )


def secrets_in_force(*, session: Session, endpoint_id: int, now: datetime) -> list[str]:
    """The secrets that sign at ``now``, newest first."""
    rows = session.exec(
        select(WebhookSecret)
        .where(
            WebhookSecret.endpoint_id == endpoint_id,
            sa.or_(col(WebhookSecret.expires_at).is_(None), col(WebhookSecret.expires_at) > now),
        )
        .order_by(col(WebhookSecret.id).desc())
    ).all()
    return [row.secret for row in rows]


def _add_delivery(
    session: Session,
    endpoint: WebhookEndpoint,
    payload: Mapping[str, Any],
    *,
    event_type: str,
    case_id: int,
    event_id: int,
    now: datetime,
) -> WebhookDelivery | None:
    if payload.get("type") != event_type or not catalogue.is_valid(payload):
        # Fail closed: a payload outside its published schema is never queued.
        log.error("webhook payload for event %s broke its schema; not queued", event_id)
        return None
    assert endpoint.id is not None
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_type=event_type,
        case_id=case_id,
        event_id=event_id,
        payload=dict(payload),
        message_id=new_message_id(),
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    return delivery


def enqueue(
    *,
    session: Session,
    event_type: str,
    case_id: int,
    event_id: int,
    payload_for: PayloadFor,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """One delivery per active endpoint subscribed to ``event_type``, in the caller's transaction.

    ``payload_for`` is the caller's release through the disclosure filter (and its accounting),
    asked once per endpoint, since each partner is a recipient of its own.
    """
    if event_type not in catalogue.NAMES or event_type == catalogue.CORRECTION:
        return []
    now = now or utcnow()
    endpoints = session.exec(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.status == EndpointStatus.ACTIVE)
        .order_by(col(WebhookEndpoint.id))
    ).all()
    queued = []
    for endpoint in endpoints:
        # Filtered here, not in SQL: JSON containment is spelt differently on each database.
        if event_type not in endpoint.event_types:
            continue
        payload = payload_for(endpoint)
        if payload is None:
            continue
        delivery = _add_delivery(
            session, endpoint, payload, event_type=event_type, case_id=case_id,
            event_id=event_id, now=now,
        )  # fmt: skip
        if delivery is not None:
            queued.append(delivery)
    session.flush()
    return queued


def enqueue_correction(
    *,
    session: Session,
    retracted_event_id: int,
    correction_event_id: int,
    case_id: int,
    payload_for: PayloadFor,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """A correction to exactly the endpoints that may have heard of the retracted event.

    A delivery of it never attempted is cancelled instead: that partner was told nothing. One
    attempted but not yet delivered is cancelled too, and the correction still goes.
    Endpoints are targeted whatever they subscribe to and whatever their status (a disabled
    one gets it when it is enabled): a retraction must reach everyone who was told.
    """
    now = now or utcnow()
    earlier = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.event_id == retracted_event_id)
        .order_by(col(WebhookDelivery.id))
    ).all()
    queued = []
    for delivery in earlier:
        if delivery.attempts == 0 and delivery.status == DeliveryStatus.PENDING:
            delivery.status = DeliveryStatus.CANCELLED
            delivery.updated_at = now
            session.add(delivery)
            continue
        if delivery.status == DeliveryStatus.CANCELLED:
            continue
        if delivery.status == DeliveryStatus.RETRYING:
            # Tried and perhaps received: no more retries of it, but the correction goes.
            delivery.status = DeliveryStatus.CANCELLED
            delivery.updated_at = now
            session.add(delivery)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        payload = payload_for(endpoint)
        if payload is None:
            continue
        data = dict(payload.get("data") or {})
        retracts: dict[str, Any] = {"message_id": delivery.message_id}
        if isinstance(delivery.payload.get("type"), str):
            retracts["event_type"] = delivery.payload["type"]
        data["retracts"] = retracts
        added = _add_delivery(
            session, endpoint, {**payload, "data": data}, event_type=catalogue.CORRECTION,
            case_id=case_id, event_id=correction_event_id, now=now,
        )  # fmt: skip
        if added is not None:
            queued.append(added)
    session.flush()
    return queued


def list_deliveries(
    *, session: Session, endpoint_id: int, status: str | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return list(session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit)).all())


def _requeue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.claimed_by = None
    delivery.claimed_until = None
    delivery.updated_at = now


def replay(
    *, session: Session, delivery: WebhookDelivery, now: datetime | None = None
) -> WebhookDelivery:
    """Send a finished delivery again, under the same ``webhook-id`` (partners drop repeats)."""
    if delivery.status in UNDELIVERED:
        raise WebhookError("this delivery is still queued")
    if delivery.status == DeliveryStatus.CANCELLED:
        raise WebhookError("this delivery's event was retracted")
    _requeue(delivery, now or utcnow())
    session.add(delivery)
    session.flush()
    return delivery


def replay_failed_since(
    *, session: Session, endpoint_id: int, since: datetime, now: datetime | None = None
) -> int:
    now = now or utcnow()
    failed = session.exec(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.FAILED,
            col(WebhookDelivery.created_at) >= since,
        )
        .order_by(col(WebhookDelivery.id))
    ).all()
    for delivery in failed:
        _requeue(delivery, now)
        session.add(delivery)
    session.flush()
    return len(failed)
