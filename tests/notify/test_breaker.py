"""The circuit breaker: opens after N failures in a row, lets one probe through after the
cool-down, closes when the probe succeeds; every worker reads the same row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from voice.config import Settings
from voice.database import transaction, utcnow
from voice.notify import breaker
from voice.notify.models import BreakerState, CircuitBreaker

KEY = "email:smtp"


def record(engine: Engine, settings: Settings, *, healthy: bool, at: object) -> BreakerState:
    with transaction(engine) as session:
        return breaker.record(
            session=session,
            key=KEY,
            healthy=healthy,
            now=at,  # type: ignore[arg-type]
            settings=settings,
        )


def permit(engine: Engine, settings: Settings, worker: str, at: object) -> breaker.Permit:
    with transaction(engine) as session:
        return breaker.permit(
            session=session,
            key=KEY,
            worker_id=worker,
            now=at,  # type: ignore[arg-type]
            settings=settings,
        )


def test_the_breaker_opens_half_opens_and_closes(
    committed_engine: Engine, settings: Settings
) -> None:
    tuned = settings.model_copy(
        update={"breaker_failure_threshold": 3, "breaker_cooldown_seconds": 30.0}
    )
    now = utcnow()
    assert permit(committed_engine, tuned, "w1", now) == breaker.SEND  # no row yet: closed

    # Failures below the threshold, interrupted by a success, do not open it.
    for healthy in (False, False, True, False, False):
        assert record(committed_engine, tuned, healthy=healthy, at=now) == BreakerState.CLOSED
    assert record(committed_engine, tuned, healthy=False, at=now) == BreakerState.OPEN

    # Open: no worker sends until the cool-down is over; each is told until when to wait.
    waiting = permit(committed_engine, tuned, "w2", now + timedelta(seconds=10))
    assert not waiting.send
    assert not waiting.probe
    assert waiting.wait_until == now + timedelta(seconds=30)

    # Half-open: exactly one worker gets the probe.
    later = now + timedelta(seconds=31)
    first = permit(committed_engine, tuned, "w1", later)
    second = permit(committed_engine, tuned, "w2", later)
    assert (first.probe, second.probe) == (True, False)
    assert not second.send

    # A failed probe opens it again for another cool-down.
    assert record(committed_engine, tuned, healthy=False, at=later) == BreakerState.OPEN
    assert not permit(committed_engine, tuned, "w2", later + timedelta(seconds=29)).probe
    again = later + timedelta(seconds=30)
    assert permit(committed_engine, tuned, "w2", again).probe

    # A probe that succeeds closes it, and every worker sends again.
    assert record(committed_engine, tuned, healthy=True, at=again) == BreakerState.CLOSED
    assert permit(committed_engine, tuned, "w1", again) == breaker.SEND
    assert permit(committed_engine, tuned, "w2", again) == breaker.SEND


def test_a_probe_whose_worker_went_quiet_passes_to_another(
    committed_engine: Engine, settings: Settings
) -> None:
    tuned = settings.model_copy(
        update={"breaker_failure_threshold": 1, "breaker_cooldown_seconds": 30.0}
    )
    now = utcnow()
    assert record(committed_engine, tuned, healthy=False, at=now) == BreakerState.OPEN
    assert permit(committed_engine, tuned, "dead", now + timedelta(seconds=30)).probe
    # The probe's holder never answers: after another cool-down, someone else probes.
    assert not permit(committed_engine, tuned, "w2", now + timedelta(seconds=45)).probe
    assert permit(committed_engine, tuned, "w2", now + timedelta(seconds=61)).probe


def test_healthy_answers_close_every_breaker_they_name_in_one_call(
    committed_engine: Engine, settings: Settings
) -> None:
    now = utcnow()
    with transaction(committed_engine) as session:
        for key in ("email:smtp", "sms:twilio"):
            for _ in range(settings.breaker_failure_threshold):
                breaker.record(session=session, key=key, healthy=False, now=now, settings=settings)
        breaker.record(session=session, key="other", healthy=False, now=now, settings=settings)

    with transaction(committed_engine) as session:
        breaker.record_healthy(session=session, keys=["email:smtp", "sms:twilio"], now=now)

    with transaction(committed_engine) as session:
        for key in ("email:smtp", "sms:twilio"):
            permit = breaker.permit(
                session=session, key=key, worker_id="w", now=now, settings=settings
            )
            assert permit == breaker.SEND
        row = session.get(CircuitBreaker, "other")
        assert row is not None
        assert row.failures == 1  # not named, not closed
