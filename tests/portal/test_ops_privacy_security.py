"""The privacy officer's pages and security staff's quarantine in the portal."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests import factories
from tests.identity import INGEST
from tests.portal.ops_helpers import case_with_registrant, sign_in
from voice.audit.models import DisclosureRecord
from voice.auth.principals import staff
from voice.cases.models import Case
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, Recipient, release
from voice.ingest.models import QuarantinedEvent, SecurityAlert
from voice.victims.access_log import record_access
from voice.victims.models import Victim


def _disclose(engine: Engine, policy: Policy, case_id: int, channel: str) -> str:
    with transaction(engine) as session:
        case = session.get_one(Case, case_id)
        release(
            session=session, policy=policy, audience=Audience.VICTIM_VERIFIED, case=case,
            recipient=Recipient(kind="victim", id="1", channel=channel),
        )  # fmt: skip
        row = session.exec(
            select(DisclosureRecord).order_by(col(DisclosureRecord.id).desc())
        ).first()
        assert row is not None
        return row.recipient_ref


def test_the_accounting_filters_exports_and_verifies(
    client: TestClient, committed_engine: Engine, policy: Policy
) -> None:
    case_id, _ = case_with_registrant(client, committed_engine)
    ref = _disclose(committed_engine, policy, case_id, "email")
    _disclose(committed_engine, policy, case_id, "sms")
    sign_in(client, "privacy_officer", "privacy-1")
    page = client.get("/portal/privacy").text
    assert ref in page
    assert "CASE-T-0001" in page
    sms_only = client.get("/portal/privacy", params={"channel": "sms"}).text
    assert '<td data-label="Channel">sms</td>' in sms_only
    assert '<td data-label="Channel">email</td>' not in sms_only
    nobody = client.get("/portal/privacy", params={"subject": "S-NOBODY"}).text
    assert "No disclosure matches" in nobody
    later = client.get("/portal/privacy", params={"since": "2099-01-01"}).text
    assert "No disclosure matches" in later
    assert client.get("/portal/privacy", params={"since": "not-a-date"}).status_code == 422
    export = client.get(
        "/portal/privacy/disclosures.csv", params={"subject": "S-T0001", "channel": "email"}
    )
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["recipient_ref"], r["channel"], r["case_number"]) for r in rows] == [
        (ref, "email", "CASE-T-0001")
    ]
    chain = client.get("/portal/privacy/chain").text
    assert "The chain verifies" in chain
    assert "All 2 records" in chain
    with transaction(committed_engine) as session:
        first = session.exec(select(DisclosureRecord).order_by(col(DisclosureRecord.id))).first()
        assert first is not None
        first.channel = "tampered"
        session.add(first)
    assert "The chain is broken" in client.get("/portal/privacy/chain").text
    # A liaison cannot open the accounting.
    sign_in(client, "liaison", "liaison-1")
    assert client.get("/portal/privacy").status_code == 403


def test_the_access_log_shows_who_looked_at_whom(
    client: TestClient, committed_engine: Engine
) -> None:
    case_with_registrant(client, committed_engine)
    with transaction(committed_engine) as session:
        victim = session.exec(select(Victim)).one()
        assert victim.id is not None
        looker = staff("liaison-9", "Lee Looker", frozenset())
        record_access(session=session, staff=looker, victim_id=victim.id, purpose="view")
        code = victim.victim_code
    sign_in(client, "privacy_officer", "privacy-1")
    page = client.get("/portal/privacy/access-log").text
    assert "Lee Looker" in page
    assert "liaison-9" in page
    assert str(code) in page
    assert "Vera" not in page
    other = client.get("/portal/privacy/access-log", params={"staff_subject": "nobody"}).text
    assert "No access matches" in other


def test_security_staff_see_and_purge_the_quarantine(
    client: TestClient, committed_engine: Engine
) -> None:
    spilled = factories.booking()
    spilled["markings"] = {"/notes": "SECRET//NOFORN"}
    assert client.post("/api/v1/events", json=spilled, headers=INGEST).is_success
    with transaction(committed_engine) as session:
        row = session.exec(select(QuarantinedEvent)).one()
        quarantine_id = row.quarantine_id
    csrf = sign_in(client, "security", "security-1")
    page = client.get("/portal/security").text
    assert quarantine_id in page
    assert "Ramon" not in page
    purged = client.post(
        f"/portal/security/quarantine/{quarantine_id}/purge", data={"csrf_token": csrf}
    )
    assert purged.status_code == 200
    assert "was purged" in purged.text
    with transaction(committed_engine) as session:
        assert not session.exec(select(QuarantinedEvent)).all()
        alert = session.exec(select(SecurityAlert)).one()
        assert alert.resolved_by == "security-1"
    again = client.post(
        f"/portal/security/quarantine/{quarantine_id}/purge", data={"csrf_token": csrf}
    )
    assert again.status_code == 404
    assert "purged already" in again.text
    sign_in(client, "admin", "admin-1")
    assert client.get("/portal/security").status_code == 403
