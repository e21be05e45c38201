"""Running the outbox worker: as its own process (``voice worker``) or inside ``voice serve``."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from voice.audit import checkpoints
from voice.config import Settings
from voice.database import read_only, transaction, writes_first
from voice.disclosure.policy import Policy
from voice.ingest import freshness
from voice.inquiries import delivery as inquiry_answers
from voice.inquiries import tasks as inquiry_tasks
from voice.inquiries.models import InquiryAnswer
from voice.liaison import contact_tasks
from voice.messages import delivery as staff_messages
from voice.messages.gate import SENDABLE
from voice.messages.models import StaffMessage
from voice.notify import escalation as periodic
from voice.notify import leases, outbox
from voice.notify.adapters import build_email_sender, build_sms_sender
from voice.notify.models import Notification, NotificationStatus
from voice.notify.tasks import NOTIFICATIONS, WorkerContext
from voice.webhooks import tasks as webhook_tasks
from voice.webhooks.models import READY as WEBHOOK_READY
from voice.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)

# Every kind of outbox row the worker delivers, through the one delivery loop.
OUTBOXES: tuple[outbox.Outbox[Any], ...] = (
    NOTIFICATIONS,
    staff_messages.STAFF_MESSAGES,
    inquiry_answers.ANSWERS,
)
# The tables the outboxes above and the partner webhooks claim from, in that order, and the
# statuses their claims take (``voice.notify.leases``).
DUE_TABLES: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Notification, (NotificationStatus.CREATED,)),
    (StaffMessage, SENDABLE),
    (InquiryAnswer, SENDABLE),
    (WebhookDelivery, WEBHOOK_READY),
)


def make_context(*, engine: Engine, settings: Settings, policy: Policy) -> WorkerContext:
    worker_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return WorkerContext(
        engine=writes_first(engine),
        settings=settings,
        policy=policy,
        email=build_email_sender(settings),
        sms=build_sms_sender(settings),
        worker_id=worker_id,
    )


def run_periodic_jobs(ctx: WorkerContext) -> None:
    with transaction(ctx.engine) as session:
        result = periodic.run_periodic(session=session, settings=ctx.settings, now=ctx.now())
        freshness.check(session=session, settings=ctx.settings, now=ctx.now())
    if result.timed_out or result.escalated or result.undelivered or result.closed:
        log.info(
            "periodic: %d timed out, %d escalated, %d undelivered raised, %d tasks closed",
            result.timed_out,
            result.escalated,
            result.undelivered,
            result.closed,
        )
    with transaction(ctx.engine) as session:
        # Contact points still unproven after their grace period become liaison tasks.
        contact_tasks.reconcile_all(session=session, settings=ctx.settings, now=ctx.now())
    # Anchor the accounting outside the database; it only reads, so a reader's transaction.
    with Session(read_only(ctx.engine)) as session:
        try:
            written = checkpoints.write_checkpoint(session=session, settings=ctx.settings)
        except OSError:
            log.exception("could not write an accounting checkpoint")
        else:
            if written is not None:
                log.info("accounting checkpoint written: %s", written.name)
    with transaction(ctx.engine) as session:
        inquiry_tasks.check_service_levels(session=session, settings=ctx.settings)


class PartnerWebhooks:
    """Partner webhook deliveries, which are sent asynchronously: this worker's own event loop
    and HTTP client, kept across rounds so connections to partners are reused."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient()

    def run_once(self) -> int:
        stats = self._loop.run_until_complete(
            webhook_tasks.deliver_due(
                engine=self._ctx.engine,
                client=self._client,
                settings=self._ctx.settings,
                worker_id=self._ctx.worker_id,
            )
        )
        return stats.claimed

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


def due_now(ctx: WorkerContext) -> list[bool]:
    """Which of ``DUE_TABLES`` have a row to claim: one read, so that only those are claimed.

    A claim is a write transaction; on SQLite even an empty one waited for the database's
    lock behind the API's writers, once per outbox and round."""
    with Session(read_only(ctx.engine)) as session:
        return leases.any_due(session=session, tables=DUE_TABLES, now=ctx.now())


def deliver_due(ctx: WorkerContext, webhooks: PartnerWebhooks) -> int:
    """One round over every outbox with something due; returns how many rows were claimed."""
    *outboxes_due, webhooks_due = due_now(ctx)
    claimed = sum(
        outbox.run_once(ctx, kind) for kind, due in zip(OUTBOXES, outboxes_due, strict=True) if due
    )
    if webhooks_due:
        claimed += webhooks.run_once()
    return claimed


def run_worker(ctx: WorkerContext, *, stop: threading.Event, once: bool = False) -> int:
    """Deliver until stopped; with ``once``, until nothing is due. Returns how many were claimed.

    Every ``periodic_interval_seconds`` (and once at the start) the loop also runs the periodic
    jobs: timing out missing receipts and escalating unacknowledged critical notices.
    """
    total = 0
    next_periodic = 0.0
    webhooks = PartnerWebhooks(ctx)
    log.info("worker %s started", ctx.worker_id)
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_periodic:
                    next_periodic = time.monotonic() + ctx.settings.periodic_interval_seconds
                    run_periodic_jobs(ctx)
                claimed = deliver_due(ctx, webhooks)
            except Exception as exc:
                # The database may be briefly unreachable; keep the worker alive and try again.
                log.error("worker loop error (%s); retrying", type(exc).__name__)
                claimed = 0
                if once:
                    raise
            total += claimed
            if claimed == 0:
                if once:
                    break
                stop.wait(ctx.settings.worker_poll_seconds)
    finally:
        webhooks.close()
    log.info("worker %s stopped after %d claims", ctx.worker_id, total)
    return total


class BackgroundWorker:
    """The in-process worker of the embedded default, on a daemon thread."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voice-worker", daemon=True)

    def _run(self) -> None:
        run_worker(self._ctx, stop=self._stop)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
