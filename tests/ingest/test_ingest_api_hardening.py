"""POST /api/v1/events under bad and hostile input: each line on its own, 4xx not 500, size
limits before parsing, reused ids, and a loop that stays free while a batch is stored."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests import factories
from tests.identity import INGEST
from voice.app import create_app
from voice.cases.models import CaseEvent
from voice.config import Settings
from voice.ingest import service

NDJSON = {**INGEST, "content-type": "application/x-ndjson"}


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    # A 500 must come back as a response (with its headers), not as a raised exception.
    app = create_app(settings, engine=committed_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CaseEvent)).one()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


# --- item 10: one result per NDJSON line ----------------------------------------------------


def test_a_malformed_ndjson_line_is_rejected_alone(
    client: TestClient, committed_engine: Engine
) -> None:
    good = [factories.booking(), factories.booking()]
    body = "\n".join([json.dumps(good[0]), "{not json", "", json.dumps(good[1])]) + "\n"
    response = client.post("/api/v1/events", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["line"], r["status"]) for r in results] == [
        (1, "accepted"),
        (2, "rejected"),
        (4, "accepted"),
    ]
    assert results[1]["errors"][0]["pointer"] == ""
    assert response.json()["accepted"] == 2
    assert response.json()["rejected"] == 1
    assert _events(committed_engine) == 2


def test_a_line_that_is_not_utf8_is_rejected_alone(
    client: TestClient, committed_engine: Engine
) -> None:
    body = json.dumps(factories.booking()).encode() + b"\n\xff\xfe\n"
    response = client.post("/api/v1/events", content=body, headers=NDJSON)
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected"]
    assert _events(committed_engine) == 1


# --- item 11: hostile but well-formed input -------------------------------------------------


def test_deep_nesting_is_a_4xx_naming_the_pointer(
    client: TestClient, committed_engine: Engine
) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    inside = json.dumps({**factories.booking(), "notes": "HERE"}).replace('"HERE"', deep)
    for body in (deep, '{"notes": ' + deep + "}", inside):
        problem = _problem(client.post("/api/v1/events", content=body, headers=INGEST), 422)
        pointer = problem["errors"][0]["pointer"]
        assert pointer.startswith("/0/0/0") or pointer.startswith("/notes/0/0")
    # Nesting a little past the limit, which the JSON parser itself still accepts.
    event = factories.booking()
    nested: Any = "x"
    for _ in range(200):
        nested = [nested]
    event["case"]["facility_name"] = nested
    problem = _problem(client.post("/api/v1/events", json=event, headers=INGEST), 422)
    assert problem["errors"][0]["pointer"].startswith("/case/facility_name/0/0")
    assert _events(committed_engine) == 0


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('"\\ud800"', "/notes"),
        ('"a\\u0000b"', "/notes"),
    ],
)
def test_lone_surrogates_and_nul_are_a_422_on_every_database(
    client: TestClient, committed_engine: Engine, raw: str, where: str
) -> None:
    event = factories.booking()
    event["notes"] = "PLACEHOLDER"
    body = json.dumps(event).replace('"PLACEHOLDER"', raw)
    problem = _problem(client.post("/api/v1/events", content=body, headers=INGEST), 422)
    assert [e["pointer"] for e in problem["errors"]] == [where]
    # In a key, and inside a batch, where the line alone is rejected.
    keyed = json.dumps(factories.booking()).replace('"notes"', '"n\\ud800"')
    problem = _problem(client.post("/api/v1/events", content=keyed, headers=INGEST), 422)
    assert problem["errors"][0]["pointer"] == "/n\ufffd"
    batch = "\n".join([body, json.dumps(factories.booking())])
    results = client.post("/api/v1/events", content=batch, headers=NDJSON).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert results[0]["errors"][0]["pointer"] == where
    assert _events(committed_engine) == 1


def test_a_500_still_carries_the_security_headers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(**_: Any) -> Any:
        raise RuntimeError("a defect")

    monkeypatch.setattr(service, "ingest_event", explode)
    response = client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    _problem(response, 500)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


# --- item 12: size limits before parsing ----------------------------------------------------


@pytest.fixture
def small_client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    limited = settings.model_copy(
        update={"ingest_max_event_bytes": 4096, "ingest_max_batch_bytes": 16384}
    )
    with TestClient(create_app(limited, engine=committed_engine)) as client:
        yield client


def test_an_event_over_the_limit_is_a_413(
    small_client: TestClient, committed_engine: Engine
) -> None:
    event = factories.booking()
    event["notes"] = "x" * 5000
    problem = _problem(small_client.post("/api/v1/events", json=event, headers=INGEST), 413)
    assert "4096" in problem["detail"]
    # The same event as one NDJSON line: that line alone is refused.
    body = json.dumps(event) + "\n" + json.dumps(factories.booking())
    results = small_client.post("/api/v1/events", content=body, headers=NDJSON).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert "4096" in results[0]["errors"][0]["detail"]
    # And as an element of a JSON array.
    results = small_client.post("/api/v1/events", json=[event], headers=INGEST).json()["results"]
    assert [r["status"] for r in results] == ["rejected"]
    assert _events(committed_engine) == 1


def test_a_batch_over_the_limit_is_a_413_before_parsing(
    small_client: TestClient, committed_engine: Engine
) -> None:
    batch = "\n".join(json.dumps(factories.booking()) for _ in range(40))
    assert len(batch) > 16384
    problem = _problem(small_client.post("/api/v1/events", content=batch, headers=NDJSON), 413)
    assert "16384" in problem["detail"]

    # Without a Content-Length the body is counted as it arrives, and reading stops at the limit
    # (httpx's ASGI transport hands the app each chunk only when the app asks for it).
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b" " * 1024

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=small_client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/api/v1/events", content=chunks(), headers=INGEST)

    _problem(anyio.run(post), 413)
    assert sent < 100
    assert _events(committed_engine) == 0


def test_the_limits_are_settings_with_the_voice_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICE_INGEST_MAX_EVENT_BYTES", "1000")
    monkeypatch.setenv("VOICE_INGEST_MAX_BATCH_BYTES", "2000")
    settings = Settings()
    assert (settings.ingest_max_event_bytes, settings.ingest_max_batch_bytes) == (1000, 2000)


# --- item 13: a reused event id -------------------------------------------------------------


def test_a_reused_id_with_a_different_body_is_a_409(
    client: TestClient, committed_engine: Engine
) -> None:
    event = factories.booking(source_event_id="reuse-1")
    first = client.post("/api/v1/events", json=event, headers=INGEST)
    assert first.status_code == 201
    replay = client.post("/api/v1/events", json=event, headers=INGEST)
    assert replay.status_code == 200
    assert replay.json()["receipt_id"] == first.json()["receipt_id"]
    assert replay.json()["status"] == "duplicate"

    changed = {**event, "notes": "a different body"}
    problem = _problem(client.post("/api/v1/events", json=changed, headers=INGEST), 409)
    assert "reuse-1" in problem["detail"]
    assert problem["errors"] == [
        {"pointer": "/source_event_id", "detail": problem["errors"][0]["detail"]}
    ]
    results = client.post("/api/v1/events", json=[changed, event], headers=INGEST).json()
    assert [r["status"] for r in results["results"]] == ["rejected", "duplicate"]
    with Session(committed_engine) as session:
        stored = session.exec(select(CaseEvent)).one()
    assert stored.payload_sha256 == service.payload_digest(event)


# --- item 14: the loop stays free -----------------------------------------------------------


def test_healthz_answers_while_a_batch_is_being_stored(
    committed_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = threading.Event()
    release = threading.Event()
    real = service.ingest_batch

    def held(**kwargs: Any) -> list[service.BatchResult]:
        # Holds the batch mid-way until /healthz has answered: on the loop, it never would.
        inside.set()
        assert release.wait(timeout=60), "the batch was never released"
        return real(**kwargs)

    monkeypatch.setattr(service, "ingest_batch", held)
    app = create_app(settings, engine=committed_engine)
    batch = [factories.booking() for _ in range(5)]

    async def scenario() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        statuses: dict[str, int] = {}
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
            anyio.create_task_group() as group,
        ):

            async def ingest() -> None:
                answer = await http.post("/api/v1/events", json=batch, headers=INGEST)
                statuses["ingest"] = answer.status_code

            group.start_soon(ingest)
            await anyio.to_thread.run_sync(inside.wait)
            health = await http.get("/healthz")
            statuses["health"] = health.status_code
            release.set()
        return statuses["health"], statuses["ingest"]

    try:
        assert anyio.run(scenario) == (200, 200)
    finally:
        release.set()
    assert _events(committed_engine) == 5
