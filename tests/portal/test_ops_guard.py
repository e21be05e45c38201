"""The mass-event guard in the portal: a pause's count and sample, then release or cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests import factories
from tests.identity import INGEST
from tests.portal.ops_helpers import sign_in
from voice.app import create_app
from voice.config import Settings, get_settings
from voice.database import transaction
from voice.notify.models import MassEventPause, Notification, NotificationStatus


@pytest.fixture
def guarded(
    committed_engine: Engine, settings: Settings, voice_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    # Ingest reads the guard's limits from the environment's settings: the second release in
    # the window trips it.
    monkeypatch.setenv("VOICE_GUARD_MAX_CRITICAL_EVENTS", "1")
    monkeypatch.setenv("VOICE_GUARD_MIN_EVENTS", "1000")
    get_settings.cache_clear()
    # No worker: the released notices stay queued where the test can see them.
    with TestClient(create_app(settings, engine=committed_engine, run_worker=False)) as client:
        for n in range(3):
            booked = factories.booking(subject_id=f"S-G{n}", case_number=f"G-{n}")
            assert client.post("/api/v1/events", json=booked, headers=INGEST).is_success
        with transaction(committed_engine) as session:
            for n in range(3):
                case = factories.case_of(session, f"G-{n}")
                factories.victim_with_link(session, case, email=f"v{n}@example.invalid")
        for n in range(3):
            released = factories.event(
                "custody.released", subject_id=f"S-G{n}", case_number=f"G-{n}",
                occurred_at="2026-11-09T16:40:00Z", case={"custody_status": "released"},
            )  # fmt: skip
            assert client.post("/api/v1/events", json=released, headers=INGEST).is_success
        yield client
    get_settings.cache_clear()


def _pause_id(engine: Engine) -> int:
    with transaction(engine) as session:
        pause = session.exec(select(MassEventPause)).one()
        assert pause.id is not None
        return pause.id


def test_a_supervisor_sees_a_pause_and_releases_it(
    guarded: TestClient, committed_engine: Engine
) -> None:
    client = guarded
    pause_id = _pause_id(committed_engine)
    csrf = sign_in(client, "supervisor", "supervisor-1")
    page = client.get("/portal/guard").text
    assert f"Pause {pause_id}</a>: 3 notices" in page
    assert "custody.released: 3" in page
    assert "G-0" in page
    assert "G-2" in page
    # Notices in the sample name cases, never their recipients.
    assert "example.invalid" not in page
    assert "Vera" not in page
    released = client.post(
        f"/portal/guard/{pause_id}/release", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert released.status_code == 303
    detail = client.get(f"/portal/guard/{pause_id}").text
    assert "released" in detail
    assert "created: 3" in detail
    again = client.post(f"/portal/guard/{pause_id}/cancel", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "already decided" in again.text
    with transaction(committed_engine) as session:
        statuses = session.exec(
            select(Notification.status).where(Notification.pause_id == pause_id)
        ).all()
        assert statuses == [NotificationStatus.CREATED] * 3


def test_a_supervisor_cancels_a_pause_and_liaisons_cannot_see_it(
    guarded: TestClient, committed_engine: Engine
) -> None:
    client = guarded
    pause_id = _pause_id(committed_engine)
    sign_in(client, "liaison", "liaison-1")
    assert client.get("/portal/guard").status_code == 403
    csrf = sign_in(client, "supervisor", "supervisor-1")
    client.post(f"/portal/guard/{pause_id}/cancel", data={"csrf_token": csrf})
    assert "cancelled: 3" in client.get(f"/portal/guard/{pause_id}").text
    assert "No pause is open" in client.get("/portal/guard").text
    assert client.get("/portal/guard/999999").status_code == 404
