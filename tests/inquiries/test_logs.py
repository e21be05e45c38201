"""Invariant 3 for inquiries: what the queue logs carries ids and codes, never the question,
the answer, the sender's address or anything the scan found."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.identity import staff_session
from tests.inquiries.conftest import VICTIM_EMAIL, VICTIM_PHONE, Registrant, mailgun_post, text_in
from voice.inquiries import delivery
from voice.notify.context import WorkerContext

QUESTION = "Zanzibar marmalade question about my case"
ANSWER = "Quokka reply: his file is A200100101."


def test_the_inquiry_path_logs_no_personal_data(
    client: TestClient,
    committed_engine: Engine,
    registrant: Registrant,
    ctx: WorkerContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    text_in(client, QUESTION + " he threatened me")
    mailgun_post(client, sender=VICTIM_EMAIL, text=QUESTION)
    staff = staff_session(client, "liaison", sub="liaison-1")
    (inquiry,) = client.get("/api/v1/inquiries?channel=sms").json()["data"]
    url = f"/api/v1/inquiries/{inquiry['id']}"
    client.post(f"{url}/assign", json={"assignee": "liaison-1"}, headers=staff)
    held = client.post(f"{url}/answers", json={"body": ANSWER}, headers=staff).json()
    supervisor = staff_session(client, "supervisor", sub="supervisor-1")
    client.post(f"/api/v1/inquiries/answers/{held['id']}/approve", json={}, headers=supervisor)
    assert delivery.run_once(ctx) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"inquiry {inquiry['id']} opened" in logged
    for secret in (QUESTION, "Zanzibar", "Quokka", "A200100101", VICTIM_PHONE, VICTIM_EMAIL):
        assert secret not in logged
