"""Retries run on a time budget, not an attempt count; the hard cap on claims never cuts the
budget short."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.notify.outage import Clock, OutageEmailSender
from tests.notify.test_outage import queue_release
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.notify import outbox, retry, tasks
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.context import WorkerContext
from voice.notify.models import Notification, NotificationStatus


def test_the_default_attempt_cap_fits_the_default_budget() -> None:
    defaults = Settings()
    assert defaults.worker_retry_budget_seconds >= 24 * 3600
    assert retry.worst_case_attempts(defaults) <= defaults.worker_max_attempts


def test_backoff_is_jittered_and_bounded() -> None:
    settings = Settings()
    waits = {retry.backoff(3, settings) for _ in range(50)}
    assert len(waits) > 1  # jittered
    assert all(timedelta(seconds=10) <= w <= timedelta(seconds=20) for w in waits)
    far = retry.backoff(60, settings)
    assert timedelta(seconds=1800) <= far <= timedelta(seconds=3600)


def test_a_failing_notice_is_retried_for_a_day_and_then_fails(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    queue_release(committed_engine, policy, 1)
    clock = Clock(utcnow())
    provider = OutageEmailSender(clock, up_at=clock() + timedelta(days=30))
    ctx = WorkerContext(
        engine=committed_engine,
        # Without the breaker, so that every retry reaches the provider.
        settings=settings.model_copy(update={"breaker_failure_threshold": 10_000}),
        policy=policy,
        email=provider,
        sms=MemorySmsSender(),
        worker_id="w-retry",
        clock=clock,
    )

    def row() -> Notification:
        with Session(committed_engine) as session:
            (notification,) = session.exec(select(Notification)).all()
            return notification

    start = clock()
    while clock() - start < timedelta(hours=23):
        assert outbox.run_once(ctx, tasks.NOTIFICATIONS) == 1
        current = row()
        assert current.status == NotificationStatus.CREATED, current.last_error
        clock.at = max(clock(), current.next_attempt_at)
    assert provider.refused > 5  # far more than the old five attempts
    clock.at = start + timedelta(hours=24, seconds=1)
    late = dataclasses.replace(ctx, worker_id="w-late")
    assert outbox.run_once(late, tasks.NOTIFICATIONS) == 1
    assert row().status == NotificationStatus.TECHNICAL_FAILURE
