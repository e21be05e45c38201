"""/metrics: its names and labels, and that only the scrape token opens it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST
from voice.app import create_app
from voice.config import Settings

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def scraped(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(configured, engine=committed_engine)) as client:
        yield client


def _families(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_are_closed_without_the_scrape_token(
    scraped: TestClient, client: TestClient
) -> None:
    assert scraped.get("/metrics").status_code == 401
    assert scraped.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    # Unconfigured, nobody gets in.
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_requests_outbox_and_pauses_are_measured_by_route_and_channel(
    scraped: TestClient,
) -> None:
    assert scraped.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
    scraped.get("/api/v1/cases/123456")  # a route template, never the raw path, is the label
    families = _families(scraped)
    requests = families["voice_http_requests_total"]
    assert requests[(("method", "POST"), ("route", "/api/v1/events"), ("status", "201"))] >= 1
    assert not any("123456" in value for labels in requests for _, value in labels)
    assert any(
        dict(labels).get("route") == "/api/v1/events"
        for labels in families["voice_http_request_duration_seconds_count"]
    )
    depth = families["voice_outbox_depth"]
    assert {dict(labels)["channel"] for labels in depth} == {"email", "sms", "webhook"}
    assert set(families["voice_outbox_oldest_age_seconds"]) == set(depth)
    assert families["voice_guard_open_pauses"][()] == 0
    assert families["voice_inquiries_past_service_level"][()] == 0
    # The event's source is watched for silence from its first event on.
    assert families["voice_feed_silent"][(("source", "enforce"),)] == 0


def test_every_answer_carries_a_request_id(scraped: TestClient) -> None:
    assert len(scraped.get("/healthz").headers["x-request-id"]) == 32
    kept = scraped.get("/healthz", headers={"x-request-id": "abc-12345"})
    assert kept.headers["x-request-id"] == "abc-12345"
    forged = scraped.get("/healthz", headers={"x-request-id": "bad value\nwith newline"})
    assert forged.headers["x-request-id"] != "bad value\nwith newline"
