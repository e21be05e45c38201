"""The suite's own credentials outlive a slow run: no test may depend on wall-clock speed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlalchemy.engine import Engine

from tests import factories
from tests.auth.test_machine_tokens import REFUSED
from tests.identity import INGEST, bearer, machine_token
from voice.app import create_app
from voice.config import Settings

# Longer than any run of the suite has a right to take, loaded machine or not.
SLOW_RUN_SECONDS = 6 * 3600


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def test_tokens_minted_at_import_still_work_hours_later(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = bearer(machine_token("events:write"))
    real = time.time
    # The verifier reads the clock through time.time; move it on as a slow run would.
    monkeypatch.setattr(time, "time", lambda: real() + SLOW_RUN_SECONDS)
    for headers in (INGEST, fresh):
        response = client.post("/api/v1/events", json=factories.booking(), headers=headers)
        assert response.status_code == 201, response.text


def test_refused_tokens_are_refused_for_their_own_reason_hours_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + SLOW_RUN_SECONDS)
    registry = jwt.JWTClaimsRegistry(exp={"essential": True})
    # Apart from the tokens made to be expired, undated or not JWTs at all, none may expire
    # during the run: each must be refused for the fault it was made to show, not its age.
    for name in sorted(set(REFUSED) - {"expired", "no expiry", "not a JWT"}):
        payload = REFUSED[name].split(".")[1]
        registry.validate(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
