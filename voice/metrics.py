"""Prometheus metrics: what operators watch, and the ``/metrics`` endpoint that serves them.

Counters and histograms are updated where things happen (requests, sends). Gauges that
describe the database (outbox depth and age, open pauses) are read when Prometheus scrapes, so
they are true for every process at once. With ``PROMETHEUS_MULTIPROC_DIR`` set (several API or
worker processes), prometheus-client writes its counters to files there and the endpoint adds
every process's values up.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voice.database import utcnow

# prometheus-client writes each process's values under this folder from the first metric on.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

REQUESTS = Counter(
    "voice_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "voice_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SENDS = Counter(
    "voice_sends_total", "Messages handed to providers, by how they ended", ["channel", "status"]
)
RETRIES = Counter("voice_send_retries_total", "Sends scheduled to be tried again", ["channel"])
ACCOUNTING_QUEUE = Gauge(
    "voice_accounting_writer_queue", "Accounting entries waiting for their group commit",
    multiprocess_mode="livesum",
)  # fmt: skip


def route_of(scope: Scope) -> str:
    """The route's template (``/api/v1/cases/{case_id}``), never the raw path: ids and tokens
    in paths would make one time series per value."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path is not None else "unmatched"


class RequestMetricsMiddleware:
    """Request rate and latency per route, as plain ASGI.

    Plain ASGI rather than an ``@app.middleware("http")`` function: that style wraps every
    request and response in extra tasks and streams, a cost paid on every lookup.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router has put the matched route into this same scope by now.
            route = route_of(scope)
            method = str(scope.get("method", ""))
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(method, route, str(status)).inc()


class DatabaseCollector(Collector):
    """Outbox depth and the age of its oldest due row, per channel, and open guard pauses."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "voice_outbox_depth", "Rows waiting to be sent", labels=["channel"]
        )
        age = GaugeMetricFamily(
            "voice_outbox_oldest_age_seconds",
            "Age of the oldest row waiting to be sent",
            labels=["channel"],
        )
        paused = GaugeMetricFamily(
            "voice_guard_open_pauses", "Bursts the mass-event guard holds for a supervisor"
        )
        past_level = GaugeMetricFamily(
            "voice_inquiries_past_service_level",
            "Open inquiries past their first-response or resolution target",
        )
        silent = GaugeMetricFamily(
            "voice_feed_silent",
            "1 while an upstream source is quiet for longer than its cadence allows",
            labels=["source"],
        )
        breakers = GaugeMetricFamily(
            "voice_circuit_breaker_state",
            "A provider's circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=["breaker"],
        )
        now = utcnow()
        with self._engine.connect() as connection:
            for channel, count, oldest in _waiting(connection):
                depth.add_metric([channel], count)
                age.add_metric([channel], _seconds_since(oldest, now))
            paused.add_metric([], _open_pauses(connection))
            for key, state in _breakers(connection):
                breakers.add_metric([key], _BREAKER_STATES.get(state, 2))
            past_level.add_metric([], _inquiries_past_level(connection))
            for source, is_silent in _feeds(connection):
                silent.add_metric([source], 1 if is_silent else 0)
        yield depth
        yield age
        yield paused
        yield breakers
        yield past_level
        yield silent


def _waiting(connection: sa.Connection) -> Iterable[tuple[str, int, datetime | None]]:
    notification = sa.table(
        "notification",
        sa.column("channel", sa.String),
        sa.column("status", sa.String),
        sa.column("claimed_by", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    webhook = sa.table(
        "webhook_delivery",
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    rows = connection.execute(
        sa.select(
            notification.c.channel,
            sa.func.count(),
            sa.func.min(notification.c.created_at),
        )
        # Due, or leased to a worker that has not handed it over yet (a row sent and awaiting
        # its receipt is "sending" with no lease, and is no longer waiting on us).
        .where(
            sa.or_(
                notification.c.status == "created",
                sa.and_(notification.c.status == "sending", notification.c.claimed_by.is_not(None)),
            )
        )
        .group_by(notification.c.channel)
    ).all()
    found = {str(channel): (int(count), oldest) for channel, count, oldest in rows}
    hooks = connection.execute(
        sa.select(sa.func.count(), sa.func.min(webhook.c.created_at)).where(
            webhook.c.status.in_(("pending", "sending", "retrying"))
        )
    ).one()
    found["webhook"] = (int(hooks[0]), hooks[1])
    for channel in ("email", "sms", "webhook"):
        count, oldest = found.get(channel, (0, None))
        yield channel, count, oldest


def _seconds_since(oldest: datetime | str | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite hands raw text back through a plain table clause
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


def _open_pauses(connection: sa.Connection) -> int:
    pause = sa.table("mass_event_pause", sa.column("status", sa.String))
    count = connection.execute(
        sa.select(sa.func.count()).select_from(pause).where(pause.c.status == "open")
    ).scalar()
    return int(count or 0)


def _inquiries_past_level(connection: sa.Connection) -> int:
    inquiry = sa.table(
        "inquiry",
        sa.column("status", sa.String),
        sa.column("first_response_breached", sa.Boolean),
        sa.column("resolution_breached", sa.Boolean),
    )
    count = connection.execute(
        sa.select(sa.func.count())
        .select_from(inquiry)
        .where(
            inquiry.c.status != "closed",
            sa.or_(inquiry.c.first_response_breached, inquiry.c.resolution_breached),
        )
    ).scalar()
    return int(count or 0)


def _feeds(connection: sa.Connection) -> list[tuple[str, bool]]:
    """Each source, and whether the worker's freshness check found it silent."""
    feed = sa.table(
        "source_feed", sa.column("source", sa.String), sa.column("silent_since", sa.DateTime)
    )
    rows = connection.execute(sa.select(feed.c.source, feed.c.silent_since)).all()
    return [(str(source), since is not None) for source, since in rows]


_BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def _breakers(connection: sa.Connection) -> list[tuple[str, str]]:
    breaker = sa.table(
        "circuit_breaker", sa.column("key", sa.String), sa.column("state", sa.String)
    )
    rows = connection.execute(sa.select(breaker.c.key, breaker.c.state)).all()
    return [(str(key), str(state)) for key, state in rows]


def registry_for(engine: Engine) -> CollectorRegistry:
    """The registry ``/metrics`` renders: this process's (or every process's) counters, and
    the database's gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUESTS, LATENCY, SENDS, RETRIES, ACCOUNTING_QUEUE):
            registry.register(collector)
    registry.register(DatabaseCollector(engine))
    return registry


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Not public: it answers only to ``Authorization: Bearer <VOICE_METRICS_TOKEN>``, and to
    nobody while that is unset."""
    token = request.app.state.settings.metrics_token
    presented = request.headers.get("authorization", "")
    expected = f"Bearer {token.get_secret_value()}" if token is not None else None
    if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    body = generate_latest(registry_for(request.app.state.engine))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess_metrics() -> None:
    """Before starting several processes: empty ``PROMETHEUS_MULTIPROC_DIR`` (when set), so
    counters from a previous run do not add to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
