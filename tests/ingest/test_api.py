"""The ingest API: authentication, the contract's errors, replays and batches."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests import factories
from tests.identity import INGEST
from voice.cases.models import CaseEvent


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CaseEvent)).one()


def test_ingest_requires_the_ingest_token(client: TestClient, committed_engine: Engine) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = client.post("/api/v1/events", json=factories.booking(), headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    assert _events(committed_engine) == 0


def test_invalid_event_lists_every_problem_by_pointer(
    client: TestClient, committed_engine: Engine
) -> None:
    bad = factories.booking()
    bad["event_type"] = "custody.vanished"
    bad["occurred_at"] = "yesterday"
    bad["subject"]["a_number"] = "12"
    bad["unexpected"] = True
    del bad["source"]
    response = client.post("/api/v1/events", json=bad, headers=INGEST)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {
        "/event_type",
        "/occurred_at",
        "/subject/a_number",
        "/unexpected",
        "/source",
    }
    assert _events(committed_engine) == 0


def test_body_that_is_not_json_is_a_clear_400(client: TestClient) -> None:
    response = client.post("/api/v1/events", content=b"{not json", headers=INGEST)
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


def test_replay_returns_the_original_receipt(client: TestClient, committed_engine: Engine) -> None:
    event = factories.booking()
    first = client.post("/api/v1/events", json=event, headers=INGEST)
    second = client.post("/api/v1/events", json=event, headers=INGEST)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["receipt_id"] == second.json()["receipt_id"]
    assert second.json()["status"] == "duplicate"
    assert _events(committed_engine) == 1


def test_batch_reports_each_event_and_applies_the_valid_ones(
    client: TestClient, committed_engine: Engine
) -> None:
    good, also_good = factories.booking(), factories.event("case.hearing_scheduled")
    bad = factories.event("custody.released")
    bad["case"]["custody_status"] = "vanished"
    response = client.post("/api/v1/events", json=[good, bad, also_good, good], headers=INGEST)
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "duplicate",
    ]
    assert body["results"][1]["errors"][0]["pointer"] == "/case/custody_status"
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 1)
    assert _events(committed_engine) == 2


def test_ndjson_batch(client: TestClient, committed_engine: Engine) -> None:
    lines = "\n".join(json.dumps(e) for e in (factories.booking(), factories.event("case.closed")))
    response = client.post(
        "/api/v1/events",
        content=lines.encode(),
        headers={**INGEST, "content-type": "application/x-ndjson"},
    )
    assert response.json()["accepted"] == 2
    assert _events(committed_engine) == 2
