"""The HTTP surface: ingest, contract, health, self-service and the first portal pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from tests import factories
from tests.identity import INGEST, staff_session, victim_sign_in
from voice.app import create_app
from voice.cases.models import CaseEvent
from voice.config import Environment, Settings
from voice.database import make_engine, transaction
from voice.disclosure.group_commit import AccountingWriter, _Waiting
from voice.disclosure.models import DisclosureRecord
from voice.ingest.validation import CONTRACT_PATH


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(CaseEvent)).one()


def test_health_and_contract(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
    contract = client.get("/api/v1/contract/event.schema.json")
    assert contract.status_code == 200
    assert contract.json() == json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


def test_readyz_reports_pending_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    settings = Settings(environment=Environment.TEST, database_url=url)
    with TestClient(create_app(settings, engine=make_engine(url))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "migrations pending"


def test_ingest_requires_the_ingest_token(client: TestClient, committed_engine: Engine) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = client.post("/api/v1/events", json=factories.booking(), headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    assert _events(committed_engine) == 0


def test_invalid_event_lists_every_problem_by_pointer(
    client: TestClient, committed_engine: Engine
) -> None:
    bad = factories.booking()
    bad["event_type"] = "custody.vanished"
    bad["occurred_at"] = "yesterday"
    bad["subject"]["a_number"] = "12"
    bad["unexpected"] = True
    del bad["source"]
    response = client.post("/api/v1/events", json=bad, headers=INGEST)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {
        "/event_type",
        "/occurred_at",
        "/subject/a_number",
        "/unexpected",
        "/source",
    }
    assert _events(committed_engine) == 0


def test_body_that_is_not_json_is_a_clear_400(client: TestClient) -> None:
    response = client.post("/api/v1/events", content=b"{not json", headers=INGEST)
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


def test_replay_returns_the_original_receipt(client: TestClient, committed_engine: Engine) -> None:
    event = factories.booking()
    first = client.post("/api/v1/events", json=event, headers=INGEST)
    second = client.post("/api/v1/events", json=event, headers=INGEST)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["receipt_id"] == second.json()["receipt_id"]
    assert second.json()["status"] == "duplicate"
    assert _events(committed_engine) == 1


def test_batch_reports_each_event_and_applies_the_valid_ones(
    client: TestClient, committed_engine: Engine
) -> None:
    good, also_good = factories.booking(), factories.event("case.hearing_scheduled")
    bad = factories.event("custody.released")
    bad["case"]["custody_status"] = "vanished"
    response = client.post("/api/v1/events", json=[good, bad, also_good, good], headers=INGEST)
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "duplicate",
    ]
    assert body["results"][1]["errors"][0]["pointer"] == "/case/custody_status"
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 1)
    assert _events(committed_engine) == 2


def test_ndjson_batch(client: TestClient, committed_engine: Engine) -> None:
    lines = "\n".join(json.dumps(e) for e in (factories.booking(), factories.event("case.closed")))
    response = client.post(
        "/api/v1/events",
        content=lines.encode(),
        headers={**INGEST, "content-type": "application/x-ndjson"},
    )
    assert response.json()["accepted"] == 2
    assert _events(committed_engine) == 2


def test_self_service_shows_only_linked_cases_and_accounts_for_each_read(
    client: TestClient, committed_engine: Engine
) -> None:
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    other = factories.booking(subject_id="S-OTHER", case_number="CASE-OTHER")
    client.post("/api/v1/events", json=other, headers=INGEST)
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
        pending_victim, _, pending_pin = factories.victim_with_link(
            session, factories.case_of(session, "CASE-OTHER"), verified=False
        )
    token = victim_sign_in(client, victim.victim_code, pin)
    pending_token = victim_sign_in(client, pending_victim.victim_code, pending_pin)

    assert client.get("/api/v1/self-service/cases").status_code == 401
    bad = client.get("/api/v1/self-service/cases", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401

    mine = client.get("/api/v1/self-service/cases", headers=token)
    data = mine.json()["data"]
    assert [d["verified"] for d in data] == [True]
    assert data[0]["subject"] == {
        "first_name": "Ramon",
        "last_name": "Example",
        "country_of_birth": "Exampleland",  # as the public locator shows it
    }
    assert data[0]["case"] == {
        "custody_status": "in_custody",
        "facility_name": "Example Processing Center",
        "facility_city": "Sampletown",
        "facility_state": "TX",
        "proceedings_stage": "initiated",
    }

    pending = client.get("/api/v1/self-service/cases", headers=pending_token)
    pending_case = pending.json()["data"][0]
    assert pending_case["verified"] is False
    assert set(pending_case["case"]) == {"custody_status", "facility_name"}
    assert set(pending_case["subject"]) == {"first_name", "last_name", "country_of_birth"}

    with Session(committed_engine) as session:
        records = session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.id))).all()
    assert [(r.channel, r.audience) for r in records] == [
        ("api", "victim_verified"),
        ("api", "victim_pending"),
    ]
    assert "subject.a_number" in {w["field"] for w in records[0].fields_withheld}


def test_self_service_releases_nothing_when_its_accounting_cannot_commit(
    committed_engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=committed_engine)

    class Refusing(AccountingWriter):
        def _commit(self, batch: list[_Waiting]) -> None:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    app.state.accounting_writer = Refusing(committed_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
        with transaction(committed_engine) as session:
            victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
        answer = client.get(
            "/api/v1/self-service/cases", headers=victim_sign_in(client, victim.victim_code, pin)
        )
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert answer.headers["content-type"].startswith("application/problem+json")
    for leaked in ("Ramon", "Example", "in_custody", "Sampletown", "CASE-T-0001"):
        assert leaked not in answer.text
    with Session(committed_engine) as session:
        assert session.exec(select(func.count()).select_from(DisclosureRecord)).one() == 0


def test_portal_requires_sign_in_and_shows_case_with_timeline(client: TestClient) -> None:
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    client.post("/api/v1/events", json=factories.event("case.hearing_scheduled"), headers=INGEST)
    # Browsers are sent to sign in; with no identity provider configured and no development
    # sign-in outside development, signing in is refused outright.
    redirect = client.get("/portal/cases", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (303, "/portal/sign-in")
    assert client.get("/portal/sign-in", follow_redirects=False).status_code == 503
    assert client.get("/portal/dev-sign-in").status_code == 404
    # A development session cookie is worth nothing outside development.
    staff_session(client, "liaison", via="development")
    assert client.get("/portal/cases", follow_redirects=False).status_code == 303
    staff_session(client, "liaison")
    listing = client.get("/portal/cases")
    assert listing.status_code == 200
    assert "CASE-T-0001" in listing.text


def test_portal_pages_in_development(committed_engine: Engine, settings: Settings) -> None:
    dev = settings.model_copy(update={"environment": Environment.DEVELOPMENT})
    with TestClient(create_app(dev, engine=committed_engine)) as client:
        client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
        client.post(
            "/api/v1/events", json=factories.event("case.hearing_scheduled"), headers=INGEST
        )
        redirect = client.get("/portal/cases", follow_redirects=False)
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/portal/sign-in"
        to_dev = client.get("/portal/sign-in", follow_redirects=False)
        assert to_dev.headers["location"] == "/portal/dev-sign-in"
        form = client.get("/portal/dev-sign-in").text
        assert "DEVELOPMENT SIGN-IN" in form
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        # Without the form's CSRF token, the sign-in is refused.
        refused = client.post("/portal/dev-sign-in", data={"name": "Lee Liaison"})
        assert refused.status_code == 403
        signed_in = client.post(
            "/portal/dev-sign-in",
            data={"name": "Lee Liaison", "role": "supervisor", "csrf_token": csrf.group(1)},
        )
        assert "supervisor" in signed_in.text

        listing = client.get("/portal/cases")
        assert listing.status_code == 200
        assert "CASE-T-0001" in listing.text
        assert "Lee Liaison" in listing.text
        with Session(committed_engine) as session:
            case_id = factories.case_of(session).id
        page = client.get(f"/portal/cases/{case_id}")
        assert page.status_code == 200
        assert page.text.index("custody.booked") < page.text.index("case.hearing_scheduled")
        assert "case.officer_name" in page.text  # staff see what victims do not, and why
        assert client.get("/portal/cases/999999").status_code == 404

        assert client.post("/portal/sign-out").status_code == 403  # no CSRF token
        page_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page_csrf is not None
        client.post("/portal/sign-out", data={"csrf_token": page_csrf.group(1)})
        assert client.get("/portal/cases", follow_redirects=False).status_code == 303
