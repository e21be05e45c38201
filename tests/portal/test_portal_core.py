"""The portal's daily work through its forms: register, verify, link, search, holds, tasks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests import factories
from tests.identity import INGEST, staff_session
from voice.liaison import service as liaison_service
from voice.liaison.models import LiaisonTask, TaskStatus
from voice.victims import verification
from voice.victims.access_log import access_log
from voice.victims.models import Victim, VictimCaseLink
from voice.victims.verification import Challenge


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None
    return found.group(1)


def _register(client: TestClient, **changes: str) -> tuple[int, str]:
    form = {
        "first_name": "María",
        "last_name": "Hernández",
        "preferred_language": "es",
        "email": "Maria.H@example.org",
        "phone": "(202) 555-0143",
        "notify_email": "yes",
        "notify_sms": "yes",
        "consent": "yes",
        "case_number": "",
        "relationship": "victim",
        **changes,
    }
    page = client.get("/portal/registrants/new")
    response = client.post("/portal/registrants", data={**form, "csrf_token": _csrf(page.text)})
    code = re.search(r"<strong>(V-[0-9A-Z-]+)</strong>", response.text)
    pin = re.search(r'class="voice-pin">(\d+)<', response.text)
    if response.status_code != 200 or code is None or pin is None:
        return response.status_code, response.text
    victim_id = re.search(r'href="/portal/registrants/(\d+)"', response.text)
    assert victim_id is not None
    return int(victim_id.group(1)), pin.group(1)


@dataclass
class RecordingCourier:
    sent: list[Challenge] = field(default_factory=list)

    def deliver(self, challenge: Challenge) -> None:
        self.sent.append(challenge)


def test_register_verify_link_and_find(client: TestClient, committed_engine: Engine) -> None:
    courier = RecordingCourier()
    client.app.state.contact_courier = courier  # type: ignore[attr-defined]  # ASGI app type
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    staff_session(client, "liaison", sub="liaison-1")
    # Refused with messages by the fields: a bad phone number and no consent.
    status, text = _register(client, phone="12", consent="")
    assert status == 422
    assert "not a valid phone number" in text
    assert "needs the registrant" in text
    victim_id, pin = _register(client)
    assert len(pin) >= 6
    with Session(committed_engine) as session:
        victim = session.get_one(Victim, victim_id)
        # Stored in one form: E.164 and the address as email-validator normalises it.
        assert (victim.phone, victim.email) == ("+12025550143", "Maria.H@example.org")
        assert victim.consented_at is not None
    page = client.get(f"/portal/registrants/{victim_id}")
    assert page.status_code == 200
    assert "waiting for verification" in page.text
    csrf = _csrf(page.text)
    # Registration sent a link to the email address and a code to the phone.
    assert sorted(c.kind for c in courier.sent) == ["email", "phone"]
    resent = client.post(
        f"/portal/registrants/{victim_id}/contact/phone/send", data={"csrf_token": csrf}
    )
    assert "A confirmation is on its way" in resent.text
    assert len(courier.sent) == 3
    # An attestation says how the liaison confirmed the contact point; without that, refused.
    bare = client.post(
        f"/portal/registrants/{victim_id}/contact/email/attest", data={"csrf_token": csrf}
    )
    assert bare.status_code == 422
    assert "Say how you confirmed it" in bare.text
    for kind in ("email", "phone"):
        done = client.post(
            f"/portal/registrants/{victim_id}/contact/{kind}/attest",
            data={"csrf_token": csrf, "note": "Called her on 2026-11-20."},
        )
        assert done.status_code == 200
    with Session(committed_engine) as session:
        proofs = verification.proofs(session=session, victim_id=victim_id)
    assert sorted((p.kind, p.method, p.actor) for p in proofs) == [
        ("email", "staff_attestation", "liaison-1"),
        ("phone", "staff_attestation", "liaison-1"),
    ]
    assert "waiting for verification" not in client.get(f"/portal/registrants/{victim_id}").text

    found = client.get(f"/portal/registrants/{victim_id}/link", params={"q": "CASE-T-0001"})
    case_id = int(re.search(r'name="case_id" value="(\d+)"', found.text).group(1))  # type: ignore[union-attr]
    linked = client.post(
        f"/portal/registrants/{victim_id}/links",
        data={"csrf_token": csrf, "case_id": str(case_id), "relationship": "family_member"},
    )
    assert "Verify relationship to CASE-T-0001" in linked.text
    with Session(committed_engine) as session:
        link = session.exec(
            select(VictimCaseLink).where(VictimCaseLink.victim_id == victim_id)
        ).one()
    verified = client.post(f"/portal/links/{link.id}/verify", data={"csrf_token": csrf})
    assert "The link is verified" in verified.text
    # Linking twice is refused on the page, not with a server error.
    again = client.post(
        f"/portal/registrants/{victim_id}/links", data={"csrf_token": csrf, "case_id": str(case_id)}
    )
    assert again.status_code == 409
    assert "already linked" in again.text

    case_page = client.get(f"/portal/cases/{case_id}").text
    assert "Hernández, María" in case_page
    assert "family member" in case_page
    assert "Spanish" in case_page
    assert "verified" in case_page

    for query in ("hernandes maria", "maria.h@EXAMPLE.org", "202-555-0143"):
        results = client.get("/portal/search", params={"q": query}).text
        assert f'href="/portal/registrants/{victim_id}"' in results, query
    with Session(committed_engine) as session:
        code = session.get_one(Victim, victim_id).victim_code
        assert code is not None
        log = access_log(session=session, victim_id=victim_id)
    assert (
        f'href="/portal/registrants/{victim_id}"'
        in client.get("/portal/search", params={"q": code.lower()}).text
    )
    assert {row.purpose for row in log} >= {"pin_letter", "view", "search"}
    assert {row.staff_subject for row in log} == {"liaison-1"}
    assert "CASE-T-0001" in client.get("/portal/search", params={"q": "case-t-0001"}).text

    # A privacy officer reads cases but not registrants: no names, no registrant results.
    staff_session(client, "privacy_officer")
    assert "Hernández" not in client.get(f"/portal/cases/{case_id}").text
    assert "Registrants (" not in client.get("/portal/search", params={"q": "maria"}).text
    refused = client.get(f"/portal/registrants/{victim_id}")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]


def test_holds_tasks_and_pages_that_follow_roles(
    client: TestClient, committed_engine: Engine
) -> None:
    client.post("/api/v1/events", json=factories.booking(), headers=INGEST)
    with Session(committed_engine) as session:
        case_id = factories.case_of(session).id
        task = liaison_service.open_task(
            session=session,
            kind="delivery_failed",
            dedupe_key="t1",
            reason="bounced",
            case_id=case_id,
        )
        assert task is not None
        task_id = task.id
        session.commit()
    staff_session(client, "liaison", sub="liaison-1")
    home = client.get("/portal")
    assert home.status_code == 200
    assert f"#{task_id} delivery failed" in home.text
    assert "/portal/registrants/new" in home.text
    assert "Mass-event pauses" not in home.text
    csrf = _csrf(home.text)
    bad = client.post(
        f"/portal/cases/{case_id}/holds",
        data={"csrf_token": csrf, "reason": "x", "expires_at": "2000-01-01T00:00"},
    )
    assert bad.status_code == 422
    assert "must end in the future" in bad.text
    held = client.post(
        f"/portal/cases/{case_id}/holds",
        data={"csrf_token": csrf, "reason": "Threats reported", "expires_at": "2099-01-01T00:00"},
    )
    assert "The safety hold is set" in held.text
    assert "Threats reported" in held.text
    # Only a supervisor lifts a hold: the liaison has no lift button, and the route refuses.
    assert "Lift hold" not in held.text
    hold_id = re.search(r"<th scope=\"row\" data-label=\"Hold\">#(\d+)", held.text).group(1)  # type: ignore[union-attr]
    refused = client.post(f"/portal/holds/{hold_id}/lift", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "<h1>You cannot open this page</h1>" in refused.text

    claimed = client.post(f"/portal/tasks/{task_id}/claim", data={"csrf_token": csrf})
    assert "You have claimed the task" in claimed.text
    assert claimed.text.index("My tasks") < claimed.text.index(f"#{task_id} delivery failed")
    closed = client.post(
        f"/portal/tasks/{task_id}/close", data={"csrf_token": csrf, "outcome_note": "Called her."}
    )
    assert "The task is closed" in closed.text
    with Session(committed_engine) as session:
        done = session.get_one(LiaisonTask, task_id)
        assert (done.status, done.assignee, done.outcome_note) == (
            TaskStatus.DONE,
            "liaison-1",
            "Called her.",
        )
    assert (
        client.post(
            f"/portal/tasks/{task_id}/close", data={"csrf_token": csrf, "outcome_note": "again"}
        ).status_code
        == 409
    )

    headers = staff_session(client, "supervisor")
    page = client.get(f"/portal/cases/{case_id}")
    assert "Lift hold" in page.text
    assert "Disclosures of this case" in page.text
    lifted = client.post(
        f"/portal/holds/{hold_id}/lift", data={"csrf_token": headers["X-CSRF-Token"]}
    )
    assert "The safety hold is lifted" in lifted.text
    supervisor_home = client.get("/portal").text
    assert 'href="/portal/guard"' in supervisor_home
    assert 'href="/portal/messages/review"' in supervisor_home

    staff_session(client, "auditor")
    auditor_home = client.get("/portal")
    assert auditor_home.status_code == 200
    assert "Claim" not in auditor_home.text
    assert 'href="/portal/cases"' not in auditor_home.text  # auditors may not open cases
    missing = client.get("/portal/cases/999999")
    assert missing.status_code == 403
    assert "text/html" in missing.headers["content-type"]
    staff_session(client, "liaison")
    missing = client.get("/portal/cases/999999")
    assert missing.status_code == 404
    assert "<h1>Page not found</h1>" in missing.text
    assert "Work queue" in missing.text  # the portal's own navigation, on the error page
