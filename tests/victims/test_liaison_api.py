"""The liaison API: registration with Victim ID and PIN, links and their verification, search,
notification history, safety holds, and the accounting of disclosures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import factories
from tests.identity import INGEST, bearer, machine_token, staff_session, victim_sign_in
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction, utcnow


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        booking = factories.booking()
        booking["subject"].update(first_name="Muhammad", last_name="Hernández")
        assert client.post("/api/v1/events", json=booking, headers=INGEST).is_success
        other = factories.booking(subject_id="S-2", case_number="CASE-2")
        other["subject"].update(first_name="Wei", last_name="Zhang", a_number="A987654321")
        assert client.post("/api/v1/events", json=other, headers=INGEST).is_success
        yield client


def _case_id(client: TestClient, csrf: dict[str, str], number: str) -> int:
    found = client.get("/api/v1/cases", params={"case_number": number}, headers=csrf).json()
    assert found["count"] == 1
    case_id: int = found["data"][0]["id"]
    return case_id


def test_register_link_verify_and_the_victim_view_widens(client: TestClient) -> None:
    csrf = staff_session(client, "liaison")
    case_id = _case_id(client, csrf, "CASE-T-0001")
    registered = client.post(
        "/api/v1/victims",
        json={"first_name": "Ana", "last_name": "Reyes", "email": "ana@example.org"},
        headers=csrf,
    )
    assert registered.status_code == 201
    body = registered.json()
    victim_id, code, pin = body["victim"]["id"], body["victim_id"], body["pin"]
    assert len(pin) == 8
    assert "pin" not in client.get(f"/api/v1/victims/{victim_id}", headers=csrf).json()

    link = client.post(
        f"/api/v1/victims/{victim_id}/links",
        json={"case_id": case_id, "relationship": "victim", "notify_sms": True},
        headers=csrf,
    )
    assert link.status_code == 201
    assert link.json()["verification_status"] == "pending"
    duplicate = client.post(
        f"/api/v1/victims/{victim_id}/links", json={"case_id": case_id}, headers=csrf
    )
    assert duplicate.status_code == 409

    # Until a liaison verifies the relationship, the registrant gets the pending view only.
    client.cookies.clear()
    victim = victim_sign_in(client, code, pin)
    pending = client.get("/api/v1/self-service/cases", headers=victim).json()["data"][0]
    assert pending["verified"] is False
    assert "proceedings_stage" not in pending["case"]

    csrf = staff_session(client, "liaison")
    verified = client.post(f"/api/v1/links/{link.json()['id']}/verify", headers=csrf)
    assert verified.json()["verification_status"] == "verified"
    prefs = client.patch(
        f"/api/v1/links/{link.json()['id']}", json={"notify_sms": False}, headers=csrf
    )
    assert prefs.json()["notify_sms"] is False
    client.cookies.clear()
    full = client.get("/api/v1/self-service/cases", headers=victim).json()["data"][0]
    assert full["case"]["proceedings_stage"] == "initiated"


def test_update_verify_find_reset_pin_and_deactivate(client: TestClient) -> None:
    csrf = staff_session(client, "supervisor")
    created = client.post(
        "/api/v1/victims",
        json={"first_name": "Li", "last_name": "Na", "phone": "+15550100123"},
        headers=csrf,
    ).json()
    victim_id = created["victim"]["id"]
    updated = client.patch(
        f"/api/v1/victims/{victim_id}",
        json={"email": "li.na@example.org", "preferred_language": "es"},
        headers=csrf,
    ).json()
    assert (updated["email"], updated["email_verified"], updated["preferred_language"]) == (
        "li.na@example.org",
        False,
        "es",
    )
    found = client.get("/api/v1/victims", params={"email": "LI.NA@example.org"}, headers=csrf)
    assert [v["id"] for v in found.json()["data"]] == [victim_id]
    by_phone = client.get("/api/v1/victims", params={"phone": "+1 555 010 0123"}, headers=csrf)
    assert by_phone.json()["count"] == 1
    assert client.post(f"/api/v1/victims/{victim_id}/verify", headers=csrf).json()["verified_at"]
    new_pin = client.post(f"/api/v1/victims/{victim_id}/reset-pin", headers=csrf).json()["pin"]
    assert new_pin != created["pin"]
    deactivated = client.post(f"/api/v1/victims/{victim_id}/deactivate", headers=csrf).json()
    assert deactivated["active"] is False
    client.cookies.clear()
    refused = client.post(
        "/api/v1/self-service/sign-in", json={"victim_id": created["victim_id"], "pin": new_pin}
    )
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Mohammed Hernandez", "CASE-T-0001"),  # spelling variant and a dropped accent
        ("muhamad", "CASE-T-0001"),
        ("Chang Wei", "CASE-2"),  # transliteration variant, names in the other order
    ],
)
def test_name_search_finds_spelling_variants(client: TestClient, query: str, expected: str) -> None:
    csrf = staff_session(client, "liaison")
    cases = client.get("/api/v1/cases", params={"name": query}, headers=csrf).json()
    assert [c["case_number"] for c in cases["data"]] == [expected]
    subjects = client.get("/api/v1/subjects", params={"name": query}, headers=csrf).json()
    assert subjects["count"] == 1
    assert subjects["data"][0]["score"] >= 0.86


def test_a_number_search_and_pagination(client: TestClient) -> None:
    csrf = staff_session(client, "privacy_officer")
    for spelling in ("A987654321", "987-654-321", "a987654321"):
        found = client.get("/api/v1/subjects", params={"a_number": spelling}, headers=csrf).json()
        assert [s["last_name"] for s in found["data"]] == ["Zhang"]
    first = client.get("/api/v1/cases", params={"size": 1}, headers=csrf).json()
    second = client.get("/api/v1/cases", params={"size": 1, "page": 2}, headers=csrf).json()
    assert first["count"] == second["count"] == 2
    assert first["data"][0]["id"] != second["data"][0]["id"]
    assert client.get("/api/v1/cases", params={"size": 1000}, headers=csrf).status_code == 422
    assert client.get("/api/v1/subjects", params={"name": "Xochitl"}, headers=csrf).json() == {
        "data": [],
        "count": 0,
    }


def test_safety_hold_stops_disclosure_to_victims_and_partners(
    client: TestClient, committed_engine: Engine
) -> None:
    csrf = staff_session(client, "liaison")
    case_id = _case_id(client, csrf, "CASE-T-0001")
    with transaction(committed_engine) as session:
        victim, _, pin = factories.victim_with_link(session, factories.case_of(session))
    expires = (utcnow() + timedelta(days=2)).isoformat()
    hold = client.post(
        f"/api/v1/cases/{case_id}/holds",
        json={"reason": "threat reported by the victim", "expires_at": expires},
        headers=csrf,
    )
    assert hold.status_code == 201
    assert hold.json()["active"] is True
    past = (utcnow() - timedelta(days=1)).isoformat()
    stale = client.post(
        f"/api/v1/cases/{case_id}/holds", json={"reason": "x", "expires_at": past}, headers=csrf
    )
    assert stale.status_code == 422
    # A liaison may set a hold but not lift it.
    assert client.post(f"/api/v1/holds/{hold.json()['id']}/lift", headers=csrf).status_code == 403

    client.cookies.clear()
    mine = client.get(
        "/api/v1/self-service/cases", headers=victim_sign_in(client, victim.victim_code, pin)
    )
    held = mine.json()["data"][0]
    assert held["subject"] == {}
    assert held["case"] == {}
    assert "not available right now" in held["message"]
    assert "threat" not in mine.text
    partner = client.get(
        f"/api/v1/partner/cases/{case_id}", headers=bearer(machine_token("cases:read"))
    ).json()
    assert partner["case"] == {}
    assert "threat" not in str(partner)

    csrf = staff_session(client, "supervisor")
    lifted = client.post(f"/api/v1/holds/{hold.json()['id']}/lift", headers=csrf)
    assert lifted.json()["active"] is False
    assert client.post(f"/api/v1/holds/{hold.json()['id']}/lift", headers=csrf).status_code == 409
    listing = client.get(f"/api/v1/cases/{case_id}/holds", headers=csrf).json()
    assert listing["count"] == 1


def test_partner_view_is_disclosed_and_accounted_for(client: TestClient) -> None:
    csrf = staff_session(client, "auditor")
    cases = client.get("/api/v1/disclosures", headers=csrf).json()
    assert cases["count"] == 0
    client.cookies.clear()
    staff = staff_session(client, "liaison")
    case_id = _case_id(client, staff, "CASE-T-0001")
    client.cookies.clear()
    partner = client.get(
        f"/api/v1/partner/cases/{case_id}", headers=bearer(machine_token("cases:read"))
    )
    assert partner.status_code == 200
    body = partner.text
    assert "A200100101" not in body  # no A-number
    assert "Officer J. Sample" not in body  # no officer identity
    csrf = staff_session(client, "privacy_officer")
    accounting = client.get(f"/api/v1/cases/{case_id}/disclosures", headers=csrf).json()
    assert accounting["count"] == 1
    record = accounting["data"][0]
    assert (record["recipient_kind"], record["audience"]) == ("partner", "partner")
    # The partner is named only by an opaque reference; who it is lives in a separate table.
    assert record["recipient_ref"].startswith("rcp_")
    assert "client-upstream" not in str(record)
    assert "case.officer_name" in {w["field"] for w in record["fields_withheld"]}


def test_notification_history_per_victim_and_per_case(
    client: TestClient, committed_engine: Engine
) -> None:
    with transaction(committed_engine) as session:
        victim, _, _ = factories.victim_with_link(session, factories.case_of(session))
    release = factories.event(
        "custody.released", case={"custody_status": "released", "release_type": "bond"}
    )
    assert client.post("/api/v1/events", json=release, headers=INGEST).status_code == 201
    csrf = staff_session(client, "auditor")
    mine = client.get(f"/api/v1/victims/{victim.id}/notifications", headers=csrf)
    assert mine.status_code == 200
    assert [(n["channel"], n["status"]) for n in mine.json()["data"]] == [("email", "created")]
    with Session(committed_engine) as session:
        case_id = factories.case_of(session).id
    by_case = client.get(f"/api/v1/cases/{case_id}/notifications", headers=csrf).json()
    assert by_case["count"] == 1
    assert client.get(f"/api/v1/victims/{victim.id}", headers=csrf).status_code == 403


def test_patch_cannot_clear_a_name_but_can_clear_a_contact_point(client: TestClient) -> None:
    csrf = staff_session(client, "liaison")
    created = client.post(
        "/api/v1/victims",
        json={"first_name": "Jo", "last_name": "Doe", "email": "jo@example.org"},
        headers=csrf,
    ).json()
    url = f"/api/v1/victims/{created['victim']['id']}"
    refused = client.patch(url, json={"first_name": None}, headers=csrf)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    cleared = client.patch(url, json={"email": None}, headers=csrf).json()
    assert cleared["email"] is None
    assert cleared["first_name"] == "Jo"
