"""Safety holds: set and lifted by staff, audited, and honoured on every outward path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests import identity
from tests.factories import booking, case_of, event, victim_with_link
from tests.notify.test_tasks import (
    RecordingEmailSender,
    RecordingSmsSender,
    ingest,
    only_notification,
)
from voice import cli
from voice.app import create_app
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.holds import service as holds
from voice.ingest.service import ingest_event
from voice.notify.models import NotificationStatus
from voice.notify.tasks import WorkerContext, run_once


def a_case(session: Session, policy: Policy) -> int:
    ingest_event(session=session, candidate=booking(), policy=policy)
    case_id = case_of(session).id
    assert case_id is not None
    return case_id


def test_set_and_lift_are_audited(session: Session, policy: Policy) -> None:
    case_id = a_case(session, policy)
    hold = holds.set_hold(
        session=session,
        case_id=case_id,
        reason="victim reports threats",
        set_by="liaison-7",
        expires_at=utcnow() + timedelta(days=3),
    )
    assert holds.is_held(session=session, case_id=case_id)
    assert hold.id is not None
    holds.lift_hold(session=session, hold_id=hold.id, lifted_by="supervisor-2", note="resolved")
    assert not holds.is_held(session=session, case_id=case_id)
    trail = holds.changes(session=session, hold_id=hold.id)
    assert [(c.action, c.actor) for c in trail] == [("set", "liaison-7"), ("lift", "supervisor-2")]
    assert "victim reports threats" in trail[0].note
    assert holds.list_holds(session=session) == []
    assert [h.id for h in holds.list_holds(session=session, include_inactive=True)] == [hold.id]


def test_a_hold_ends_by_itself_when_it_expires(session: Session, policy: Policy) -> None:
    case_id = a_case(session, policy)
    holds.set_hold(
        session=session,
        case_id=case_id,
        reason="r",
        set_by="s",
        expires_at=utcnow() + timedelta(hours=1),
    )
    assert holds.is_held(session=session, case_id=case_id)
    assert not holds.is_held(session=session, case_id=case_id, now=utcnow() + timedelta(hours=2))


@pytest.mark.parametrize(
    ("reason", "by", "days", "message"),
    [("", "s", 1, "reason"), ("r", " ", 1, "reason"), ("r", "s", -1, "future")],
)
def test_bad_holds_are_refused(
    session: Session, policy: Policy, reason: str, by: str, days: int, message: str
) -> None:
    case_id = a_case(session, policy)
    with pytest.raises(holds.HoldError, match=message):
        holds.set_hold(
            session=session,
            case_id=case_id,
            reason=reason,
            set_by=by,
            expires_at=utcnow() + timedelta(days=days),
        )


def test_unknown_cases_and_holds_and_double_lifts_are_refused(
    session: Session, policy: Policy
) -> None:
    with pytest.raises(holds.HoldError, match="no case"):
        holds.set_hold(
            session=session,
            case_id=999_999,
            reason="r",
            set_by="s",
            expires_at=utcnow() + timedelta(days=1),
        )
    with pytest.raises(holds.HoldError, match="no hold"):
        holds.lift_hold(session=session, hold_id=999_999, lifted_by="s")
    case_id = a_case(session, policy)
    hold = holds.set_hold(
        session=session,
        case_id=case_id,
        reason="r",
        set_by="s",
        expires_at=utcnow() + timedelta(days=1),
    )
    assert hold.id is not None
    holds.lift_hold(session=session, hold_id=hold.id, lifted_by="s")
    with pytest.raises(holds.HoldError, match="already lifted"):
        holds.lift_hold(session=session, hold_id=hold.id, lifted_by="s")


def test_no_notification_is_queued_for_a_held_case(session: Session, policy: Policy) -> None:
    case_id = a_case(session, policy)
    victim_with_link(session, case_of(session))
    holds.set_hold(
        session=session,
        case_id=case_id,
        reason="r",
        set_by="s",
        expires_at=utcnow() + timedelta(days=1),
    )
    receipt = ingest_event(
        session=session,
        candidate=event("custody.transferred", occurred_at="2026-11-05T10:00:00Z"),
        policy=policy,
    )
    assert receipt.notifications == 0


@pytest.fixture
def ctx(committed_engine: Engine, settings: Settings, policy: Policy) -> WorkerContext:
    return WorkerContext(
        engine=committed_engine,
        settings=settings,
        policy=policy,
        email=RecordingEmailSender(),
        sms=RecordingSmsSender(),
        worker_id="w1",
    )


def test_a_hold_set_after_queueing_cancels_the_send(ctx: WorkerContext, policy: Policy) -> None:
    engine = ctx.engine
    ingest(engine, policy, event("custody.detainer_lodged", occurred_at="2026-11-01T08:00:00Z"))
    with transaction(engine) as session:
        victim_with_link(session, case_of(session))
    assert ingest(engine, policy, booking()).notifications == 1
    with transaction(engine) as session:
        holds.set_hold(
            session=session,
            case_id=case_of(session).id or 0,
            reason="r",
            set_by="s",
            expires_at=utcnow() + timedelta(days=1),
        )
    assert run_once(ctx) == 1
    row = only_notification(engine)
    assert row.status == NotificationStatus.CANCELLED
    assert isinstance(ctx.email, RecordingEmailSender)
    assert ctx.email.calls == []


@pytest.fixture
def client(committed_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=committed_engine)) as client:
        yield client


def test_self_service_shows_only_the_neutral_message_under_a_hold(
    client: TestClient, committed_engine: Engine, policy: Policy
) -> None:
    with transaction(committed_engine) as session:
        case_id = a_case(session, policy)
        victim, _, pin = victim_with_link(session, case_of(session))
    headers = identity.victim_sign_in(client, victim.victim_code, pin)
    before = client.get("/api/v1/self-service/cases", headers=headers).json()["data"][0]
    assert before["subject"]["last_name"] == "Example"
    assert before["message"] is None

    with transaction(committed_engine) as session:
        holds.set_hold(
            session=session,
            case_id=case_id,
            reason="threats reported by the victim",
            set_by="liaison-7",
            expires_at=utcnow() + timedelta(days=1),
        )
    response = client.get("/api/v1/self-service/cases", headers=headers)
    body = response.json()["data"][0]
    assert body["subject"] == {}
    assert body["case"] == {}
    assert body["message"] == policy.neutral_message
    for hint in ("withheld", "hold", "harm", "threats", "FOIA", "rule"):
        assert hint not in response.text


@pytest.mark.usefixtures("voice_env")
def test_cli_set_list_lift(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    with transaction(committed_engine) as session:
        case_id = a_case(session, policy)
    args = ["hold", "set", "--case-id", str(case_id), "--reason", "safety", "--by", "liaison-7"]
    assert cli.main([*args, "--days", "2"]) == 0
    hold_id = json.loads(capsys.readouterr().out)["hold_id"]
    assert cli.main(["hold", "list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(h["hold_id"], h["reason"]) for h in listed] == [(hold_id, "safety")]
    assert cli.main(["hold", "lift", "--hold-id", str(hold_id), "--by", "sup-1"]) == 0
    assert cli.main(["hold", "lift", "--hold-id", str(hold_id), "--by", "sup-1"]) == 1
    capsys.readouterr()
    assert cli.main(["hold", "list"]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main([*args, "--until", "2001-01-01T00:00:00Z"]) == 1
    assert cli.main(["hold", "set", "--reason", "r"]) == 2
    assert "--case-id, --by" in capsys.readouterr().err


def test_the_portal_case_page_shows_the_hold_and_why_fields_are_withheld(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    from voice.config import Environment

    with transaction(committed_engine) as session:
        case_id = a_case(session, policy)
        holds.set_hold(
            session=session,
            case_id=case_id,
            reason="threats reported",
            set_by="liaison-7",
            expires_at=utcnow() + timedelta(days=1),
        )
    dev = settings.model_copy(update={"environment": Environment.DEVELOPMENT})
    with TestClient(create_app(dev, engine=committed_engine)) as client:
        identity.staff_session(client, "liaison")
        page = client.get(f"/portal/cases/{case_id}").text
    assert "Safety hold" in page
    assert "threats reported" in page
    assert "harm.safety_hold" in page
    assert "FOIA (b)(7)(F)" in page
    assert "not available right now" in page
