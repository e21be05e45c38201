"""Partner webhook endpoints in the portal: register, secret once, disable, rotate, replay."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests import factories
from tests.identity import INGEST
from tests.portal.ops_helpers import sign_in
from voice.database import transaction
from voice.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookSecret

FORM = {
    "url": "https://partner.example/hooks",
    "partner_name": "State VINE",
    "partner_contact": "ops@partner.example",
    "event_types": ["custody.booked", "custody.released"],
}


def _secret(page: str) -> str:
    found = re.search(r'id="secret" type="text" readonly value="(whsec_[^"]+)"', page)
    assert found, page
    return found.group(1)


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = sign_in(client, "admin", "admin-1")
    created = client.post("/portal/webhooks", data={**FORM, "csrf_token": csrf})
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = _secret(created.text)
    with transaction(committed_engine) as session:
        endpoint = session.exec(select(WebhookEndpoint)).one()
        endpoint_id = endpoint.id
        assert endpoint.event_types == ["custody.booked", "custody.released"]
    listing = client.get("/portal/webhooks").text
    assert "State VINE" in listing
    assert secret not in listing
    detail = client.get(f"/portal/webhooks/{endpoint_id}").text
    assert "ops@partner.example" in detail
    assert secret not in detail

    rotated = client.post(
        f"/portal/webhooks/{endpoint_id}/rotate-secret", data={"csrf_token": csrf}
    )
    new_secret = _secret(rotated.text)
    assert new_secret != secret
    assert "previous secret keeps signing until" in rotated.text
    with transaction(committed_engine) as session:
        assert len(session.exec(select(WebhookSecret)).all()) == 2

    client.post(
        f"/portal/webhooks/{endpoint_id}/status",
        data={"action": "disable", "reason": "partner maintenance", "csrf_token": csrf},
    )
    assert "partner maintenance" in client.get(f"/portal/webhooks/{endpoint_id}").text
    client.post(
        f"/portal/webhooks/{endpoint_id}/status", data={"action": "enable", "csrf_token": csrf}
    )
    with transaction(committed_engine) as session:
        assert session.get_one(WebhookEndpoint, endpoint_id).status == "active"


def test_refusals_and_forbidden_roles(client: TestClient) -> None:
    csrf = sign_in(client, "admin", "admin-1")
    no_types = client.post("/portal/webhooks", data={**FORM, "event_types": [], "csrf_token": csrf})
    assert no_types.status_code == 422
    assert "at least one event type" in no_types.text
    plain_http = client.post(
        "/portal/webhooks", data={**FORM, "url": "http://partner.example/", "csrf_token": csrf}
    )
    assert plain_http.status_code == 422
    assert "Not registered" in plain_http.text
    assert client.get("/portal/webhooks/999999").status_code == 404
    sign_in(client, "supervisor", "supervisor-1")
    refused = client.get("/portal/webhooks")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")


def test_deliveries_show_and_replay(client: TestClient, committed_engine: Engine) -> None:
    csrf = sign_in(client, "admin", "admin-1")
    client.post("/portal/webhooks", data={**FORM, "csrf_token": csrf})
    assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
    with transaction(committed_engine) as session:
        delivery = session.exec(select(WebhookDelivery)).one()
        endpoint_id, delivery_id, message_id = (
            delivery.endpoint_id, delivery.id, delivery.message_id,
        )  # fmt: skip
    page = client.get(f"/portal/webhooks/{endpoint_id}").text
    assert message_id in page
    assert "pending" in page
    queued = client.post(
        f"/portal/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
        data={"csrf_token": csrf},
    )
    assert "still queued" in queued.text
    with transaction(committed_engine) as session:
        failed = session.get_one(WebhookDelivery, delivery_id)
        failed.status = "failed"
        session.add(failed)
    bad = client.post(
        f"/portal/webhooks/{endpoint_id}/replay", data={"since": "soon", "csrf_token": csrf}
    )
    assert "Enter the date and time" in bad.text
    replayed = client.post(
        f"/portal/webhooks/{endpoint_id}/replay",
        data={"since": "2000-01-01T00:00", "csrf_token": csrf},
    )
    assert "1 deliveries will be sent again" in replayed.text
    with transaction(committed_engine) as session:
        assert session.get_one(WebhookDelivery, delivery_id).status == "pending"
        done = session.get_one(WebhookDelivery, delivery_id)
        done.status = "delivered"
        session.add(done)
    one = client.post(
        f"/portal/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
        data={"csrf_token": csrf},
    )
    assert "1 deliveries will be sent again" in one.text
