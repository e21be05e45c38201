"""The one delivery loop: claim, prepare, send, settle, for every kind of outbox row.

Notifications (``voice.notify.tasks``) and staff messages (``voice.messages.delivery``) are
delivered by the same loop; each kind supplies an ``Outbox`` that knows its own table. A claim
is a lease, committed before anything is sent (ADR 0001). No transaction is open while a send
runs. Each outcome is settled as soon as its provider has answered, in a short commit of its
own (``voice.notify.handover``), and only if this worker still holds the row's lease. A channel
whose circuit breaker is open (``voice.notify.breaker``) is not sent to: its rows go back to due.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel import Session

from voice import metrics, tracing
from voice.database import transaction
from voice.notify import breaker
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.context import WorkerContext
from voice.notify.handover import Gate, HandOver


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
    def defer(
        self, session: Session, ctx: WorkerContext, deferred: list[tuple[R, datetime]]
    ) -> dict[int, Any]:
        """Put rows back to due at the given times, unsent, their attempt not counted."""
        ...


def _measure(key: str, result: SendResult) -> None:
    channel = key.split(":", 1)[0]
    if result.provider_ref is not None:
        metrics.SENDS.labels(channel, "accepted").inc()
    elif result.retryable:
        metrics.SENDS.labels(channel, "temporary-failure").inc()
        metrics.RETRIES.labels(channel).inc()
    else:
        metrics.SENDS.labels(channel, "permanent-failure").inc()


def attempt(ctx: WorkerContext, message: OutgoingEmail | OutgoingSms) -> SendResult:
    channel = "email" if isinstance(message, OutgoingEmail) else "sms"
    with tracing.tracer.start_as_current_span(f"adapter.{channel}"):
        return _attempt(ctx, message)


def _attempt(ctx: WorkerContext, message: OutgoingEmail | OutgoingSms) -> SendResult:
    try:
        if isinstance(message, OutgoingEmail):
            return SendResult(provider_ref=ctx.email.send(message=message))
        return SendResult(provider_ref=ctx.sms.send(message=message))
    except DeliveryError as exc:
        return SendResult(code=exc.code, retryable=exc.retryable)
    except Exception as exc:
        # An unexpected fault may be passing; it retries until the budget is spent.
        return SendResult(code=type(exc).__name__, retryable=True)


def channel_key(ctx: WorkerContext, message: OutgoingEmail | OutgoingSms) -> str:
    """The breaker a message counts on: its channel and the provider that carries it."""
    if isinstance(message, OutgoingEmail):
        return f"email:{ctx.settings.email_adapter}"[:64]
    return f"sms:{ctx.settings.sms_adapter}"[:64]


# Rows prepared in a round's first read: the first few are sent while the rest of the batch is
# prepared. Once sends are under way, the rest of each batch is prepared in one read: a read
# costs a fixed dozen statements and a commit, whatever its size, and four reads a batch had
# made that fixed part cost as much as the rows themselves.
PREPARE_CHUNK = 25
# How long one round (``run_once``) goes on claiming batch after batch while rows keep coming
# due: the loop then gets back to the other outboxes and the periodic jobs.
ROUND_SECONDS = 5.0


def permits(
    session: Session,
    ctx: WorkerContext,
    ready: Sequence[R],
    now: datetime,
    *,
    known: set[str] | None = None,
) -> dict[str, breaker.Permit]:
    """The breakers' word on every channel the rows send to (but those already ``known``).

    Only channels with a row to send are asked: asking takes a half-open breaker's probe."""
    keys = {channel_key(ctx, r.message) for r in ready} - (known or set())
    return {
        key: breaker.permit(
            session=session, key=key, worker_id=ctx.worker_id, now=now, settings=ctx.settings
        )
        for key in sorted(keys)
    }


