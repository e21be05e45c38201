"""Liaison tasks close when their cause goes away, recording why; staff claim them and close
them with an outcome note, through the API and the CLI."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tests import identity
from tests.factories import booking, case_of, victim_with_link
from tests.identity import staff_session
from tests.notify.callbacks.test_inbound_and_ack import PUBLIC, released, reply, text_in
from tests.notify.servers import TWILIO_SID, TWILIO_TOKEN
from tests.notify.test_tasks import (
    VICTIM_PHONE,
    FailingEmailSender,
    RecordingEmailSender,
    RecordingSmsSender,
    ingest,
)
from voice import cli
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.liaison import service as liaison_service
from voice.liaison.models import LiaisonTask, TaskKind, TaskStatus
from voice.notify.adapters.base import DeliveryError, OutgoingSms
from voice.notify.escalation import run_periodic
from voice.notify.tasks import WorkerContext, run_once


class FailingSmsSender:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def send(self, *, message: OutgoingSms) -> str:
        raise self.exc


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "public_base_url": PUBLIC,
        }
    )


@pytest.fixture
def client(committed_engine: Engine, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, engine=committed_engine)) as client:
        yield client


@pytest.fixture
def mail() -> RecordingEmailSender:
    return RecordingEmailSender()


@pytest.fixture
def ctx(
    committed_engine: Engine, app_settings: Settings, policy: Policy, mail: RecordingEmailSender
) -> WorkerContext:
    return WorkerContext(
        engine=committed_engine,
        settings=app_settings,
        policy=policy,
        email=mail,
        sms=RecordingSmsSender(),
        worker_id="w-tasks",
    )


def periodic(ctx: WorkerContext, after: float) -> None:
    with transaction(ctx.engine) as session:
        run_periodic(
            session=session, settings=ctx.settings, now=utcnow() + timedelta(seconds=after)
        )


def tasks(engine: Engine) -> list[LiaisonTask]:
    with transaction(engine) as session:
        return list(session.exec(select(LiaisonTask).order_by(col(LiaisonTask.id))).all())


def unacknowledged_notice(ctx: WorkerContext, policy: Policy) -> tuple[str, str, int]:
    """A victim (email and SMS) who was sent a release and did not acknowledge it in time;
    returns their Victim ID, PIN and the event's id."""
    ingest(ctx.engine, policy, booking())
    with transaction(ctx.engine) as session:
        victim, _, pin = victim_with_link(
            session, case_of(session), phone=VICTIM_PHONE, notify_sms=True
        )
    receipt = ingest(ctx.engine, policy, released())
    run_once(ctx)
    periodic(ctx, ctx.settings.ack_escalation_seconds + 1)
    (task,) = tasks(ctx.engine)
    assert (task.kind, task.status) == (TaskKind.UNACKNOWLEDGED_NOTICE, TaskStatus.OPEN)
    assert receipt.event_id is not None
    assert victim.victim_code is not None
    return victim.victim_code, pin, receipt.event_id


@pytest.mark.parametrize("via", ["sms", "email_link", "self_service"])
def test_an_acknowledgement_closes_the_unacknowledged_task(
    via: str,
    client: TestClient,
    ctx: WorkerContext,
    policy: Policy,
    mail: RecordingEmailSender,
) -> None:
    code, pin, event_id = unacknowledged_notice(ctx, policy)
    if via == "sms":
        assert "Thank you" in (reply(text_in(client, "YES")) or "")
    elif via == "email_link":
        (message,) = mail.calls
        link = next(w for w in message.text.split() if w.startswith(PUBLIC + "/ack/"))
        assert client.post(urlparse(link).path).status_code == 200
    else:
        auth = identity.victim_sign_in(client, code, pin)
        url = f"/api/v1/self-service/notices/{event_id}/acknowledge"
        assert client.post(url, headers=auth).status_code == 204

    (task,) = tasks(ctx.engine)
    assert task.status == TaskStatus.DONE
    assert (task.close_reason, task.closed_by) == ("acknowledged", "voice")
    assert task.closed_at is not None


