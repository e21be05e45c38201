"""The self-service API: a victim's linked cases, each read accounted for."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from tests import factories
from tests.identity import INGEST, victim_sign_in
from voice.app import create_app
from voice.audit.group_commit import AccountingWriter, _Waiting
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import transaction


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
