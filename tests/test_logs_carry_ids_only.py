"""Invariant 3: logs carry ids, never names, contact details, A-numbers or note text.

The whole path runs in-process with every logger at DEBUG: ingest, the worker's delivery, a
correction, and a victim's self-service read.
"""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests import factories, identity
from voice import logs
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.notify import tasks
from voice.notify.adapters.memory import MemoryEmailSender, MemorySmsSender

NEVER_LOGGED = (
    "Vera",
    "Victim",
    "victim@example.invalid",
    "+15550100009",  # the registrant
    "Ramon",
    "Example",
    "A200100101",
    "1988-04-12",  # the subject's identifiers
    "Booked after transfer",
    "Officer J. Sample",
    "12 Example Street",  # notes, officer, address
)


def test_the_whole_path_logs_no_personal_data(
    committed_engine: Engine,
    settings: Settings,
    policy: Policy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = tasks.WorkerContext(
        engine=committed_engine,
        settings=settings,
        policy=policy,
        email=MemoryEmailSender(),
        sms=MemorySmsSender(),
        worker_id="w-logs",
    )
    with transaction(committed_engine) as session:
        ingest_event(session=session, candidate=factories.booking(), policy=policy)
        victim, _, pin = factories.victim_with_link(
            session, factories.case_of(session), phone="+15550100009", notify_sms=True
        )
        ingest_event(
            session=session,
            policy=policy,
            candidate=factories.event(
                "custody.released",
                source_event_id="log-rel",
                case={"custody_status": "released", "release_address": "12 Example Street"},
            ),
        )
    tasks.run_once(ctx)
    with transaction(committed_engine) as session:
        ingest_event(
            session=session,
            policy=policy,
            candidate=factories.event(
                "correction", corrects="log-rel", case={"custody_status": "in_custody"}
            ),
        )
    tasks.run_once(ctx)
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        headers = identity.victim_sign_in(client, victim.victim_code, pin)
        assert client.get("/api/v1/self-service/cases", headers=headers).status_code == 200

    assert isinstance(ctx.email, MemoryEmailSender)
    assert len(ctx.email.outbox) == 2  # the path really ran: a notice and its correction
    logged = caplog.text
    assert logged  # and it did log
    # ...and as the service writes them: JSON lines through the processor that keeps ids only.
    formatter = logs.formatter()
    as_json = "\n".join(formatter.format(record) for record in caplog.records)
    for line in as_json.splitlines():
        json.loads(line)
    for value in NEVER_LOGGED:
        assert value not in logged, value
        assert value not in as_json, value
