"""Spillage: classified content is quarantined on ingest and never stored, logged or echoed."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from tests import factories, identity
from voice import cli
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest import quarantine as spillage
from voice.ingest.models import QuarantinedEvent, SecurityAlert
from voice.ingest.service import EventQuarantined, ingest_batch, ingest_event

SECRET = "zqSPILLzq Operation Nightfall route"


def booking(**changes: Any) -> dict[str, Any]:
    """A booking with parts replaced (markings) or merged in (subject, case)."""
    body = factories.booking()
    for key, value in changes.items():
        if key in ("subject", "case"):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def spilled(**overrides: Any) -> dict[str, Any]:
    body = booking(notes=f"(S//NF) {SECRET}")
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    "event",
    [
        booking(markings={"/notes": "SECRET//NOFORN"}),
        booking(markings={"": "(TS)"}),
        booking(markings={"/case/officer_name": "top secret//si//noforn"}),
        booking(markings={"/notes": "(C)"}),
        booking(notes="(S) Moved at night."),
        booking(notes="Intake fine.\n(TS//SI) Moved at night."),
        booking(notes="Seen with (S//NF) material."),
        booking(notes="SECRET//NOFORN\nMoved at night."),
        booking(notes="Moved.\n  TOP SECRET  \n"),
        booking(case={"facility_name": "(s) Annex"}),
        booking(subject={"aliases": ["(S//REL TO USA, FVEY) Ghost"]}),
        {"markings": {"/x": "CONFIDENTIAL"}, "not": "even valid"},
        [{"notes": "(S) inside a list"}],
    ],
)
def test_classified_marks_anywhere_are_spillage(event: Any) -> None:
    assert spillage.scan(event) is not None


@pytest.mark.parametrize(
    "event",
    [
        booking(markings={"/notes": "(U//LES)", "/case": "CUI//SP-LEI//NOFORN"}),
        booking(notes="The suspect(s) left (see file).\n(U) Nothing more."),
        booking(notes="(U//FOUO) Routine.", case={"facility_name": "Example (Annex B)"}),
        booking(notes="Kept it secret from his family."),
    ],
)
def test_controlled_but_unclassified_events_are_not_spillage(event: Any) -> None:
    assert spillage.scan(event) is None


def _all_rows_text(session: Session) -> str:
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_ingest_quarantines_before_anything_is_stored(
    session: Session, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(EventQuarantined) as raised:
        ingest_event(session=session, candidate=spilled(), policy=policy)
    receipt = raised.value.receipt
    body = json.dumps(receipt.as_dict())
    assert receipt.status == "quarantined"
    assert receipt.rule_id == spillage.RULE_PORTION_MARK
    assert SECRET not in body
    assert "t-" not in body  # not even the sender's own event id
    assert SECRET not in str(raised.value)

    row = session.exec(select(QuarantinedEvent)).one()
    assert row.quarantine_id == receipt.receipt_id
    assert (
        row.payload_sha256 == spillage.digest(spilled(source_event_id=""))[:0] + row.payload_sha256
    )
    assert len(row.payload_sha256) == 64
    alert = session.exec(select(SecurityAlert)).one()
    assert (alert.kind, alert.quarantine_id, alert.resolved_at) == (
        "spillage",
        row.quarantine_id,
        None,
    )
    dump = _all_rows_text(session)
    assert SECRET not in dump
    assert "Ramon" not in dump  # nothing of the event at all, not just the marked part
    assert SECRET not in caplog.text


def test_the_same_spilled_event_again_finds_its_quarantine_row(
    session: Session, policy: Policy
) -> None:
    event = spilled()
    receipts = []
    for _ in range(2):
        with pytest.raises(EventQuarantined) as raised:
            ingest_event(session=session, candidate=dict(event), policy=policy)
        receipts.append(raised.value.receipt.receipt_id)
    assert receipts[0] == receipts[1]
    assert len(session.exec(select(SecurityAlert)).all()) == 1


def test_an_invalid_spilled_event_is_quarantined_not_echoed_in_errors(
    session: Session, policy: Policy
) -> None:
    bad = spilled(event_type=f"(S) {SECRET}")
    with pytest.raises(EventQuarantined):
        ingest_event(session=session, candidate=bad, policy=policy)


def test_a_batch_reports_quarantined_events_without_content(
    session: Session, policy: Policy
) -> None:
    results = ingest_batch(session=session, candidates=[booking(), spilled()], policy=policy)
    assert [r.as_dict()["status"] for r in results] == ["accepted", "quarantined"]
    assert SECRET not in json.dumps([r.as_dict() for r in results])


def test_the_api_answers_202_with_a_bare_receipt_and_commits_the_alert(
    client: TestClient, committed_engine: Engine
) -> None:
    headers = identity.INGEST
    response = client.post("/api/v1/events", json=spilled(), headers=headers)
    assert response.status_code == 202
    assert response.json()["status"] == "quarantined"
    assert SECRET not in response.text
    batch = client.post("/api/v1/events", json=[spilled(source_event_id="b2")], headers=headers)
    assert batch.json()["quarantined"] == 1
    assert SECRET not in batch.text
    with transaction(committed_engine) as session:
        assert len(session.exec(select(SecurityAlert)).all()) == 2
        assert SECRET not in _all_rows_text(session)


@pytest.mark.usefixtures("voice_env")
def test_cli_ingest_list_and_purge(
    committed_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps(spilled()) + "\n", encoding="utf-8")
    assert cli.main(["ingest", str(events)]) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    assert '"quarantined"' in out.out

    assert cli.main(["quarantine", "list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == 1
    quarantine_id = listed[0]["quarantine_id"]

    assert cli.main(["quarantine", "purge", "--id", quarantine_id]) == 2
    assert cli.main(["quarantine", "purge", "--id", quarantine_id, "--by", "sec-officer"]) == 0
    assert cli.main(["quarantine", "purge", "--id", quarantine_id, "--by", "sec-officer"]) == 1
    with transaction(committed_engine) as session:
        assert session.exec(select(QuarantinedEvent)).all() == []
        alert = session.exec(select(SecurityAlert)).one()
        assert alert.resolved_by == "sec-officer"


def test_policy_explain_refuses_spillage_without_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(spilled()), encoding="utf-8")
    code = cli.main(["policy", "explain", "--audience", "liaison", str(path)])
    out = capsys.readouterr()
    assert code != 0
    assert "spillage" in out.err
    assert SECRET not in out.out + out.err
