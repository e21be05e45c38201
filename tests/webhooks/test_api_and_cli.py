"""The admin API and the ``voice webhooks`` command."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import staff_session
from tests.webhooks.helpers import deliver, ingest
from tests.webhooks.receiver import Answer, Receiver
from voice.app import create_app
from voice.cli import main
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.webhooks import catalogue


def test_the_catalogue_is_published(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/v1/webhooks/event-types").json()
    assert body["count"] == len(catalogue.EVENT_TYPES)
    assert body["data"] == catalogue.published()


def test_an_admin_manages_an_endpoint_and_replays_its_failures(
    committed_engine: Engine,
    policy: Policy,
    wh_settings: Settings,
    receiver: Receiver,
) -> None:
    with TestClient(create_app(wh_settings, engine=committed_engine)) as client:
        csrf = staff_session(client, "admin")
        base = "/api/v1/webhook-endpoints"
        body = {
            "url": receiver.url(),
            "partner_name": "State VINE",
            "partner_contact": "ops@partner.example",
            "event_types": ["custody.booked"],
        }
        created = client.post(base, json=body, headers=csrf)
        assert created.status_code == 201
        secret = created.json()["secret"]
        assert secret.startswith("whsec_")
        endpoint_id = created.json()["endpoint"]["id"]
        assert "secret" not in client.get(f"{base}/{endpoint_id}").text
        assert client.get(base).json()["count"] == 1
        bad = client.post(base, json={**body, "event_types": ["removal.scheduled"]}, headers=csrf)
        assert bad.status_code == 422

        receiver.secrets = [secret]
        [delivery_id] = ingest(committed_engine, policy, factories.booking())
        receiver.answer(Answer(400))
        deliver(committed_engine, wh_settings)
        listed = client.get(f"{base}/{endpoint_id}/deliveries").json()["data"]
        assert [(d["status"], d["last_status_code"]) for d in listed] == [("failed", 400)]
        replay = client.post(f"{base}/{endpoint_id}/deliveries/{delivery_id}/replay", headers=csrf)
        assert replay.json()["status"] == "pending"
        again = client.post(f"{base}/{endpoint_id}/deliveries/{delivery_id}/replay", headers=csrf)
        assert again.status_code == 409
        deliver(committed_engine, wh_settings)
        assert receiver.received[-1].verified == {secret: True}

        rotated = client.post(f"{base}/{endpoint_id}/rotate-secret", headers=csrf).json()
        assert rotated["secret"] != secret
        assert rotated["previous_secret_expires_at"] is not None
        patched = client.patch(
            f"{base}/{endpoint_id}",
            json={"status": "disabled", "disabled_reason": "x"},
            headers=csrf,
        ).json()
        assert (patched["status"], patched["disabled_reason"]) == ("disabled", "x")
        since = (utcnow() - timedelta(hours=1)).isoformat()
        replayed = client.post(f"{base}/{endpoint_id}/replay", json={"since": since}, headers=csrf)
        assert replayed.json() == {"replayed": 0}


def test_the_cli_adds_lists_rotates_and_refuses_bad_usage(
    committed_engine: Engine,
    wh_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("voice.webhooks.cli.get_settings", lambda: wh_settings)
    url = receiver.url()
    assert main(["webhooks", "add", url, "--partner", "P", "--contact", "c@p.example",
                 "--event-type", "custody.released"]) == 0  # fmt: skip
    added = json.loads(capsys.readouterr().out)
    assert added["secret"].startswith("whsec_")
    endpoint_id = added["endpoint"]["id"]
    assert main(["webhooks", "list"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == endpoint_id
    assert main(["webhooks", "rotate", str(endpoint_id)]) == 0
    assert json.loads(capsys.readouterr().out)["secret"] != added["secret"]
    assert main(["webhooks", "disable", str(endpoint_id), "--reason", "maintenance"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "disabled"
    assert main(["webhooks", "enable", str(endpoint_id)]) == 0
    assert main(["webhooks", "deliveries", str(endpoint_id)]) == 0
    capsys.readouterr()
    assert main(["webhooks", "replay", str(endpoint_id)]) == 2
    assert "exactly one of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["webhooks", "add", url, "--partner", "P", "--contact", "c", "--event-type", "nope"])
    assert usage.value.code == 2
    assert "unknown event type" in capsys.readouterr().err
    assert main(["webhooks", "add", "ftp://x.example/", "--partner", "P", "--contact", "c",
                 "--event-type", "correction"]) == 2  # fmt: skip
    with pytest.raises(SystemExit) as usage:
        main(["webhooks", "replay", "1", "--failed-since", "yesterday"])
    assert usage.value.code == 2
