"""The mass-event guard: a burst of critical notices is held, then released or cancelled."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.factories import event, victim_with_link
from tests.notify.test_tasks import RecordingEmailSender, RecordingSmsSender, ingest, notifications
from voice import cli
from voice.cases.models import Case
from voice.config import get_settings
from voice.database import transaction
from voice.disclosure.policy import Policy
from voice.liaison.models import LiaisonTask, TaskKind
from voice.notify import guard
from voice.notify.models import MassEventPause
from voice.notify.tasks import WorkerContext, run_once


@pytest.fixture
def guard_env(voice_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VOICE_GUARD_MAX_CRITICAL_EVENTS", "2")
    monkeypatch.setenv("VOICE_GUARD_MIN_EVENTS", "1000")  # the share rule stays out of the way
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def cases_with_victims(engine: Engine, policy: Policy, count: int) -> None:
    for n in range(count):
        ingest(engine, policy, event("custody.booked", subject_id=f"S-G{n}", case_number=f"G-{n}"))
    with transaction(engine) as session:
        for n in range(count):
            case = session.exec(select(Case).where(Case.case_number == f"G-{n}")).one()
            victim_with_link(session, case, email=f"victim{n}@example.invalid")
    # The bookings' own notices are not what this is about.
    run_once(worker(engine, policy))


def release(engine: Engine, policy: Policy, n: int, event_type: str = "custody.released") -> None:
    custody = {"custody.released": "released", "custody.escaped": "escaped"}.get(event_type)
    ingest(
        engine,
        policy,
        event(
            event_type,
            subject_id=f"S-G{n}",
            case_number=f"G-{n}",
            occurred_at="2026-11-09T16:40:00Z",
            case={"custody_status": custody} if custody else {},
        ),
    )


def worker(engine: Engine, policy: Policy) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=get_settings(),
        policy=policy,
        email=RecordingEmailSender(),
        sms=RecordingSmsSender(),
        worker_id="w-guard",
    )


def statuses(engine: Engine) -> list[str]:
    return [n.status for n in notifications(engine)]


def voice(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert cli.main(list(args)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


@pytest.mark.usefixtures("guard_env")
def test_a_burst_of_releases_is_held_and_released_in_one_action(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    cases_with_victims(committed_engine, policy, 5)
    booked = len(notifications(committed_engine))
    release(committed_engine, policy, 0)
    release(committed_engine, policy, 1)
    assert statuses(committed_engine)[booked:] == ["created", "created"]

    release(committed_engine, policy, 2)  # the third in the window: over the rate
    # Everything critical and unsent in the window is held, the two before it included.
    assert statuses(committed_engine)[booked:] == ["paused"] * 3
    release(committed_engine, policy, 3, "custody.escaped")
    ingest(
        committed_engine,
        policy,
        event("case.hearing_scheduled", subject_id="S-G4", case_number="G-4"),
    )
    assert statuses(committed_engine)[booked:] == ["paused"] * 4 + ["created"]  # not critical
    assert run_once(worker(committed_engine, policy)) == 1  # only the hearing notice goes

    (listed,) = voice(capsys, "guard", "list")
    assert listed["notifications"] == 4
    assert listed["cases"] == 4
    assert listed["by_event_type"] == {"custody.released": 3, "custody.escaped": 1}
    with transaction(committed_engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    assert task.kind == TaskKind.MASS_EVENT_PAUSE

    (done,) = voice(capsys, "guard", "release", str(listed["id"]), "--by", "supervisor-7")
    assert done == {"pause": listed["id"], "action": "release", "notifications": 4}
    sender = worker(committed_engine, policy)
    assert run_once(sender) == 4
    assert statuses(committed_engine)[booked:] == ["sent"] * 5
    assert voice(capsys, "guard", "list") == []
    with transaction(committed_engine) as session:
        hold = session.exec(select(MassEventPause)).one()
    assert (hold.status, hold.decided_by) == ("released", "supervisor-7")
    with transaction(committed_engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    # The supervisor's decision was what the task asked for: it closed with it.
    assert (task.status, task.close_reason, task.closed_by) == ("done", "pause_released", "voice")
    assert task.closed_at is not None
    with pytest.raises(SystemExit, match="not open"):
        cli.main(["guard", "cancel", str(listed["id"]), "--by", "supervisor-7"])


@pytest.mark.usefixtures("guard_env")
def test_a_cancelled_hold_sends_nothing(
    committed_engine: Engine, policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    cases_with_victims(committed_engine, policy, 4)
    booked = len(notifications(committed_engine))
    for n in range(4):
        release(committed_engine, policy, n)
    (listed,) = voice(capsys, "guard", "list")

    (done,) = voice(capsys, "guard", "cancel", str(listed["id"]), "--by", "supervisor-7")

    assert done["notifications"] == 4
    sender = worker(committed_engine, policy)
    assert run_once(sender) == 0
    assert statuses(committed_engine)[booked:] == ["cancelled"] * 4
    assert isinstance(sender.email, RecordingEmailSender)
    assert sender.email.calls == []
    assert {n.last_error for n in notifications(committed_engine)[booked:]} == {
        f"cancelled with mass-event pause {listed['id']}"
    }
    with transaction(committed_engine) as session:
        (task,) = session.exec(select(LiaisonTask)).all()
    assert (task.status, task.close_reason) == ("done", "pause_cancelled")


def test_the_share_of_active_cases_trips_the_guard(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUARD_MAX_CRITICAL_EVENTS", "1000")
    monkeypatch.setenv("VOICE_GUARD_MIN_EVENTS", "3")
    monkeypatch.setenv("VOICE_GUARD_MAX_CASE_SHARE", "0.25")
    get_settings.cache_clear()
    try:
        cases_with_victims(committed_engine, policy, 8)
        booked = len(notifications(committed_engine))
        for n in range(3):
            release(committed_engine, policy, n)
    finally:
        get_settings.cache_clear()
    # Three critical events over eight active cases: above a quarter, at the minimum count.
    assert statuses(committed_engine)[booked:] == ["paused"] * 3
    with transaction(committed_engine) as session:
        (hold,) = guard.list_pauses(session=session)
    assert "share of active cases" in hold.reason


def test_a_suspended_guard_holds_nothing(
    committed_engine: Engine, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_GUARD_MAX_CRITICAL_EVENTS", "0")
    get_settings.cache_clear()
    try:
        cases_with_victims(committed_engine, policy, 2)
        booked = len(notifications(committed_engine))
        with guard.suspended():
            release(committed_engine, policy, 0)
        assert statuses(committed_engine)[booked:] == ["created"]
        monkeypatch.setenv("VOICE_GUARD_MAX_CRITICAL_EVENTS", "1")
        get_settings.cache_clear()
        release(committed_engine, policy, 1)  # the first counted: within the limit of one
    finally:
        get_settings.cache_clear()
    # The suspended notice neither counted towards the burst nor joined a hold.
    assert statuses(committed_engine)[booked:] == ["created", "created"]
