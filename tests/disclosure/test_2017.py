"""April 2017: a public victim-notification search exposed minors and people protected by
8 U.S.C. 1367. Here, through every path out: queued notices, sends, self-service and explain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests import identity
from tests.factories import booking, case_of, event, victim_with_link
from voice import cli
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.disclosure.portions import marking_index_of_value
from voice.ingest import quarantine as spillage
from voice.ingest.service import ingest_event

NAME = "Zqprotected"


def protected_booking(flag: str) -> dict[str, Any]:
    body = booking()
    body["subject"]["last_name"] = NAME
    body["subject"]["flags"] = {flag: True}
    return body


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


@pytest.mark.parametrize("flag", ["minor", "protected_1367"])
def test_a_protected_subject_reaches_no_victim_by_any_path(
    flag: str,
    client: TestClient,
    committed_engine: Engine,
    policy: Policy,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(
            session=session,
            candidate=event("custody.detainer_lodged", occurred_at="2026-11-01T08:00:00Z"),
            policy=policy,
        )
        verified = victim_with_link(session, case_of(session))
        pending = victim_with_link(session, case_of(session), verified=False)
        receipt = ingest_event(session=session, candidate=protected_booking(flag), policy=policy)
    assert receipt.notifications == 0  # nothing queued for the verified victim

    for victim, _, pin in (verified, pending):
        headers = identity.victim_sign_in(client, victim.victim_code, pin)
        response = client.get("/api/v1/self-service/cases", headers=headers)
        assert response.status_code == 200
        data = response.json()["data"][0]
        assert (data["subject"], data["case"]) == ({}, {})
        assert data["message"] == policy.neutral_message
        assert NAME not in response.text

    path = tmp_path / "event.json"
    path.write_text(json.dumps(protected_booking(flag)), encoding="utf-8")
    for audience in ("victim_verified", "victim_pending", "family", "partner"):
        assert cli.main(["policy", "explain", "--audience", audience, str(path)]) == 0
        assert NAME not in capsys.readouterr().out


def test_a_later_event_that_drops_the_flag_does_not_unprotect(
    client: TestClient, committed_engine: Engine, policy: Policy
) -> None:
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=protected_booking("minor"), policy=policy)
        _, _, token = victim_with_link(session, case_of(session))
        later = event("custody.transferred", occurred_at="2026-11-09T10:00:00Z")
        later["subject"]["last_name"] = NAME
        assert ingest_event(session=session, candidate=later, policy=policy).notifications == 0
    response = client.get(
        "/api/v1/self-service/cases", headers={"Authorization": f"Bearer {token}"}
    )
    assert NAME not in response.text


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_the_spillage_scan_never_crashes(candidate: Any) -> None:
    spillage.scan(candidate)
    marking_index_of_value(candidate)
