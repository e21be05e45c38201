"""Quiet hours: routine notices wait for the victim's morning; critical ones never wait."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from tests.factories import booking, event
from tests.notify.test_tasks import (  # noqa: F401  (fixtures)
    RecordingEmailSender,
    claim_at,
    ctx,
    email_out,
    get_notification,
    ingest,
    notifications,
    register,
    sms_out,
)
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.notify import prepare as prepare_module
from voice.notify.models import NotificationStatus
from voice.notify.quiet_hours import quiet_until
from voice.notify.tasks import WorkerContext, deliver
from voice.victims.models import Victim

# 03:30 in Chicago (CST, UTC-6) on 10 December 2026.
NIGHT = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "now", "expected"),
    [
        (22, 7, NIGHT, datetime(2026, 12, 10, 13, 0, tzinfo=UTC)),  # wraps midnight
        (1, 6, NIGHT, datetime(2026, 12, 10, 12, 0, tzinfo=UTC)),
        (22, 7, datetime(2026, 12, 10, 18, 0, tzinfo=UTC), None),  # noon: not quiet
        # 22:30 the evening before: the morning after.
        (
            22,
            7,
            datetime(2026, 12, 11, 4, 30, tzinfo=UTC),
            datetime(2026, 12, 11, 13, 0, tzinfo=UTC),
        ),
        (None, None, NIGHT, None),
        (7, 7, NIGHT, None),
    ],
)
def test_quiet_until(
    start: int | None, end: int | None, now: datetime, expected: datetime | None
) -> None:
    found = quiet_until(
        now=now,
        event_type="case.hearing_scheduled",
        time_zone="America/Chicago",
        start_hour=start,
        end_hour=end,
    )
    assert found == expected


@pytest.mark.parametrize(
    "event_type", ["custody.released", "custody.escaped", "custody.returned", "removal.completed"]
)
def test_critical_notices_never_wait(event_type: str) -> None:
    assert (
        quiet_until(
            now=NIGHT, event_type=event_type, time_zone="America/Chicago", start_hour=22, end_hour=7
        )
        is None
    )


def _quiet_victim(engine: Engine, policy: Policy) -> None:
    victim, _ = register(engine, policy)
    with transaction(engine) as session:
        row = session.get_one(Victim, victim.id)
        row.time_zone, row.quiet_start_hour, row.quiet_end_hour = "America/Chicago", 22, 7
        session.add(row)


def test_a_routine_notice_at_night_is_deferred_not_sent(
    ctx: WorkerContext,  # noqa: F811  (the fixture imported above)
    committed_engine: Engine,
    policy: Policy,
    email_out: RecordingEmailSender,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare_module, "utcnow", lambda: NIGHT)
    _quiet_victim(committed_engine, policy)
    ingest(committed_engine, policy, booking())
    (queued,) = notifications(committed_engine)
    assert queued.id is not None
    assert claim_at(ctx, utcnow()) == [queued.id]
    assert deliver(ctx, queued.id) is NotificationStatus.CREATED
    later = get_notification(committed_engine, queued.id)
    assert later.status == NotificationStatus.CREATED
    assert later.next_attempt_at == datetime(2026, 12, 10, 13, 0, tzinfo=UTC)  # 07:00 Chicago
    assert later.attempts == 0  # the deferral does not spend an attempt
    assert email_out.calls == []


def test_a_release_at_night_goes_out_at_once(
    ctx: WorkerContext,  # noqa: F811  (the fixture imported above)
    committed_engine: Engine,
    policy: Policy,
    email_out: RecordingEmailSender,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepare_module, "utcnow", lambda: NIGHT)
    _quiet_victim(committed_engine, policy)
    ingest(committed_engine, policy, booking())
    ingest(committed_engine, policy, event("custody.released"))
    release = notifications(committed_engine)[-1]
    assert release.id is not None
    assert release.id in claim_at(ctx, utcnow())
    assert deliver(ctx, release.id) is not NotificationStatus.CREATED
    assert len(email_out.calls) == 1
