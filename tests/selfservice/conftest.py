"""The self-service pages over HTTPS (their cookies are Secure outside development), with a
clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from voice.config import Settings
from voice.database import utcnow
from voice.selfservice.web_session import get_clock


@dataclass
class Clock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web(committed_engine: Engine, settings: Settings, clock: Clock) -> Iterator[TestClient]:
    from voice.app import create_app

    app = create_app(settings, engine=committed_engine)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app, base_url="https://testserver") as client:
        yield client
