"""schemathesis against the OpenAPI document, in-process, with real authentication.

Each operation is called as the kind of caller its ``security`` names (staff on the session
cookie with the CSRF header, a signed-in victim, or a machine client holding every scope). No
answer may be a 5xx, and every answer must match the document: status, content type, schema.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from tests import factories
from tests.identity import INGEST, bearer, machine_token, staff_session
from voice.app import create_app
from voice.auth import victim_signin
from voice.config import Settings
from voice.database import transaction
from voice.victims.models import Victim

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ALL_SCOPES = "events:write webhooks:manage cases:read"


@pytest.fixture
def fuzzed_app(committed_engine: Engine, settings: Settings) -> Iterator[dict[str, Any]]:
    # The victim session below is issued once for the whole fuzz run, however slow it is.
    settings = settings.model_copy(update={"victim_session_minutes": 7 * 24 * 60})
    app = create_app(settings, engine=committed_engine)
    with TestClient(app) as client:
        assert client.post("/api/v1/events", json=factories.booking(), headers=INGEST).is_success
        csrf = staff_session(client, "liaison", "supervisor", "privacy_officer", "auditor", "admin")
        cookie = client.cookies["voice_session"]
        with transaction(committed_engine) as session:
            victim, _, _ = factories.victim_with_link(session, factories.case_of(session))
            row = session.get_one(Victim, victim.id)
            issued = victim_signin.create_session(session=session, victim=row, settings=settings)
        yield {
            "app": app,
            "staff": {"Cookie": f"voice_session={cookie}", **csrf},
            "victim": bearer(issued.token),
            "machine": bearer(machine_token(ALL_SCOPES)),
        }


def _headers(case: Any, identities: dict[str, Any]) -> dict[str, str]:
    security = case.operation.definition.raw.get("security") or []
    names = {name for option in security for name in option}
    if "victimSession" in names and case.path.startswith("/api/v1/self-service"):
        return dict(identities["victim"])
    if "machineClient" in names:
        return dict(identities["machine"])
    if "staffSession" in names:
        return dict(identities["staff"])
    return {}


def test_no_5xx_and_every_answer_matches_the_document(fuzzed_app: dict[str, Any]) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, so each operation's cases
    # run against this test's own database fixture.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app["app"])
    # Every operation must load: an operation the schema cannot describe is a failure too.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 30
    for operation in operations:
        if operation.path == "/api/v1/self-service/sign-out":
            continue  # would end the victim session that the other operations use

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=_headers(case, fuzzed_app), checks=CHECKS)

        run()
