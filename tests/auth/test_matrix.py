"""Every route x every kind of caller: the matrix in voice/auth/matrix.py is what happens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST, bearer, machine_token, staff_session
from voice.app import create_app
from voice.auth import matrix
from voice.auth.access import api_routes
from voice.auth.principals import Role, Scope
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.holds import service as hold_service
from voice.victims import signin as victim_signin
from voice.victims.models import Victim

# Where a page sends a caller it refuses: staff to the portal's sign-in, victims to theirs.
SIGN_IN_PAGES = ("/portal/sign-in", "/self-service/sign-in")


@dataclass(frozen=True)
class Caller:
    name: str
    grant: str | None  # the one grant this caller holds; None for anonymous


CALLERS = (
    [Caller("anonymous", None), Caller("victim", matrix.VICTIM)]
    + [Caller(f"staff:{r.value}", f"role:{r.value}") for r in Role]
    + [Caller(f"machine:{s.value}", f"scope:{s.value}") for s in Scope]
)


@dataclass(frozen=True)
class World:
    ids: dict[str, int | str]
    owner: Victim
    owner_pin: str
    other: Victim


@pytest.fixture
def world(committed_engine: Engine, settings: Settings) -> Iterator[tuple[TestClient, World]]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
        other_event = factories.booking(subject_id="S-OTHER", case_number="CASE-OTHER")
        assert client.post("/api/v1/events", json=other_event, headers=INGEST).is_success
        with transaction(committed_engine) as session:
            case = factories.case_of(session)
            owner, _, pin = factories.victim_with_link(session, case)
            other_case = factories.case_of(session, "CASE-OTHER")
            other, link, _ = factories.victim_with_link(
                session, other_case, email="other@example.invalid"
            )
            other.first_name, other.last_name = "Olga", "Otherby"
            session.add(other)
            hold = hold_service.set_hold(
                session=session,
                case_id=other_case.id or 0,
                reason="test",
                expires_at=utcnow() + timedelta(days=1),
                set_by="staff-1",
            )
            ids: dict[str, int | str] = {
                "case_id": case.id or 0,
                "victim_id": other.id or 0,
                "link_id": link.id or 0,
                "hold_id": hold.id or 0,
                "task_id": 1,
                # Path parts of public routes that check their own credential.
                "event_id": 1,
                "token": 0,
                # Webhook endpoints and deliveries that do not exist: admins get a 404.
                "endpoint_id": 1,
                "delivery_id": 1,
                # Portal forms: a task that does not exist; a contact point's kind.
                "kind": "phone",
                # Portal operations on rows that do not exist: allowed staff get a 404 page.
                "message_id": 1,
                "pause_id": 1,
                "quarantine_id": 0,
                # Inquiries, answers and referral providers that do not exist: a 404 for staff.
                "inquiry_id": 1,
                "answer_id": 1,
                "referral_id": 1,
                "template_id": 1,
            }
        yield client, World(ids=ids, owner=owner, owner_pin=pin, other=other)


def _headers(client: TestClient, caller: Caller, engine: Engine, world: World) -> dict[str, str]:
    client.cookies.clear()
    if caller.grant is None:
        return {}
    if caller.grant == matrix.VICTIM:
        with transaction(engine) as session:
            owner = session.get_one(Victim, world.owner.id)
            issued = victim_signin.create_session(
                session=session, victim=owner, settings=_app(client).state.settings
            )
        return bearer(issued.token)
    if caller.grant.startswith("role:"):
        return staff_session(client, caller.grant[5:])
    return bearer(machine_token(caller.grant[6:]))


def _app(client: TestClient) -> FastAPI:
    app = client.app
    assert isinstance(app, FastAPI)
    return app


def _url(path: str, ids: dict[str, int | str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def test_every_route_is_in_the_matrix_and_every_entry_is_a_route(settings: Settings) -> None:
    app = create_app(settings)
    routes: list[Any] = list(app.routes)
    served = set(api_routes(routes))
    documents = {("GET", "/openapi.json"), ("GET", "/docs")}
    assert set(matrix.MATRIX) == served | documents
    plain = {r.path for r in routes if type(r).__name__ == "Route"}
    # Nothing else escapes the matrix (/docs is a routed page of its own, voice/api_docs.py).
    assert plain <= {path for _, path in documents}


def test_the_matrix_holds_for_every_route_and_caller(
    world: tuple[TestClient, World], committed_engine: Engine
) -> None:
    client, state = world
    failures = []
    for method, path in sorted(api_routes(_app(client).routes)):
        grants = matrix.MATRIX[(method, path)]
        for caller in CALLERS:
            headers = _headers(client, caller, committed_engine, state)
            response = client.request(
                method,
                _url(path, state.ids),
                headers=headers,
                json={} if method in ("POST", "PATCH") else None,
                follow_redirects=False,
            )
            allowed = matrix.PUBLIC in grants or caller.grant in grants
            refused = response.status_code in (401, 403) or (
                response.status_code == 303
                and response.headers["location"].startswith(SIGN_IN_PAGES)
            )
            # An allowed caller may still get 404/409/422/503 for other reasons, never 401/403.
            if allowed == refused:
                failures.append(f"{caller.name} {method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_unsafe_staff_calls_need_the_csrf_token(world: tuple[TestClient, World]) -> None:
    client, state = world
    csrf = staff_session(client, "supervisor")
    url = f"/api/v1/victims/{state.ids['victim_id']}/verify"
    assert client.post(url).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(url, headers=csrf).status_code == 200


def test_one_victim_never_reads_another_victims_case_or_contact_details(
    world: tuple[TestClient, World], committed_engine: Engine
) -> None:
    client, state = world
    victim = _headers(client, Caller("victim", matrix.VICTIM), committed_engine, state)
    other = state.other
    bodies = []
    for method, path in sorted(api_routes(_app(client).routes)):
        response = client.request(
            method,
            _url(path, state.ids),
            headers=victim,
            json={} if method != "GET" else None,
            follow_redirects=False,
        )
        bodies.append(response.text)
        grants = matrix.MATRIX[(method, path)]
        if matrix.PUBLIC not in grants and matrix.VICTIM not in grants:
            # The victims' web pages take their own session cookie, never a bearer token:
            # without the cookie they send the caller to sign in.
            sent_to_sign_in = response.status_code == 303 and response.headers[
                "location"
            ].startswith(SIGN_IN_PAGES)
            assert response.status_code in (401, 403) or sent_to_sign_in, (
                f"{method} {path}: {response.status_code}"
            )
    # The loop signed the victim out along the way; sign in again for the last read.
    victim = _headers(client, Caller("victim", matrix.VICTIM), committed_engine, state)
    mine = client.get("/api/v1/self-service/cases", headers=victim).json()
    assert [c["case_id"] for c in mine["data"]] == [state.ids["case_id"]]
    everything = "\n".join(bodies)
    for secret in (other.email, "Olga", "Otherby", "CASE-OTHER", "S-OTHER"):
        assert secret is not None
        assert secret not in everything
