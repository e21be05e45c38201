"""What an event sends to partners: their deliveries, written in the ingest transaction.

Each partner's payload is what the one door releases to the partner audience, and the release
is accounted for as a disclosure to that partner in the same transaction that queues it. The
accounting is written when the delivery is queued rather than when it arrives, so that it can
never miss a release that did arrive; a delivery that fails for good stays accounted for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.cases.fields import CaseState, SubjectState
from voice.cases.models import CaseEvent
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, Recipient, release
from voice.webhooks import catalogue, service
from voice.webhooks.models import EndpointStatus, WebhookDelivery, WebhookEndpoint


def recipient_id(endpoint: WebhookEndpoint) -> str:
    """How the accounting names a partner's endpoint (it stores only an opaque reference)."""
    return f"webhook-endpoint:{endpoint.id}"


def _payload_for(
    session: Session,
    policy: Policy,
    event: CaseEvent,
    folded: tuple[SubjectState, CaseState] | None,
) -> service.PayloadFor:
    assert event.id is not None

    def payload_for(endpoint: WebhookEndpoint) -> Mapping[str, Any] | None:
        view = release(
            session=session,
            policy=policy,
            audience=Audience.PARTNER,
            event=event,
            recipient=Recipient(kind="partner", id=recipient_id(endpoint), channel="webhook"),
            folded=folded,
        )
        return catalogue.payload_from_view(
            event_type=event.event_type, case_id=event.case_id, view=view, emitted_at=utcnow()
        )

    return payload_for


# Built once: every ingest call asks it.
_ANY_ACTIVE = (
    sa.select(col(WebhookEndpoint.id))
    .where(col(WebhookEndpoint.status) == EndpointStatus.ACTIVE)
    .limit(1)
)


# The same question as a column, for a caller that asks it inside a query it makes anyway.
ANY_ACTIVE_ENDPOINT = sa.exists(_ANY_ACTIVE)


def any_active_endpoint(*, session: Session) -> bool:
    """Whether any partner endpoint could receive a delivery: without one, a batch skips the
    per-event lookups that would each find none."""
    return session.execute(_ANY_ACTIVE).first() is not None


def enqueue_for_event(
    *,
    session: Session,
    event: CaseEvent,
    policy: Policy,
    folded: tuple[SubjectState, CaseState] | None = None,
) -> list[WebhookDelivery]:
    """Queue the deliveries ``event`` causes: one per subscribed endpoint, or, for a
    correction, one to every endpoint that may have heard of the event it retracts.
    ``folded`` is as for ``release``: the event's subject and case as the caller's fold left
    them, not yet written."""
    assert event.id is not None
    if event.retracted_by_id is not None:
        return []  # already corrected before it arrived: there is nothing true to tell
    payload_for = _payload_for(session, policy, event, folded)
    if event.event_type != catalogue.CORRECTION:
        return service.enqueue(
            session=session,
            event_type=event.event_type,
            case_id=event.case_id,
            event_id=event.id,
            payload_for=payload_for,
        )
    retracted = session.exec(
        select(CaseEvent.id).where(col(CaseEvent.retracted_by_id) == event.id)
    ).all()
    queued: list[WebhookDelivery] = []
    for retracted_id in retracted:
        assert retracted_id is not None
        queued += service.enqueue_correction(
            session=session,
            retracted_event_id=retracted_id,
            correction_event_id=event.id,
            case_id=event.case_id,
            payload_for=payload_for,
        )
    return queued
