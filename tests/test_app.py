"""The application's shared surface: health, readiness and the published contract."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from voice.app import create_app
from voice.config import Environment, Settings
from voice.database import make_engine
from voice.ingest.validation import CONTRACT_PATH


def test_health_and_contract(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
    contract = client.get("/api/v1/contract/event.schema.json")
    assert contract.status_code == 200
    assert contract.json() == json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


def test_readyz_reports_pending_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(environment=Environment.TEST, database_url=url)
    with TestClient(create_app(settings, engine=make_engine(url))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "migrations pending"
