"""A provider outage, under a clock the test moves: nothing fails, the breaker stops the
hammering, the backlog drains when the provider returns, and staff hear of a critical notice
that is late, once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.factories import booking, case_of, event, victim_with_link
from tests.notify.outage import Clock, OutageEmailSender
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure.policy import Policy
from voice.ingest.service import ingest_event
from voice.liaison.models import LiaisonTask, TaskKind, TaskStatus
from voice.notify import outbox, tasks
from voice.notify.adapters.memory import MemorySmsSender
from voice.notify.context import WorkerContext
from voice.notify.models import BreakerState, CircuitBreaker, Notification, NotificationStatus
from voice.worker import run_periodic_jobs

VICTIMS = 12
OUTAGE_SECONDS = 120.0


def queue_release(engine: Engine, policy: Policy, victims: int) -> None:
    """``victims`` verified registrants of one case, and a release: one email notice each."""
    with transaction(engine) as session:
        ingest_event(session=session, candidate=booking(), policy=policy)
        for n in range(victims):
            victim_with_link(session, case_of(session), email=f"victim{n}@example.invalid")
        ingest_event(
            session=session,
            policy=policy,
            candidate=event("custody.released", case={"custody_status": "released"}),
        )


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.exec(select(Notification.status)).all())


def breaker_state(engine: Engine) -> str:
    with Session(engine) as session:
        row = session.get(CircuitBreaker, "email:file")
        return row.state if row is not None else BreakerState.CLOSED


def worker(
    engine: Engine, settings: Settings, policy: Policy, clock: Clock, email: OutageEmailSender
) -> WorkerContext:
    return WorkerContext(
        engine=engine,
        settings=settings.model_copy(
            update={"worker_send_concurrency": 4, "breaker_cooldown_seconds": 30.0}
        ),
        policy=policy,
        email=email,
        sms=MemorySmsSender(),
        worker_id="w-outage",
        clock=clock,
    )


def drain(ctx: WorkerContext, clock: Clock, *, step: float, rounds: int) -> list[str]:
    """Run the loop as the worker does, moving the clock on whenever nothing is due.

    Returns the breaker's state after each pass, and stops once nothing is left to send.
    """
    seen = []
    for _ in range(rounds):
        claimed = outbox.run_once(ctx, tasks.NOTIFICATIONS)
        seen.append(breaker_state(ctx.engine))
        if claimed:
            continue
        counts = statuses(ctx.engine)
        if not counts[NotificationStatus.CREATED] and not counts[NotificationStatus.SENDING]:
            return seen
        clock.advance(step)
    raise AssertionError(f"still not drained: {statuses(ctx.engine)}")


def test_a_two_minute_outage_then_recovery_delivers_everything_and_fails_nothing(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    outage = OUTAGE_SECONDS
    queue_release(committed_engine, policy, VICTIMS)
    clock = Clock(utcnow())
    provider = OutageEmailSender(clock, up_at=clock() + timedelta(seconds=outage))
    ctx = worker(committed_engine, settings, policy, clock, provider)

    seen = drain(ctx, clock, step=5.0, rounds=400)

    assert statuses(committed_engine) == Counter({NotificationStatus.SENT: VICTIMS})
    # Each notice handed over exactly once, each under its own reference.
    assert len(provider.accepted) == VICTIMS
    assert set(provider.accepted.values()) == {1}
    # The breaker opened and stopped the hammering: a few failures to trip it, then about
    # one probe per cool-down, rather than every notice retried on its own schedule.
    assert BreakerState.OPEN in seen
    probes = outage / ctx.settings.breaker_cooldown_seconds + 1
    in_flight = ctx.settings.worker_send_concurrency
    assert provider.refused <= ctx.settings.breaker_failure_threshold + in_flight + probes
    assert seen[-1] == BreakerState.CLOSED
    with Session(committed_engine) as session:
        rows = session.exec(select(Notification)).all()
        tasks_raised = session.exec(select(LiaisonTask)).all()
    # No retry was spent on a closed channel beyond the few that tripped the breaker.
    assert max(r.attempts for r in rows) <= ctx.settings.breaker_failure_threshold + 2
    assert [t.kind for t in tasks_raised] == []


def test_an_undelivered_critical_notice_raises_one_task_early_and_its_retries_go_on(
    committed_engine: Engine, settings: Settings, policy: Policy
) -> None:
    queue_release(committed_engine, policy, 1)
    clock = Clock(utcnow())
    provider = OutageEmailSender(clock, up_at=clock() + timedelta(minutes=40))
    ctx = worker(committed_engine, settings, policy, clock, provider)
    early = ctx.settings.undelivered_escalation_seconds
    assert early == 15 * 60

    def undelivered() -> list[LiaisonTask]:
        with Session(committed_engine) as session:
            return list(
                session.exec(
                    select(LiaisonTask)
                    .where(LiaisonTask.kind == TaskKind.UNDELIVERED_NOTICE)
                    .order_by(col(LiaisonTask.id))
                ).all()
            )

    # The worker's loop: a pass every simulated minute, with the periodic jobs.
    for _ in range(14):
        outbox.run_once(ctx, tasks.NOTIFICATIONS)
        run_periodic_jobs(ctx)
        clock.advance(60)
    assert undelivered() == []
    for _ in range(10):  # now past 15 minutes, for a while
        outbox.run_once(ctx, tasks.NOTIFICATIONS)
        run_periodic_jobs(ctx)
        clock.advance(60)
    raised = undelivered()
    assert len(raised) == 1
    assert raised[0].status == TaskStatus.OPEN
    # The retries went on: the notice is still due, not failed.
    assert statuses(committed_engine) == Counter({NotificationStatus.CREATED: 1})

    # The provider comes back; the notice goes out, and the task closes by itself.
    for _ in range(60):
        outbox.run_once(ctx, tasks.NOTIFICATIONS)
        run_periodic_jobs(ctx)
        if statuses(committed_engine)[NotificationStatus.SENT]:
            break
        clock.advance(60)
    run_periodic_jobs(ctx)
    assert statuses(committed_engine) == Counter({NotificationStatus.SENT: 1})
    (closed,) = undelivered()
    assert closed.status == TaskStatus.DONE
    assert closed.close_reason == "delivered"
    assert closed.closed_by == "voice"
    assert closed.closed_at is not None
