"""The one delivery loop: claim, prepare, send, settle, for every kind of outbox row.

Notifications (``voice.notify.tasks``) and staff messages (``voice.messages.delivery``) are
delivered by the same loop; each kind supplies an ``Outbox`` that knows its own table. A claim
is a lease, committed before anything is sent (ADR 0001). No transaction is open while the
sends run, and the settle moves each row on only if this worker still holds its lease.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel import Session

from voice.database import transaction, utcnow
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.context import WorkerContext


class Ready(Protocol):
    """A row prepared for sending: its id, and the message its channel's adapter takes."""

    @property
    def row_id(self) -> int: ...
    @property
    def message(self) -> OutgoingEmail | OutgoingSms: ...


R = TypeVar("R", bound=Ready)


@dataclass(frozen=True)
class SendResult:
    """What the provider said: a reference when it accepted the message, else why not."""

    provider_ref: str | None = None
    code: str = ""
    retryable: bool = False


class Outbox(Protocol, Generic[R]):
    """One kind of outbox row. Every method runs inside the loop's transaction for its step."""

    def claim(
        self,
        *,
        session: Session,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
    ) -> list[int]: ...
    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[R], dict[int, Any]]: ...
    def settle(
        self, session: Session, ctx: WorkerContext, ready: list[R], results: list[SendResult]
    ) -> dict[int, Any]: ...


def backoff(attempts: int) -> timedelta:
    # Exponential with full jitter, so a provider outage does not end in a synchronised stampede.
    ceiling = min(3600.0, 5.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


def attempt(ctx: WorkerContext, message: OutgoingEmail | OutgoingSms) -> SendResult:
    try:
        if isinstance(message, OutgoingEmail):
            return SendResult(provider_ref=ctx.email.send(message=message))
        return SendResult(provider_ref=ctx.sms.send(message=message))
    except DeliveryError as exc:
        return SendResult(code=exc.code, retryable=exc.retryable)
    except Exception as exc:
        # An unexpected fault may be passing; it retries until the budget is spent.
        return SendResult(code=type(exc).__name__, retryable=True)


def send_all(ctx: WorkerContext, ready: Sequence[Ready]) -> list[SendResult]:
    """Send side by side, on up to ``worker_send_concurrency`` threads."""
    workers = min(max(1, ctx.settings.worker_send_concurrency), len(ready))
    if workers == 1:
        return [attempt(ctx, r.message) for r in ready]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voice-send") as pool:
        return list(pool.map(lambda r: attempt(ctx, r.message), ready))


def deliver_batch(ctx: WorkerContext, outbox: Outbox[R], ids: list[int]) -> dict[int, Any]:
    """Deliver claimed rows: one read, the sends side by side, one write.

    A crash anywhere leaves the rows leased; they are sent again, under the same reference,
    once the lease runs out.
    """
    with transaction(ctx.engine) as session:
        ready, outcomes = outbox.prepare(session, ctx, ids)
    if not ready:
        return outcomes
    results = send_all(ctx, ready)
    with transaction(ctx.engine) as session:
        outcomes.update(outbox.settle(session, ctx, ready, results))
    return outcomes


def run_once(ctx: WorkerContext, outbox: Outbox[R]) -> int:
    """Claim one batch of ``outbox``'s due rows and deliver it; return how many were claimed."""
    with transaction(ctx.engine) as session:
        ids = outbox.claim(
            session=session,
            worker_id=ctx.worker_id,
            now=utcnow(),
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )
    if ids:
        deliver_batch(ctx, outbox, ids)
    return len(ids)
