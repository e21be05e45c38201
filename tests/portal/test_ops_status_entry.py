"""Manual status entry: a supervisor's form, through ingest, shown on the case's timeline."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.portal.ops_helpers import case_with_registrant, sign_in
from voice.cases.models import Case, CaseEvent
from voice.database import transaction
from voice.ingest.models import StaffStatusEntry
from voice.notify.models import Notification

FORM = {
    "event_type": "custody.released",
    "subject_id": "S-T0001",
    "case_number": "CASE-T-0001",
    "occurred_at": "2026-11-20T10:30",
    "release_type": "order_of_supervision",
    "reason": "Feed down since 06:00; release confirmed by phone with the facility",
}


def test_a_supervisor_records_a_release_by_hand(
    client: TestClient, committed_engine: Engine
) -> None:
    case_id, _ = case_with_registrant(client, committed_engine)
    csrf = sign_in(client, "supervisor", "supervisor-1")
    step_one = client.get("/portal/status-entry")
    assert step_one.status_code == 200
    assert "removal.completed" in step_one.text
    step_two = client.get("/portal/status-entry?event_type=custody.released").text
    assert "Release type" in step_two
    assert "order of supervision" in step_two
    assert "Hearing court" not in step_two
    answer = client.post(
        "/portal/status-entry", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/portal/cases/{case_id}")
    with transaction(committed_engine) as session:
        case = session.get_one(Case, case_id)
        assert (case.custody_status, case.release_type) == ("released", "order_of_supervision")
        event = session.exec(
            select(CaseEvent).where(CaseEvent.event_type == "custody.released")
        ).one()
        # Filed under the subject's own source, in the staff namespace of event ids.
        assert event.source == "enforce"
        assert event.source_event_id.startswith("staff-")
        entry = session.exec(select(StaffStatusEntry)).one()
        assert (entry.event_id, entry.entered_by) == (event.id, "supervisor-1")
        # It tells the registrant like any event.
        assert session.exec(select(Notification).where(Notification.event_id == event.id)).all()
    timeline = client.get(f"/portal/cases/{case_id}").text
    assert "Entered by hand by Test Staff (supervisor-1)" in timeline


def test_refusals_keep_the_form_and_store_nothing(
    client: TestClient, committed_engine: Engine
) -> None:
    case_with_registrant(client, committed_engine)
    csrf = sign_in(client, "supervisor", "supervisor-1")
    unknown = client.post(
        "/portal/status-entry", data={**FORM, "subject_id": "S-NOBODY", "csrf_token": csrf}
    )
    assert unknown.status_code == 422
    assert "No subject has this subject ID" in unknown.text
    no_reason = client.post("/portal/status-entry", data={**FORM, "reason": "", "csrf_token": csrf})
    assert no_reason.status_code == 422
    assert "give the reason" in no_reason.text
    bad_time = client.post(
        "/portal/status-entry", data={**FORM, "occurred_at": "yesterday", "csrf_token": csrf}
    )
    assert bad_time.status_code == 422
    assert "date and time in UTC" in bad_time.text
    with transaction(committed_engine) as session:
        assert not session.exec(select(StaffStatusEntry)).all()
        assert len(session.exec(select(CaseEvent)).all()) == 1
    # Liaison staff may not enter status by hand.
    sign_in(client, "liaison", "liaison-1")
    assert client.get("/portal/status-entry").status_code == 403
