"""An unproven contact point becomes a liaison task once its grace period is over, and the
task closes when the contact point is proven or removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests.identity import staff_session
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction
from voice.liaison import contact_tasks
from voice.liaison.models import LiaisonTask, TaskKind
from voice.victims.deps import get_now

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, engine=committed_engine)

    async def now() -> datetime:
        return T0

    app.dependency_overrides[get_now] = now
    with TestClient(app) as client:
        yield client


def scan(engine: Engine, settings: Settings, at: datetime) -> list[tuple[str, str]]:
    """Run the worker's scan at ``at``; the unverified-contact tasks as (reason's kind, status)."""
    with transaction(engine) as session:
        contact_tasks.reconcile_all(session=session, settings=settings, now=at)
    with transaction(engine) as session:
        tasks = session.exec(
            select(LiaisonTask)
            .where(LiaisonTask.kind == TaskKind.UNVERIFIED_CONTACT)
            .order_by(col(LiaisonTask.id))
        ).all()
        return [(t.reason.split()[0], t.status) for t in tasks]


def test_unproven_contact_points_become_tasks_that_close_when_proven_or_removed(
    client: TestClient, committed_engine: Engine, settings: Settings
) -> None:
    csrf = staff_session(client, "liaison")
    body = {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "j@example.org",
        "phone": "+15550100199",
    }
    victim = client.post("/api/v1/victims", json=body, headers=csrf).json()["victim"]

    grace = timedelta(hours=settings.contact_unverified_task_hours)
    assert scan(committed_engine, settings, T0) == []  # the link and code were just sent
    assert scan(committed_engine, settings, T0 + grace - timedelta(seconds=1)) == []
    later = T0 + grace
    assert scan(committed_engine, settings, later) == [("email", "open"), ("phone", "open")]
    assert scan(committed_engine, settings, later) == [("email", "open"), ("phone", "open")]

    attest = f"/api/v1/victims/{victim['id']}/contact-points/phone/attest"
    assert client.post(attest, json={"note": "called"}, headers=csrf).status_code == 201
    with transaction(committed_engine) as session:
        closed = session.exec(
            select(LiaisonTask).where(col(LiaisonTask.reason).startswith("phone"))
        ).one()
        assert closed.closed_at is not None
    assert scan(committed_engine, settings, later) == [("email", "open"), ("phone", "done")]

    client.patch(f"/api/v1/victims/{victim['id']}", json={"email": None}, headers=csrf)
    assert scan(committed_engine, settings, later) == [("email", "done"), ("phone", "done")]
