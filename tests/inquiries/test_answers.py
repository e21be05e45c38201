"""Answers: templates filled through the one door, the outbound scan and the supervisor's gate,
delivery by the worker on the asker's channel, and the accounting of what they disclose."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.identity import staff_session, victim_sign_in
from tests.inquiries.conftest import VICTIM_PHONE, Registrant, text_in
from voice.audit.models import DisclosureRecord
from voice.inquiries import delivery
from voice.inquiries.models import Inquiry
from voice.liaison.models import LiaisonTask
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.context import WorkerContext

STRANGER = "+15550177777"


def _only_inquiry(engine: Engine) -> Inquiry:
    with Session(engine) as session:
        (inquiry,) = session.exec(select(Inquiry)).all()
        return inquiry


def _records(engine: Engine) -> list[DisclosureRecord]:
    with Session(engine) as session:
        return list(session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.id))))


def _assign(client: TestClient, inquiry_id: int | None, csrf: dict[str, str]) -> None:
    response = client.post(
        f"/api/v1/inquiries/{inquiry_id}/assign", json={"assignee": "liaison-1"}, headers=csrf
    )
    assert response.status_code == 200, response.text


def test_a_template_answer_carries_disclosed_facts_goes_by_sms_and_is_accounted_for(
    client: TestClient, committed_engine: Engine, registrant: Registrant, ctx: WorkerContext
) -> None:
    text_in(client, "Is he still locked up?")
    inquiry = _only_inquiry(committed_engine)
    csrf = staff_session(client, "liaison", sub="liaison-1")
    # Answering before anyone took it on is refused: new -> assigned first.
    early = client.post(
        f"/api/v1/inquiries/{inquiry.id}/answers",
        json={"template_key": "custody_status"},
        headers=csrf,
    )
    assert early.status_code == 409
    _assign(client, inquiry.id, csrf)
    answer = client.post(
        f"/api/v1/inquiries/{inquiry.id}/answers",
        json={"template_key": "custody_status"},
        headers=csrf,
    ).json()
    assert answer["status"] == "ready"
    assert "is in custody" in answer["body"]
    assert answer["fields_released"] == ["case.custody_status"]
    assert answer["channel"] == "sms"
    assert delivery.run_once(ctx) == 1
    assert isinstance(ctx.sms, MemorySmsSender)
    (sent,) = ctx.sms.outbox.values()
    assert sent.to == VICTIM_PHONE
    assert "in custody" in sent.body
    (record,) = _records(committed_engine)
    assert (record.purpose, record.channel, record.case_id) == (
        "inquiry_answer",
        "sms",
        registrant.case_id,
    )
    assert record.fields_released == ["case.custody_status"]
    thread = client.get(f"/api/v1/inquiries/{inquiry.id}").json()
    assert thread["inquiry"]["status"] == "answered"
    assert thread["inquiry"]["first_response"]["met_at"] is not None


def test_an_answer_with_an_a_number_waits_for_a_supervisor(
    client: TestClient, committed_engine: Engine, registrant: Registrant, ctx: WorkerContext
) -> None:
    text_in(client, "What is his file number?")
    inquiry = _only_inquiry(committed_engine)
    csrf = staff_session(client, "liaison", sub="liaison-1")
    _assign(client, inquiry.id, csrf)
    held = client.post(
        f"/api/v1/inquiries/{inquiry.id}/answers",
        json={"body": "His file is A200100101."},
        headers=csrf,
    ).json()
    assert (held["status"], held["findings"]) == ("held", ["a_number"])
    assert delivery.run_once(ctx) == 0
    # The author is a liaison; the route is a supervisor's, and the author cannot approve.
    refused = client.post(f"/api/v1/inquiries/answers/{held['id']}/approve", json={}, headers=csrf)
    assert refused.status_code == 403
    own = staff_session(client, "supervisor", sub="liaison-1")
    assert (
        client.post(f"/api/v1/inquiries/answers/{held['id']}/approve", json={}, headers=own)
    ).status_code == 409
    supervisor = staff_session(client, "supervisor", sub="supervisor-1")
    approved = client.post(
        f"/api/v1/inquiries/answers/{held['id']}/approve",
        json={"note": "the victim gave us this number"},
        headers=supervisor,
    ).json()
    assert approved["status"] == "approved"
    assert delivery.run_once(ctx) == 1
    assert isinstance(ctx.sms, MemorySmsSender)
    assert [m.body for m in ctx.sms.outbox.values()] == ["His file is A200100101."]
    # Free text carries no field of the disclosed view: nothing to account for.
    assert _records(committed_engine) == []


def test_a_sender_who_is_not_a_registrant_learns_nothing_about_a_case(
    client: TestClient, committed_engine: Engine, registrant: Registrant, ctx: WorkerContext
) -> None:
    reply = text_in(client, "Is Ramon Example still in custody? CASE-T-0001", sender=STRANGER)
    assert "We received your message" in reply.text
    assert "custody" not in reply.text.split("<Message>")[1]
    inquiry = _only_inquiry(committed_engine)
    assert (inquiry.victim_id, inquiry.case_id) == (None, None)
    csrf = staff_session(client, "liaison", sub="liaison-1")
    _assign(client, inquiry.id, csrf)
    # No case can be attached to it, so no fact can be filled in.
    linked = client.patch(
        f"/api/v1/inquiries/{inquiry.id}", json={"case_id": registrant.case_id}, headers=csrf
    )
    assert linked.status_code == 409
    filled = client.post(
        f"/api/v1/inquiries/{inquiry.id}/answers",
        json={"template_key": "custody_status"},
        headers=csrf,
    )
    assert filled.status_code == 422
    # Even a general answer waits for a supervisor: nobody else vouches it names no case.
    general = client.post(
        f"/api/v1/inquiries/{inquiry.id}/answers",
        json={"template_key": "no_case_information"},
        headers=csrf,
    ).json()
    assert general.get("findings") == ["unverified_recipient"], general
    assert general["status"] == "held"
    supervisor = staff_session(client, "supervisor", sub="supervisor-1")
    client.post(f"/api/v1/inquiries/answers/{general['id']}/approve", json={}, headers=supervisor)
    assert delivery.run_once(ctx) == 1
    assert isinstance(ctx.sms, MemorySmsSender)
    (sent,) = ctx.sms.outbox.values()
    assert sent.to == STRANGER
    for secret in ("custody", "Ramon", "Example Processing", "CASE-T-0001", "A200100101"):
        assert secret not in sent.body
    assert _records(committed_engine) == []


def test_notes_stay_internal_and_the_victim_reads_the_answer(
    client: TestClient, committed_engine: Engine, registrant: Registrant
) -> None:
    victim = victim_sign_in(client, registrant.victim_code, registrant.pin)
    asked = client.post(
        "/api/v1/self-service/inquiries",
        json={"body": "Where can I find support?", "category": "victim_services"},
        headers=victim,
    ).json()
    csrf = staff_session(client, "liaison", sub="liaison-1")
    provider = client.post(
        "/api/v1/inquiries/referrals",
        json={
            "name": "Sampletown Victim Advocates",
            "phone": "1-555-010-0200",
            "languages": ["en", "es"],
            "area_served": "Sampletown, TX",
        },
        headers=csrf,
    ).json()
    _assign(client, asked["inquiry_id"], csrf)
    note = client.post(
        f"/api/v1/inquiries/{asked['inquiry_id']}/notes",
        json={"body": "INTERNAL: check the advocate's hours"},
        headers=csrf,
    )
    assert note.status_code == 201
    answer = client.post(
        f"/api/v1/inquiries/{asked['inquiry_id']}/answers",
        json={"template_key": "referral", "referral_id": provider["id"], "language": "es"},
        headers=csrf,
    ).json()
    # The directory's phone number and the office's contact are the office's words: clean, and
    # a web answer is published as it passes the scan.
    assert (answer["status"], answer["findings"]) == ("sent", [])
    assert "1-555-010-0200" in answer["body"]
    client.cookies.clear()
    victim = victim_sign_in(client, registrant.victim_code, registrant.pin)
    (mine,) = client.get("/api/v1/self-service/inquiries", headers=victim).json()["data"]
    assert mine["answered"] is True
    assert [item["who"] for item in mine["items"]] == ["you", "office"]
    assert "Sampletown Victim Advocates" in mine["items"][1]["body"]
    assert "INTERNAL" not in str(mine)
    with Session(committed_engine) as session:
        assert session.exec(select(LiaisonTask)).all() == []
