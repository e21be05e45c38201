"""Staff sessions end on the server: at sign-out, on a role change, when idle, and at the
latest after their absolute lifetime. A copy of the cookie is worth nothing after that."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.clock import FrozenClock
from tests.identity import staff_session
from voice.app import create_app
from voice.auth import staff_sessions
from voice.config import Settings
from voice.database import transaction

VICTIM = {"first_name": "Ana", "last_name": "Reyes", "email": "ana@example.org"}


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def _works(client: TestClient, cookie: str, csrf: dict[str, str]) -> tuple[int, int]:
    """(reading disclosures, registering a victim) with this cookie, as status codes."""
    client.cookies.set("voice_session", cookie)
    read = client.get("/api/v1/disclosures", follow_redirects=False).status_code
    wrote = client.post("/api/v1/victims", json=VICTIM, headers=csrf, follow_redirects=False)
    return read, wrote.status_code


def test_a_copied_cookie_is_refused_after_sign_out(client: TestClient) -> None:
    csrf = staff_session(client, "supervisor")
    cookie = client.cookies["voice_session"]
    assert _works(client, cookie, csrf) == (200, 201)
    signed_out = client.post("/portal/sign-out", headers=csrf)
    assert signed_out.status_code == 200
    assert _works(client, cookie, csrf) == (401, 401)
    client.cookies.set("voice_session", cookie)
    assert client.get("/portal/cases", follow_redirects=False).status_code == 303


def test_an_idle_session_ends_and_activity_keeps_one_alive(
    client: TestClient,
    clock: FrozenClock,
) -> None:
    csrf = staff_session(client, "supervisor")
    cookie = client.cookies["voice_session"]
    # Requests every ten minutes keep it alive well past fifteen...
    for _ in range(4):
        clock.advance(minutes=10)
        assert _works(client, cookie, csrf) == (200, 201)
    # ...and fifteen minutes without one end it, for good.
    clock.advance(minutes=15, seconds=1)
    assert _works(client, cookie, csrf) == (401, 401)
    clock.advance(seconds=-30)
    assert _works(client, cookie, csrf) == (401, 401)


def test_the_idle_timeout_is_configurable(
    committed_engine: Engine,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    short = settings.model_copy(update={"staff_session_idle_minutes": 2})
    with TestClient(create_app(short, engine=committed_engine)) as client:
        csrf = staff_session(client, "supervisor")
        cookie = client.cookies["voice_session"]
        clock.advance(minutes=1)
        assert _works(client, cookie, csrf) == (200, 201)
        clock.advance(minutes=2, seconds=1)
        assert _works(client, cookie, csrf) == (401, 401)


def test_an_active_session_still_ends_at_its_absolute_lifetime(
    client: TestClient,
    clock: FrozenClock,
) -> None:
    csrf = staff_session(client, "supervisor")
    cookie = client.cookies["voice_session"]
    for _ in range(8 * 6 - 1):  # every ten minutes, just short of eight hours
        clock.advance(minutes=10)
        assert client.get("/api/v1/disclosures").status_code == 200
    clock.advance(minutes=10, seconds=1)
    assert _works(client, cookie, csrf) == (401, 401)


def test_signing_in_with_other_roles_ends_the_sessions_held_with_the_old_ones(
    client: TestClient,
) -> None:
    csrf = staff_session(client, "supervisor", sub="staff-9")
    cookie = client.cookies["voice_session"]
    # The same person signs in elsewhere; the identity provider now gives them fewer roles.
    staff_session(client, "liaison", sub="staff-9")
    assert _works(client, cookie, csrf) == (401, 401)


def test_signing_in_again_with_the_same_roles_keeps_the_other_session(
    client: TestClient,
) -> None:
    csrf = staff_session(client, "supervisor", sub="staff-8")
    cookie = client.cookies["voice_session"]
    staff_session(client, "supervisor", sub="staff-8")
    assert _works(client, cookie, csrf) == (200, 201)


def test_an_administrator_ends_every_session_of_one_person(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = staff_session(client, "supervisor", sub="staff-7")
    cookie = client.cookies["voice_session"]
    other = staff_session(client, "supervisor", sub="staff-6")
    other_cookie = client.cookies["voice_session"]
    with transaction(committed_engine) as session:
        assert staff_sessions.end_sessions_for(session=session, subject="staff-7") == 1
    assert _works(client, cookie, csrf) == (401, 401)
    assert _works(client, other_cookie, other) == (200, 201)


def test_the_cookie_holds_only_the_session_id(client: TestClient) -> None:
    import json
    from base64 import b64decode

    staff_session(client, "supervisor")
    assert client.get("/portal/me").status_code == 200
    payload = client.cookies["voice_session"].split(".")[0]
    data = json.loads(b64decode(payload + "=" * (-len(payload) % 4)))
    assert list(data) == ["sid"]
