"""Staff messages in the portal: compose, the scan's findings in place, the supervisors' queue."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.portal.ops_helpers import case_with_registrant, message_id_from, sign_in
from voice.database import transaction
from voice.messages.models import StaffMessage

SSN = "123-45-6789"


def _submit(client: TestClient, csrf: str, link_id: int, body: str) -> int:
    answer = client.post(
        "/portal/messages",
        data={"link_id": link_id, "channel": "email", "body": body, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return message_id_from(answer.headers["location"])


def test_a_message_with_an_ssn_is_held_and_a_supervisor_approves_it(
    client: TestClient, committed_engine: Engine
) -> None:
    _, link_id = case_with_registrant(client, committed_engine)
    csrf = sign_in(client, "liaison", "liaison-1")
    compose = client.get(f"/portal/messages/new?link_id={link_id}")
    assert compose.status_code == 200
    assert "Victim, Vera" in compose.text
    assert "CASE-T-0001" in compose.text
    body = f"Your case worker needs {SSN} confirmed."
    message_id = _submit(client, csrf, link_id, body)
    page = client.get(f"/portal/messages/{message_id}").text
    assert "Held for a supervisor" in page
    start = body.index(SSN)
    assert f"Social Security number at characters {start + 1} to {start + len(SSN)}" in page
    # A liaison cannot open the review queue: an HTML refusal in the portal's layout.
    refused = client.get("/portal/messages/review")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "You cannot open this page" in refused.text

    csrf = sign_in(client, "supervisor", "supervisor-1")
    queue = client.get("/portal/messages/review").text
    assert f"Approve message {message_id}" in queue
    assert SSN in queue
    approved = client.post(
        f"/portal/messages/{message_id}/approve",
        data={"note": "Needed for the court form", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    with transaction(committed_engine) as session:
        row = session.get_one(StaffMessage, message_id)
        assert (row.status, row.reviewed_by) == ("approved", "supervisor-1")
    assert "No message is waiting for review" in client.get("/portal/messages/review").text


def test_the_author_cannot_approve_and_a_rejection_needs_a_reason(
    client: TestClient, committed_engine: Engine
) -> None:
    _, link_id = case_with_registrant(client, committed_engine)
    csrf = sign_in(client, "supervisor", "supervisor-1")
    message_id = _submit(client, csrf, link_id, f"SSN {SSN}")
    own = client.post(f"/portal/messages/{message_id}/approve", data={"csrf_token": csrf})
    assert own.status_code == 409
    assert "another supervisor must review it" in own.text
    csrf = sign_in(client, "supervisor", "supervisor-2")
    no_reason = client.post(f"/portal/messages/{message_id}/reject", data={"csrf_token": csrf})
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/portal/messages/{message_id}/reject",
        data={"reason": "Do not send an SSN by email", "csrf_token": csrf},
    )
    assert rejected.status_code == 200
    assert "Rejected" in rejected.text
    with transaction(committed_engine) as session:
        row = session.get_one(StaffMessage, message_id)
        assert (row.status, row.review_note) == ("rejected", "Do not send an SSN by email")


def test_a_clean_message_is_queued_and_an_unverified_link_is_refused(
    client: TestClient, committed_engine: Engine
) -> None:
    _, link_id = case_with_registrant(client, committed_engine)
    csrf = sign_in(client, "liaison", "liaison-1")
    message_id = _submit(client, csrf, link_id, "Your hearing has been moved.")
    page = client.get(f"/portal/messages/{message_id}").text
    assert "Queued to send" in page
    assert "found nothing to hold" in page
    unknown = client.post(
        "/portal/messages",
        data={"link_id": 999_999, "body": "Hello", "csrf_token": csrf},
    )
    assert unknown.status_code == 422
    assert "whose link to the case is verified" in unknown.text
    assert client.get("/portal/messages/999999").status_code == 404
