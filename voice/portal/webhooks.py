"""Partner webhook endpoints in the portal, for admins: register, disable or enable, rotate the
secret, and look at and replay deliveries (voice/webhooks/service.py; docs/webhooks.md).

A secret is shown once, on the page that answers its creation or rotation, and never again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from voice.auth.deps import CurrentStaff
from voice.cases.service import parse_datetime
from voice.deps import IdPath, SessionDep, SettingsDep
from voice.portal.rendering import NavPage, nav_page, render
from voice.webhooks import catalogue, service
from voice.webhooks.api import delivery_public
from voice.webhooks.models import EndpointCreate, WebhookDelivery, WebhookEndpoint

router = APIRouter(prefix="/portal/webhooks", include_in_schema=False)

PAGES: tuple[NavPage, ...] = (nav_page("Partner webhooks", "/portal/webhooks"),)

# The secret's page must not be kept by the browser or a proxy: it is shown this once.
NO_STORE = {"Cache-Control": "no-store"}
DELIVERIES_SHOWN = 100


def _event_types() -> list[tuple[str, str]]:
    return [(t.name, t.description) for t in catalogue.EVENT_TYPES]


def _list_page(
    request: Request,
    session: Session,
    staff: Any,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "ops/webhooks.html",
        {
            "staff": staff,
            "endpoints": service.list_endpoints(session=session),
            "event_types": _event_types(),
            "values": values or {"event_types": []},
            "error": error,
        },
        status_code=status_code,
    )


def _endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    try:
        return service.get_endpoint(session=session, endpoint_id=endpoint_id)
    except service.NotFound as exc:
        raise HTTPException(status_code=404, detail="no such webhook endpoint") from exc


@router.get("", response_class=HTMLResponse)
def endpoints_page(request: Request, session: SessionDep, staff: CurrentStaff) -> HTMLResponse:
    return _list_page(request, session, staff)


@router.post("", response_class=HTMLResponse)
def register_endpoint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
    url: Annotated[str, Form(max_length=2000)] = "",
    partner_name: Annotated[str, Form(max_length=200)] = "",
    partner_contact: Annotated[str, Form(max_length=320)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    values = {
        "url": url,
        "partner_name": partner_name,
        "partner_contact": partner_contact,
        "event_types": event_types or [],
    }
    try:
        endpoint_in = EndpointCreate.model_validate(values)
        endpoint, secret = service.create_endpoint(
            session=session, endpoint_in=endpoint_in, settings=settings
        )
    except ValidationError:
        error = "Give the URL, the partner's name and contact, and at least one event type."
        return _list_page(request, session, staff, values=values, error=error, status_code=422)
    except service.WebhookError as exc:
        return _list_page(request, session, staff, values=values, error=str(exc), status_code=422)
    context = {"staff": staff, "endpoint": endpoint, "secret": secret, "rotated": False}
    return render(request, "ops/webhook_secret.html", context, headers=NO_STORE)


@router.get("/{endpoint_id}", response_class=HTMLResponse)
def endpoint_page(
    request: Request,
    endpoint_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    replayed: Annotated[int | None, Query(ge=0)] = None,
    error: Annotated[Literal["queued", "retracted", "since"] | None, Query()] = None,
) -> HTMLResponse:
    endpoint = _endpoint(session, endpoint_id)
    assert endpoint.id is not None
    rows = service.list_deliveries(session=session, endpoint_id=endpoint.id, limit=DELIVERIES_SHOWN)
    messages = {
        "queued": "That delivery is still queued: it will be sent without a replay.",
        "retracted": "That delivery's event was retracted: it is not sent again.",
        "since": "Enter the date and time (UTC) from which to replay failed deliveries.",
    }
    return render(
        request,
        "ops/webhook.html",
        {
            "staff": staff,
            "endpoint": endpoint,
            "deliveries": [delivery_public(session, d) for d in rows],
            "replayed": replayed,
            "error": messages.get(error or ""),
        },
    )


@router.post("/{endpoint_id}/status")
def set_status(
    endpoint_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    action: Annotated[Literal["disable", "enable"], Form()],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    endpoint = _endpoint(session, endpoint_id)
    if action == "disable":
        service.disable(session=session, endpoint=endpoint, reason=reason.strip() or "by admin")
    else:
        service.enable(session=session, endpoint=endpoint)
    return RedirectResponse(f"/portal/webhooks/{endpoint_id}", status_code=303)


@router.post("/{endpoint_id}/rotate-secret", response_class=HTMLResponse)
def rotate_secret(
    request: Request,
    endpoint_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    staff: CurrentStaff,
) -> HTMLResponse:
    endpoint = _endpoint(session, endpoint_id)
    secret, previous = service.rotate_secret(session=session, endpoint=endpoint, settings=settings)
    context = {
        "staff": staff,
        "endpoint": endpoint,
        "secret": secret,
        "rotated": True,
        "previous_expires_at": previous,
    }
    return render(request, "ops/webhook_secret.html", context, headers=NO_STORE)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay")
def replay_one(
    endpoint_id: IdPath, delivery_id: IdPath, session: SessionDep, staff: CurrentStaff
) -> Response:
    endpoint = _endpoint(session, endpoint_id)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise HTTPException(status_code=404, detail="no such delivery")
    try:
        service.replay(session=session, delivery=delivery)
    except service.WebhookError:
        why = "retracted" if delivery.status == "cancelled" else "queued"
        return RedirectResponse(f"/portal/webhooks/{endpoint_id}?error={why}", status_code=303)
    return RedirectResponse(f"/portal/webhooks/{endpoint_id}?replayed=1", status_code=303)


@router.post("/{endpoint_id}/replay")
def replay_failed(
    endpoint_id: IdPath,
    session: SessionDep,
    staff: CurrentStaff,
    since: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    endpoint = _endpoint(session, endpoint_id)
    assert endpoint.id is not None
    try:
        text = since.strip()
        moment: datetime = parse_datetime(text + (":00Z" if len(text) == 16 else "Z"))
    except ValueError:
        return RedirectResponse(f"/portal/webhooks/{endpoint_id}?error=since", status_code=303)
    count = service.replay_failed_since(session=session, endpoint_id=endpoint.id, since=moment)
    return RedirectResponse(f"/portal/webhooks/{endpoint_id}?replayed={count}", status_code=303)