def test_a_failed_notice_task_closes_when_the_victim_is_reached_on_another_channel(
    ctx: WorkerContext, policy: Policy
) -> None:
    ingest(ctx.engine, policy, booking())
    with transaction(ctx.engine) as session:
        victim_with_link(session, case_of(session), phone=VICTIM_PHONE, notify_sms=True)
    ingest(ctx.engine, policy, released())
    refused = FailingEmailSender(DeliveryError("smtp.550", retryable=False))
    busy = FailingSmsSender(DeliveryError("twilio.20429", retryable=True))
    # The email is refused for good; the text is to be tried again.
    run_once(dataclasses.replace(ctx, email=refused, sms=busy))
    (failed,) = tasks(ctx.engine)
    assert (failed.kind, failed.status) == (TaskKind.DELIVERY_FAILED, TaskStatus.OPEN)
    periodic(ctx, 0)
    assert tasks(ctx.engine)[0].status == TaskStatus.OPEN

    # Ten minutes on, the text goes out: the victim has been told.
    assert run_once(dataclasses.replace(ctx, clock=lambda: utcnow() + timedelta(minutes=10)))
    periodic(ctx, 0)
    (task,) = tasks(ctx.engine)
    assert (task.status, task.close_reason) == (TaskStatus.DONE, "delivered")


# ----------------------------------------------------------------------------- staff


def open_task(engine: Engine, kind: TaskKind = TaskKind.INVALID_CONTACT, key: str = "k1") -> int:
    with transaction(engine) as session:
        task = liaison_service.open_task(
            session=session, kind=kind, dedupe_key=key, reason="call the victim"
        )
        assert task is not None
        assert task.id is not None
        return task.id


def test_staff_list_claim_and_close_a_task_through_the_api(
    client: TestClient, committed_engine: Engine
) -> None:
    first = open_task(committed_engine)
    second = open_task(committed_engine, TaskKind.DELIVERY_FAILED, "k2")
    csrf = staff_session(client, "liaison")

    listed = client.get("/api/v1/tasks", params={"status": "open"}).json()
    assert [t["id"] for t in listed["data"]] == [first, second]
    assert listed["count"] == 2
    by_kind = client.get("/api/v1/tasks", params={"kind": "delivery_failed"}).json()
    assert [t["id"] for t in by_kind["data"]] == [second]
    assert client.get("/api/v1/tasks", params={"kind": "nonsense"}).status_code == 422

    claimed = client.post(f"/api/v1/tasks/{first}/claim", headers=csrf)
    assert claimed.status_code == 200
    assignee = claimed.json()["assignee"]
    assert assignee
    assert claimed.json()["claimed_at"]
    mine = client.get("/api/v1/tasks", params={"assignee": assignee}).json()
    assert [t["id"] for t in mine["data"]] == [first]

    url = f"/api/v1/tasks/{first}/close"
    assert client.post(url, json={"outcome_note": ""}, headers=csrf).status_code == 422
    note = "Reached the victim at the office line; new email on file."
    closed = client.post(url, json={"outcome_note": note}, headers=csrf)
    assert closed.status_code == 200
    body = closed.json()
    assert (body["status"], body["close_reason"], body["outcome_note"]) == ("done", "staff", note)
    assert body["closed_by"] == assignee
    assert body["closed_at"]
    again = client.post(url, json={"outcome_note": note}, headers=csrf)
    assert again.status_code == 409
    assert client.post(f"/api/v1/tasks/{first}/claim", headers=csrf).status_code == 409
    assert client.post("/api/v1/tasks/999999/claim", headers=csrf).status_code == 404
    done = client.get("/api/v1/tasks", params={"status": "done"}).json()
    assert [t["id"] for t in done["data"]] == [first]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["tasks", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("voice_env")
def test_staff_claim_and_close_a_task_from_the_command_line(
    committed_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = open_task(committed_engine)

    code, out, _ = run_cli(capsys, "--kind", "invalid_contact")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [task_id]
    code, out, _ = run_cli(capsys, "claim", str(task_id), "--by", "liaison-3")
    assert code == 0
    assert json.loads(out)["assignee"] == "liaison-3"
    code, out, _ = run_cli(
        capsys, "close", str(task_id), "--by", "liaison-3", "--note", "called; all well"
    )
    assert code == 0
    closed = json.loads(out)
    assert (closed["status"], closed["closed_by"], closed["outcome_note"]) == (
        "done",
        "liaison-3",
        "called; all well",
    )
    assert run_cli(capsys, "--kind", "invalid_contact")[1] == ""  # no longer open
    code, out, _ = run_cli(capsys, "--status", "done")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [task_id]

    code, _, err = run_cli(capsys, "close", str(task_id), "--by", "x", "--note", "again")
    assert code == 1
    assert "closed already" in err


@pytest.mark.usefixtures("voice_env")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--kind", "nonsense"], "invalid choice"),
        (["close", "1", "--by", "x"], "--note"),
        (["close", "one", "--by", "x", "--note", "n"], "not a task id"),
        (["claim", "1"], "--by"),
        (["close", "1", "--by", "x", "--note", "  "], "must not be empty"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert says in err


def test_help_lists_the_allowed_kinds_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for kind in TaskKind:
        assert kind.value in flat
    assert "(default: open)" in flat
