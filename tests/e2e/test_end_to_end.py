"""One real event travels the whole path: ingest -> case -> disclosure -> outbox -> worker ->
adapter, and back out through a victim's self-service read. Runs on both databases, with the
worker as a separate ``voice worker`` process."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests import factories
from tests.e2e.helpers import child_env, messages_in, run_voice
from tests.identity import INGEST, victim_sign_in
from voice.app import create_app
from voice.audit.models import DisclosureRecord
from voice.config import Settings
from voice.database import transaction
from voice.notify.models import Notification

SECRET_NOTE = "(U//LES) Released to sponsor; informant CI-4471 at 88 Hidden Lane"
RELEASE_ADDRESS = "12 Example Street, Sampletown, TX 75001"


def _release_event() -> dict[str, object]:
    return factories.event(
        "custody.released",
        source_event_id="e2e-release-1",
        occurred_at="2026-11-09T16:40:00Z",
        case={
            "custody_status": "released",
            "release_type": "order_of_supervision",
            "release_address": RELEASE_ADDRESS,
        },
        notes=SECRET_NOTE,
        markings={"/notes": "(U//LES)", "/case/release_address": "CUI//SP-PRVCY"},
    )


def test_release_reaches_two_victims_once_and_withholds_the_les_note(
    committed_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    client = TestClient(create_app(settings, engine=committed_engine))
    assert (
        client.post("/api/v1/events", json=factories.booking(), headers=INGEST).status_code == 201
    )

    with transaction(committed_engine) as session:
        case = factories.case_of(session)
        by_email, _, email_pin = factories.victim_with_link(
            session, case, email="alice@example.invalid", notify_email=True
        )
        by_sms, _, sms_pin = factories.victim_with_link(
            session, case, email=None, phone="+15550100001", notify_email=False, notify_sms=True
        )
    email_token = victim_sign_in(client, by_email.victim_code, email_pin)
    sms_token = victim_sign_in(client, by_sms.victim_code, sms_pin)

    responses: list[str] = []
    first = client.post("/api/v1/events", json=_release_event(), headers=INGEST)
    assert first.status_code == 201, first.text
    assert first.json()["notifications"] == 2
    responses.append(first.text)

    env = child_env(settings.database_url, outbox)
    run_voice(["worker", "--once"], env)
    files = messages_in(outbox)
    assert sorted(p.suffix for p in files) == [".eml", ".json"]

    replay = client.post("/api/v1/events", json=_release_event(), headers=INGEST)
    assert replay.status_code == 200
    assert replay.json()["receipt_id"] == first.json()["receipt_id"]
    assert replay.json()["status"] == "duplicate"
    responses.append(replay.text)
    run_voice(["worker", "--once"], env)
    assert messages_in(outbox) == files

    for token in (email_token, sms_token):
        read = client.get("/api/v1/self-service/cases", headers=token)
        assert read.status_code == 200
        cases = read.json()["data"]
        assert len(cases) == 1
        assert cases[0]["case"]["custody_status"] == "released"
        assert cases[0]["case"]["release_type"] == "order_of_supervision"
        responses.append(read.text)

    texts = [p.read_text(encoding="utf-8") for p in files] + responses
    email_text = files[0].read_text(encoding="utf-8")
    assert "released" in email_text
    assert "order of supervision" in email_text
    for text in texts:
        for secret in (
            "Released to sponsor",
            "CI-4471",
            "Hidden Lane",
            "U//LES",
            RELEASE_ADDRESS,
            "Officer J. Sample",
            "A200100101",
            "1988-04-12",
        ):
            assert secret not in text

    with transaction(committed_engine) as session:
        notifications = session.exec(select(Notification)).all()
        assert sorted(n.status for n in notifications) == ["sent", "sent"]
        records = session.exec(select(DisclosureRecord)).all()
        # two notices and two self-service reads, each accounted for
        assert sorted(r.channel for r in records) == ["api", "api", "email", "sms"]
        for record in records:
            withheld = {w["field"] for w in record.fields_withheld}
            assert "case.release_address" in withheld or record.channel != "api"
            assert "event.notes" in withheld or record.channel == "api"
    sms = json.loads(next(p for p in files if p.suffix == ".json").read_text(encoding="utf-8"))
    assert sms["to"] == "+15550100001"
