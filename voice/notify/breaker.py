"""A circuit breaker per channel and provider, kept in a table so every worker process agrees.

While a provider is down, sending to it only burns each notice's retries and hammers the
provider as it comes back. So after ``breaker_failure_threshold`` failures in a row on one
channel (``email:smtp``, ``sms:twilio``) the breaker *opens*: workers leave that channel's rows
due, neither sent nor failed, and nothing counts against their retries. After
``breaker_cooldown_seconds`` one worker takes the single *probe* (half-open): if the provider
accepts it the breaker closes and the backlog drains; if not, it opens for another cool-down.

Only failures that say the provider is unwell count (temporary and technical ones). A
permanent refusal of one address is the provider answering, so it counts as an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.config import Settings
from voice.notify.models import BreakerState, CircuitBreaker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Permit:
    """What a worker may do on a channel for one batch: send all, send one probe, or wait."""

    send: bool
    probe: bool = False
    wait_until: datetime | None = None


SEND = Permit(send=True)


def permit(
    *, session: Session, key: str, worker_id: str, now: datetime, settings: Settings
) -> Permit:
    row = session.get(CircuitBreaker, key)
    if row is None or row.state == BreakerState.CLOSED:
        return SEND
    assert row.retry_at is not None
    if row.retry_at > now:
        return Permit(send=False, wait_until=row.retry_at)
    # The cool-down is over (or the last probe's holder went quiet): one worker takes the probe.
    taken = session.execute(
        sa.update(CircuitBreaker)
        .where(
            col(CircuitBreaker.key) == key,
            col(CircuitBreaker.state) == row.state,
            col(CircuitBreaker.retry_at) == row.retry_at,
        )
        .values(
            state=BreakerState.HALF_OPEN,
            probe_by=worker_id,
            retry_at=now + timedelta(seconds=settings.breaker_cooldown_seconds),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return Permit(send=False, wait_until=now)
    log.info("breaker %s half-open: this worker probes", key)
    return Permit(send=False, probe=True)


_TABLE = CircuitBreaker.__table__  # type: ignore[attr-defined]
# Built once, and on the table rather than the model: every hand-over commit runs it, for all
# its channels at once, and building an ORM update each time cost more than running it.
_CLOSE = (
    sa.update(_TABLE)
    .where(
        _TABLE.c.key.in_(sa.bindparam("b_keys", expanding=True)),
        sa.or_(_TABLE.c.state != BreakerState.CLOSED.value, _TABLE.c.failures > 0),
    )
    .values(
        state=BreakerState.CLOSED.value,
        failures=0,
        opened_at=None,
        retry_at=None,
        probe_by=None,
        updated_at=sa.bindparam("b_now"),
    )
    .returning(_TABLE.c.key)
)


def record_healthy(*, session: Session, keys: Sequence[str], now: datetime) -> None:
    """Count one healthy answer on each of ``keys``, in one statement: each breaker closes."""
    if not keys:
        return
    # Usually matches nothing: a closed breaker with no failures is left alone.
    closed = session.connection().execute(_CLOSE, {"b_keys": sorted(keys), "b_now": now})
    for key in closed.scalars():
        log.info("breaker %s closed", key)


def record(
    *, session: Session, key: str, healthy: bool, now: datetime, settings: Settings
) -> BreakerState:
    """Count one answer on ``key``; return the breaker's state after it."""
    if healthy:
        record_healthy(session=session, keys=[key], now=now)
        return BreakerState.CLOSED
    row = session.exec(
        select(CircuitBreaker).where(CircuitBreaker.key == key).with_for_update()
    ).first()
    if row is None:
        row = _create(session, key)
    row.failures += 1
    row.updated_at = now
    reopen = row.state == BreakerState.HALF_OPEN
    trip = row.state == BreakerState.CLOSED and row.failures >= settings.breaker_failure_threshold
    if reopen or trip:
        row.state = BreakerState.OPEN
        row.opened_at = row.opened_at if reopen else now
        row.retry_at = now + timedelta(seconds=settings.breaker_cooldown_seconds)
        row.probe_by = None
        log.warning("breaker %s open after %d failures in a row", key, row.failures)
    session.add(row)
    session.flush()
    return BreakerState(row.state)


def retry_at(*, session: Session, key: str) -> datetime | None:
    row = session.get(CircuitBreaker, key)
    return row.retry_at if row is not None and row.state != BreakerState.CLOSED else None


def _create(session: Session, key: str) -> CircuitBreaker:
    try:
        # A savepoint: another worker may create the same row at the same moment.
        with session.begin_nested():
            session.add(CircuitBreaker(key=key))
    except sa.exc.IntegrityError:
        pass
    return session.exec(
        select(CircuitBreaker).where(CircuitBreaker.key == key).with_for_update()
    ).one()
