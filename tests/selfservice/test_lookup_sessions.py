"""The victim's session check is remembered briefly in the process, and still revocable: an
ended session gets no case data, however it ended and whichever process ended it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.clock import FrozenClock
from tests.identity import INGEST, victim_sign_in
from voice import database
from voice.auth import credentials, victim_sessions
from voice.auth.models import VictimSession
from voice.database import transaction, utcnow
from voice.selfservice.web_session import end_session
from voice.victims import service as victim_service
from voice.victims.models import Victim

CASES = "/api/v1/self-service/cases"
_SESSIONS = VictimSession.__table__  # type: ignore[attr-defined]


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    # The service's clock (tests/clock.py's fixture, under a name this folder's own clock,
    # the web pages' one, does not hide).
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    database.set_clock(clock)
    try:
        yield clock
    finally:
        database.set_clock(None)


@pytest.fixture
def signed_in(client: TestClient, committed_engine: Engine) -> tuple[dict[str, str], int]:
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    headers = victim_sign_in(client, victim.victim_code, pin)
    assert client.get(CASES, headers=headers).status_code == 200
    assert victim.id is not None
    return headers, victim.id


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_a_checked_session_is_remembered(signed_in: tuple[dict[str, str], int]) -> None:
    headers, victim_id = signed_in
    assert victim_sessions.remembered(_token(headers)) == victim_id


def test_signing_out_ends_the_session_at_once(
    client: TestClient, signed_in: tuple[dict[str, str], int]
) -> None:
    headers, _ = signed_in
    assert client.post("/api/v1/self-service/sign-out", headers=headers).status_code == 204
    assert victim_sessions.remembered(_token(headers)) is None
    assert client.get(CASES, headers=headers).status_code == 401


def test_the_web_sign_out_ends_the_same_session_at_once(
    client: TestClient, committed_engine: Engine, signed_in: tuple[dict[str, str], int]
) -> None:
    headers, _ = signed_in
    with transaction(committed_engine) as session:
        end_session(session=session, token=_token(headers), now=utcnow())
    assert client.get(CASES, headers=headers).status_code == 401


def test_deactivating_the_victim_ends_the_session_at_once(
    client: TestClient, committed_engine: Engine, signed_in: tuple[dict[str, str], int]
) -> None:
    headers, victim_id = signed_in
    with transaction(committed_engine) as session:
        victim_service.deactivate(session=session, victim=session.get_one(Victim, victim_id))
    assert victim_sessions.remembered(_token(headers)) is None
    assert client.get(CASES, headers=headers).status_code == 401


def test_a_session_ended_by_another_process_gets_no_case_data(
    client: TestClient, committed_engine: Engine, signed_in: tuple[dict[str, str], int]
) -> None:
    """Revoked straight in the database, as another API process would: this process still
    remembers the session, but the lookup's own read checks it again."""
    headers, _ = signed_in
    token_hash = credentials.hash_token(_token(headers))
    with committed_engine.begin() as connection:
        connection.execute(
            sa.update(_SESSIONS)
            .where(_SESSIONS.c.token_hash == token_hash)
            .values(revoked_at=utcnow())
        )
    assert victim_sessions.remembered(_token(headers)) is not None
    refused = client.get(CASES, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "data" not in refused.json()
    # Forgotten here too, so the victim's other routes refuse it as well from now on.
    assert victim_sessions.remembered(_token(headers)) is None


def test_an_expired_session_is_refused_though_remembered(
    client: TestClient, frozen: FrozenClock, signed_in: tuple[dict[str, str], int]
) -> None:
    headers, _ = signed_in
    assert victim_sessions.remembered(_token(headers)) is not None
    frozen.advance(days=30)
    assert victim_sessions.remembered(_token(headers)) is None
    assert client.get(CASES, headers=headers).status_code == 401


def test_an_answer_read_before_a_session_ended_is_not_remembered_after() -> None:
    """The check reads, another thread ends the session and forgets it, then the check would
    remember what it read: the forget in between wins."""
    checks = victim_sessions._Checks()
    generation = checks.generation
    checks.forget("hash", None)
    checks.remember("hash", 7, utcnow() + timedelta(hours=1), generation)
    assert checks.recall("hash") is None
    checks.remember("hash", 7, utcnow() + timedelta(hours=1), checks.generation)
    assert checks.recall("hash") == 7
