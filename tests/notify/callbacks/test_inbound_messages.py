"""Every inbound text is recorded, encrypted; free text is acknowledged and reaches staff as an
inquiry in the queue (and no liaison task beside it); a texted code proves the number it came
from."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.identity import staff_session
from tests.notify.callbacks.test_inbound_and_ack import (  # noqa: F401  (fixtures)
    app_settings,
    client,
    ctx,
    outboxes,
    reply,
    text_in,
)
from tests.notify.test_tasks import VICTIM_PHONE, register
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.inquiries.models import Inquiry, InquiryEntry
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify.callbacks.inbound import handle_inbound
from voice.notify.inbound_messages import InboundMessage
from voice.notify.tasks import WorkerContext
from voice.victims.models import Language

QUESTION = "What time is the hearing?"


def inbound_rows(worker: WorkerContext) -> list[InboundMessage]:
    with transaction(worker.engine) as session:
        return list(session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


def tasks_of(worker: WorkerContext, kind: TaskKind) -> list[LiaisonTask]:
    with transaction(worker.engine) as session:
        return list(session.exec(select(LiaisonTask).where(LiaisonTask.kind == kind)).all())


def queued(worker: WorkerContext) -> list[tuple[Inquiry, list[str]]]:
    """Every inquiry, with the texts its thread holds."""
    with transaction(worker.engine) as session:
        found = session.exec(select(Inquiry).order_by(col(Inquiry.id))).all()
        return [
            (
                inquiry,
                [
                    e.body
                    for e in session.exec(
                        select(InquiryEntry).where(InquiryEntry.inquiry_id == inquiry.id)
                    ).all()
                ],
            )
            for inquiry in found
        ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [(Language.ENGLISH, "Staff will answer you"), (Language.SPANISH, "El personal le respondera")],
)
def test_a_free_text_question_is_recorded_acknowledged_and_queued_as_an_inquiry(
    language: Language,
    expected: str,
    client: TestClient,  # noqa: F811
    ctx: WorkerContext,  # noqa: F811
    policy: Policy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    victim, _ = register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True, language=language)
    caplog.set_level(logging.DEBUG)
    answer = reply(text_in(client, QUESTION))
    assert answer is not None
    assert expected in answer

    [message] = inbound_rows(ctx)
    assert (message.body, message.victim_id, message.handled_as) == (
        QUESTION,
        victim.id,
        "free_text",
    )
    with ctx.engine.connect() as connection:
        raw_body, raw_sender = connection.execute(
            sa.text("SELECT body, sender_bidx FROM inbound_message")
        ).one()
    assert QUESTION not in raw_body  # encrypted at rest
    assert VICTIM_PHONE not in raw_sender
    [(inquiry, texts)] = queued(ctx)
    assert (inquiry.channel, inquiry.victim_id, texts) == ("sms", victim.id, [QUESTION])
    # The queue is how staff pick it up: no liaison task doubles the inquiry.
    assert tasks_of(ctx, TaskKind.INBOUND_MESSAGE) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert QUESTION not in logged
    assert VICTIM_PHONE not in logged


def test_texts_from_unknown_numbers_and_keywords_are_recorded_too(
    client: TestClient,  # noqa: F811
    ctx: WorkerContext,  # noqa: F811
) -> None:
    answer = reply(text_in(client, "hello?", sender="+15550188888"))
    assert answer is not None
    assert "Staff will answer you" in answer
    assert reply(text_in(client, "HELP", sender="+15550188888")) is not None
    rows = inbound_rows(ctx)
    assert [(r.handled_as, r.victim_id) for r in rows] == [("free_text", None), ("help", None)]
    # Only free text needs staff; from an unknown number it is an inquiry of its own.
    [(inquiry, texts)] = queued(ctx)
    assert (inquiry.victim_id, inquiry.case_id, texts) == (None, None, ["hello?"])
    assert tasks_of(ctx, TaskKind.INBOUND_MESSAGE) == []


def test_after_stop_free_text_is_kept_and_given_to_staff_but_not_answered(
    client: TestClient,  # noqa: F811
    ctx: WorkerContext,  # noqa: F811
    policy: Policy,
) -> None:
    register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    assert reply(text_in(client, "STOP")) is not None
    assert reply(text_in(client, QUESTION)) is None
    assert [r.handled_as for r in inbound_rows(ctx)] == ["stop", "free_text"]
    assert [texts for _, texts in queued(ctx)] == [[QUESTION]]
    assert tasks_of(ctx, TaskKind.INBOUND_MESSAGE) == []


def test_a_safety_concern_by_text_alerts_the_liaison_on_duty_with_no_second_task(
    client: TestClient,  # noqa: F811
    ctx: WorkerContext,  # noqa: F811
    policy: Policy,
) -> None:
    victim, _ = register(ctx.engine, policy, phone=VICTIM_PHONE, notify_sms=True)
    assert reply(text_in(client, "He threatened me again today")) is not None
    [(inquiry, _)] = queued(ctx)
    assert (inquiry.category, inquiry.priority) == ("safety_concern", "urgent")
    [alert] = tasks_of(ctx, TaskKind.INQUIRY_SAFETY_CONCERN)
    assert alert.victim_id == victim.id
    assert tasks_of(ctx, TaskKind.INBOUND_MESSAGE) == []


def test_replying_with_the_texted_code_proves_the_number(
    client: TestClient,  # noqa: F811
    ctx: WorkerContext,  # noqa: F811
    app_settings: Settings,  # noqa: F811
) -> None:
    csrf = staff_session(client, "liaison")
    body = {"first_name": "Ana", "last_name": "Ruiz", "phone": VICTIM_PHONE}
    victim = client.post("/api/v1/victims", json=body, headers=csrf).json()["victim"]
    [sms] = sorted((app_settings.outbox_dir / "sms").glob("verify-phone-*"))
    sent = json.loads(sms.read_text())["body"]
    code = next(w.strip(".,") for w in sent.split() if w.strip(".,").isdigit())
    wrong = "000000" if code != "000000" else "111111"

    assert "not right" in (reply(text_in(client, wrong)) or "")
    assert client.get(f"/api/v1/victims/{victim['id']}").json()["phone_verified"] is False
    assert "confirmed" in (reply(text_in(client, f" {code} ")) or "")
    assert client.get(f"/api/v1/victims/{victim['id']}").json()["phone_verified"] is True
    proofs = client.get(f"/api/v1/victims/{victim['id']}/contact-points").json()["proofs"]
    assert [(p["kind"], p["method"]) for p in proofs] == [("phone", "sms_reply")]
    assert [r.handled_as for r in inbound_rows(ctx)] == ["code", "code"]


def test_without_a_queue_handed_in_free_text_still_reaches_staff_as_a_task(
    ctx: WorkerContext,  # noqa: F811
) -> None:
    with transaction(ctx.engine) as session:
        handle_inbound(
            session=session,
            settings=ctx.settings,
            sender="+15550188888",
            body=QUESTION,
            now=utcnow(),
        )
    [task] = tasks_of(ctx, TaskKind.INBOUND_MESSAGE)
    assert task.victim_id is None
    assert queued(ctx) == []
