"""Shared steps of the portal operations tests: a case with a verified registrant, forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST, staff_session
from voice.database import transaction


def case_with_registrant(client: TestClient, engine: Engine) -> tuple[int, int]:
    """A booked case with one verified registrant; returns (case id, link id)."""
    assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
    with transaction(engine) as session:
        case = factories.case_of(session)
        _, link, _ = factories.victim_with_link(session, case)
        assert case.id is not None
        assert link.id is not None
        return case.id, link.id


def sign_in(client: TestClient, role: str, sub: str) -> str:
    """Sign in as ``role`` with subject ``sub``; returns the CSRF token for forms."""
    return staff_session(client, role, sub=sub)["X-CSRF-Token"]


def message_id_from(location: str) -> int:
    found = re.fullmatch(r"/portal/messages/(\d+)", location)
    assert found, location
    return int(found.group(1))
