"""Partner webhook administration (admins only) and the published event-type catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import Session, col, select

from voice.deps import IdPath, SessionDep, SettingsDep
from voice.webhooks import catalogue, service
from voice.webhooks.models import (
    DeliveriesPublic,
    DeliveryPublic,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointsPublic,
    EndpointUpdate,
    Replayed,
    ReplaySince,
    SecretRotated,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    422: {"description": "refused: the reason is in the detail"},
}


def valid_endpoint(endpoint_id: IdPath, session: SessionDep) -> WebhookEndpoint:
    try:
        return service.get_endpoint(session=session, endpoint_id=endpoint_id)
    except service.NotFound as exc:
        raise HTTPException(status_code=404, detail="no such webhook endpoint") from exc


ValidEndpoint = Annotated[WebhookEndpoint, Depends(valid_endpoint)]


def public(endpoint: WebhookEndpoint) -> EndpointPublic:
    return EndpointPublic.model_validate(endpoint, from_attributes=True)


def delivery_public(session: Session, delivery: WebhookDelivery) -> DeliveryPublic:
    last = session.exec(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(col(WebhookAttempt.id).desc())
        .limit(1)
    ).first()
    out = DeliveryPublic.model_validate(delivery, from_attributes=True)
    if last is not None:
        out.last_status_code, out.last_error_kind = last.status_code, last.error_kind
    return out


@router.get("/webhooks/event-types", summary="The webhook event types and their payload schemas")
def event_types() -> dict[str, Any]:
    data = catalogue.published()
    return {"data": data, "count": len(data)}


@router.post(
    "/webhook-endpoints",
    status_code=201,
    responses=REFUSED,
    summary="Register a partner endpoint; its secret is shown this once",
)
def create(body: EndpointCreate, session: SessionDep, settings: SettingsDep) -> EndpointCreated:
    try:
        endpoint, secret = service.create_endpoint(
            session=session, endpoint_in=body, settings=settings
        )
    except service.WebhookError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return EndpointCreated(endpoint=public(endpoint), secret=secret)


@router.get("/webhook-endpoints", summary="Every partner endpoint")
def list_endpoints(session: SessionDep) -> EndpointsPublic:
    data = [public(e) for e in service.list_endpoints(session=session)]
    return EndpointsPublic(data=data, count=len(data))


@router.get("/webhook-endpoints/{endpoint_id}", responses=NOT_FOUND, summary="One endpoint")
def get(endpoint: ValidEndpoint) -> EndpointPublic:
    return public(endpoint)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    responses=REFUSED,
    summary="Change an endpoint; status disabled or active disables or enables it",
)
def update(
    endpoint: ValidEndpoint, body: EndpointUpdate, session: SessionDep, settings: SettingsDep
) -> EndpointPublic:
    try:
        service.update_endpoint(session=session, endpoint=endpoint, changes=body, settings=settings)
    except service.WebhookError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return public(endpoint)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    responses=NOT_FOUND,
    summary="A new secret, shown once; the old one keeps signing for the overlap",
)
def rotate_secret(
    endpoint: ValidEndpoint, session: SessionDep, settings: SettingsDep
) -> SecretRotated:
    secret, previous = service.rotate_secret(session=session, endpoint=endpoint, settings=settings)
    return SecretRotated(secret=secret, previous_secret_expires_at=previous)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    responses=NOT_FOUND,
    summary="An endpoint's latest deliveries, newest first",
)
def deliveries(
    endpoint: ValidEndpoint,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveriesPublic:
    assert endpoint.id is not None
    rows = service.list_deliveries(
        session=session, endpoint_id=endpoint.id, status=status, limit=limit
    )
    data = [delivery_public(session, d) for d in rows]
    return DeliveriesPublic(data=data, count=len(data))


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    responses={**REFUSED, 409: {"description": "still queued, or its event was retracted"}},
    summary="Send one delivery again",
)
def replay_one(endpoint: ValidEndpoint, delivery_id: IdPath, session: SessionDep) -> DeliveryPublic:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise HTTPException(status_code=404, detail="no such delivery")
    try:
        service.replay(session=session, delivery=delivery)
    except service.WebhookError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return delivery_public(session, delivery)


@router.post(
    "/webhook-endpoints/{endpoint_id}/replay",
    responses=NOT_FOUND,
    summary="Send again every failed delivery of an endpoint created since a time",
)
def replay_failed(endpoint: ValidEndpoint, body: ReplaySince, session: SessionDep) -> Replayed:
    assert endpoint.id is not None
    count = service.replay_failed_since(session=session, endpoint_id=endpoint.id, since=body.since)
    return Replayed(replayed=count)