class Sending(Generic[R]):
    """A batch's sends, side by side on up to ``worker_send_concurrency`` threads, each outcome
    committed before its thread sends again; rows the breakers hold back go back to due.

    Rows are handed in as they are prepared, so the first are on their way while the rest of
    the batch is still being read and rendered."""

    def __init__(
        self, ctx: WorkerContext, outbox: Outbox[R], asked: dict[str, breaker.Permit], now: datetime
    ) -> None:
        self._ctx = ctx
        self._outbox = outbox
        self.gate = Gate(asked, now)
        self._deferred: list[tuple[R, datetime]] = []
        self._handover: HandOver[R] = HandOver(ctx, outbox, self.gate)
        self._workers = max(1, ctx.settings.worker_send_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[None]] = []
        # Rows handed in and not yet taken up by a send thread.
        self._waiting = 0
        self._taken = threading.Condition()

    def submit(self, ready: Sequence[R]) -> None:
        if self._workers == 1:
            for item in ready:
                self._one(item)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="voice-send"
            )
        with self._taken:
            self._waiting += len(ready)
        self._futures += [self._pool.submit(self._take, item) for item in ready]

    def wait_for_room(self, waiting: int) -> None:
        """Return once at most ``waiting`` rows handed in wait for a send thread."""
        with self._taken:
            while self._waiting > waiting:
                self._taken.wait()

    def _take(self, item: R) -> None:
        with self._taken:
            self._waiting -= 1
            self._taken.notify_all()
        self._one(item)

    def finish(self) -> dict[int, Any]:
        """Wait for every send and its hand-over; put the held-back rows back to due."""
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            for future in self._futures:
                future.result()
        finally:
            self._handover.close()
        outcomes = dict(self._handover.outcomes)
        if self._deferred:
            with transaction(self._ctx.engine) as session:
                outcomes.update(self._outbox.defer(session, self._ctx, self._deferred))
        return outcomes

    def _one(self, item: R) -> None:
        ctx = self._ctx
        key = channel_key(ctx, item.message)
        wait_until = self.gate.admit(key)
        if wait_until is not None:
            self._deferred.append((item, wait_until))
            return
        # The send continues the trace of the ingest that queued the row (voice.tracing).
        attributes: dict[str, int | str] = {
            "voice.row_id": item.row_id,
            "voice.channel": key.split(":", 1)[0],
        }
        event_id = getattr(item, "event_id", None)
        if event_id is not None:
            attributes["voice.event_id"] = event_id
        self._handover.started()
        try:
            with tracing.continued(getattr(item, "traceparent", None), "outbox.send", **attributes):
                # Looked up on this module each time: the crash harness replaces it.
                result = globals()["attempt"](ctx, item.message)
            _measure(key, result)
        except BaseException:
            self._handover.abandoned()
            raise
        self._handover.submit(item, result, key)


def send_all(ctx: WorkerContext, outbox: Outbox[R], ready: Sequence[R]) -> dict[int, Any]:
    """Send rows already prepared (see ``Sending``), asking their breakers first."""
    now = ctx.now()
    with transaction(ctx.engine) as session:
        asked = permits(session, ctx, ready, now)
    sending = Sending(ctx, outbox, asked, now)
    sending.submit(ready)
    return sending.finish()


def deliver_batch(
    ctx: WorkerContext,
    outbox: Outbox[R],
    ids: list[int],
    *,
    more: Callable[[], list[int]] | None = None,
) -> dict[int, Any]:
    """Deliver claimed rows: the sends side by side, each outcome committed at once. The first
    ``PREPARE_CHUNK`` rows are read first and start sending while the rest of the batch is
    read; every later batch is read in one go.

    With ``more``, the rows it claims are delivered too, by the same send threads: it is called
    each time the rows handed in are down to one chunk waiting for a thread, so the next batch
    is claimed and prepared while this one is still sending, and the threads never wait for
    it. It returns no rows once it claims no more.

    A crash anywhere leaves the unsettled rows leased; they are sent again, under the same
    reference, once the lease runs out. Only messages in flight at the crash are repeated.
    """
    outcomes: dict[int, Any] = {}
    sending: Sending[R] | None = None
    try:
        while ids:
            now = ctx.now()
            start = 0
            while start < len(ids):
                size = PREPARE_CHUNK if sending is None else len(ids)
                chunk, start = ids[start : start + size], start + size
                with transaction(ctx.engine) as session:
                    ready, settled = outbox.prepare(session, ctx, chunk)
                    # The breakers are asked in the same transaction: one commit before the
                    # sends.
                    known = sending.gate.asked() if sending is not None else set()
                    asked = permits(session, ctx, ready, now, known=known)
                outcomes.update(settled)
                if not ready:
                    continue
                if sending is None:
                    sending = Sending(ctx, outbox, asked, now)
                else:
                    sending.gate.add(asked)
                sending.submit(ready)
            if more is None:
                break
            if sending is not None:
                sending.wait_for_room(PREPARE_CHUNK)
            ids = more()
    finally:
        if sending is not None:
            outcomes.update(sending.finish())
    return outcomes


def _claim(ctx: WorkerContext, outbox: Outbox[R]) -> list[int]:
    with transaction(ctx.engine) as session:
        return outbox.claim(
            session=session,
            worker_id=ctx.worker_id,
            now=ctx.now(),
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )


def run_once(ctx: WorkerContext, outbox: Outbox[R]) -> int:
    """Claim a batch of ``outbox``'s due rows and deliver it; return how many were claimed.

    While a full batch sends, the next is claimed (``deliver_batch``'s ``more``), for up to
    ``ROUND_SECONDS``: a fan-out to thousands goes out without the send threads idling at each
    batch's end. At most one batch and a chunk wait for a thread when a claim is made, so each
    row claimed ahead is sent well inside its lease.
    """
    ids = _claim(ctx, outbox)
    if not ids:
        return 0
    claimed = len(ids)
    last = len(ids)
    until = time.monotonic() + min(ROUND_SECONDS, ctx.settings.worker_lease_seconds / 4)

    def more() -> list[int]:
        nonlocal claimed, last
        # A batch that came back short means nothing more was due when it was claimed.
        if last < ctx.settings.worker_batch_size or time.monotonic() >= until:
            return []
        ids = _claim(ctx, outbox)
        claimed += len(ids)
        last = len(ids)
        return ids

    deliver_batch(ctx, outbox, ids, more=more)
    return claimed
