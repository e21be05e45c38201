"""The outbox worker's jobs: claim notifications, render them, send them, account for them.

A claim is a lease, committed before anything is sent. A worker that dies mid-send leaves its
rows in ``sending`` until the lease runs out; then any worker claims them again. Sends carry a
stable reference per notification, so the repeat replaces rather than duplicates the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from voice.audit import service as disclosure_service
from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.notify import alerts, contacts, leases, outbox
from voice.notify.adapters.base import (
    EmailSender,
    SmsSender,
    awaits_receipts,
)
from voice.notify.callbacks import receipts
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.prepare import RENDER_FAILED, message_id_for
from voice.notify.prepare import Prepared as _Prepared
from voice.notify.prepare import prepare as _prepare
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)

# ``_prepare`` stays reachable here: tests and the crash harness replace it on this module.
__all__ = [
    "RENDER_FAILED",
    "WorkerContext",
    "_Prepared",
    "_prepare",
    "claim",
    "deliver",
    "deliver_batch",
    "message_id_for",
    "run_once",
]


@dataclass(frozen=True)
class WorkerContext:
    engine: Engine
    settings: Settings
    policy: Policy
    email: EmailSender
    sms: SmsSender
    worker_id: str


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    """Lease up to ``limit`` due notifications to this worker and return their ids."""
    return leases.claim_due(
        session=session,
        model=Notification,
        ready=[NotificationStatus.CREATED],
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
        also_set={"updated_at": now},
    )


def _finish(
    session: Session,
    ctx: WorkerContext,
    notification_id: int,
    *,
    status: NotificationStatus,
    provider_ref: str | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Move a claimed row on, only if this worker still holds its lease."""
    now = utcnow()
    values: dict[str, object] = {
        "status": status,
        "claimed_by": None,
        "claimed_until": None,
        "updated_at": now,
    }
    if provider_ref is not None:
        values["provider_ref"] = provider_ref
        values["sent_at"] = now
    if error is not None:
        values["last_error"] = error[:500]
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.claimed_by) == ctx.worker_id,
            col(Notification.status) == NotificationStatus.SENDING,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def deliver(ctx: WorkerContext, notification_id: int) -> NotificationStatus | None:
    """Send one claimed notification; return its new status (None if the lease was lost)."""
    return deliver_batch(ctx, [notification_id])[notification_id]


def deliver_batch(
    ctx: WorkerContext, notification_ids: list[int]
) -> dict[int, NotificationStatus | None]:
    """Send claimed notifications through the one delivery loop (``voice.notify.outbox``).

    The settle writes the accounting of disclosures in the same commit as the sent state.
    """
    return outbox.deliver_batch(ctx, NOTIFICATIONS, notification_ids)


class NotificationOutbox:
    """Notifications, as the delivery loop sees them."""

    def claim(self, session: Session, ctx: WorkerContext, now: datetime) -> list[int]:
        return claim(
            session=session,
            worker_id=ctx.worker_id,
            now=now,
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )

    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[_Prepared], dict[int, Any]]:
        outcomes: dict[int, Any] = {}
        ready: list[_Prepared] = []
        _preload(session, ids)
        for notification_id in ids:
            notification = session.get_one(Notification, notification_id)
            if notification.attempts > ctx.settings.worker_max_attempts:
                # A row that keeps killing its workers must stop somewhere.
                outcomes[notification_id] = _fail(
                    session, ctx, notification_id, "attempt budget spent"
                )
                continue
            # Looked up on this module each time: tests and the crash harness replace it.
            prepared = globals()["_prepare"](session, ctx, notification_id)
            if isinstance(prepared, _Prepared):
                ready.append(prepared)
            elif prepared == "lease lost":
                outcomes[notification_id] = None
            elif prepared == RENDER_FAILED:
                outcomes[notification_id] = _fail(session, ctx, notification_id, prepared)
            else:
                outcomes[notification_id] = _cancel(session, ctx, notification_id, prepared)
        return ready, outcomes

    def settle(
        self,
        session: Session,
        ctx: WorkerContext,
        ready: list[_Prepared],
        results: list[outbox.SendResult],
    ) -> dict[int, Any]:
        return dict(_settle_all(session, ctx, ready, results))


NOTIFICATIONS = NotificationOutbox()


def _preload(session: Session, notification_ids: list[int]) -> None:
    """Load a batch's rows in three queries, so the per-row reads hit the identity map."""
    rows = session.exec(select(Notification).where(col(Notification.id).in_(notification_ids)))
    link_ids = {row.link_id for row in rows.all()}
    links = session.exec(select(VictimCaseLink).where(col(VictimCaseLink.id).in_(link_ids))).all()
    victim_ids = {link.victim_id for link in links}
    victims = session.exec(select(Victim).where(col(Victim.id).in_(victim_ids))).all()
    contacts.preload(
        session=session,
        emails={v.email for v in victims if v.email},
        phones={v.phone for v in victims if v.phone},
    )


def _cancel(
    session: Session, ctx: WorkerContext, notification_id: int, reason: str
) -> NotificationStatus | None:
    if not _finish(
        session, ctx, notification_id, status=NotificationStatus.CANCELLED, error=reason
    ):
        return None
    log.info("notification %s cancelled: %s", notification_id, reason)
    return NotificationStatus.CANCELLED


def _fail(
    session: Session, ctx: WorkerContext, notification_id: int, reason: str
) -> NotificationStatus | None:
    status = NotificationStatus.TECHNICAL_FAILURE
    if not _finish(session, ctx, notification_id, status=status, error=reason):
        return None
    alerts.delivery_failed(session=session, notification_id=notification_id, status=status)
    return status


def _settle_all(
    session: Session, ctx: WorkerContext, ready: list[_Prepared], results: list[outbox.SendResult]
) -> dict[int, NotificationStatus | None]:
    """Record a batch's sends: failures row by row, successes in one statement."""
    ids = [prepared.notification_id for prepared in ready]
    # Locks the rows on PostgreSQL, so that a receipt callback for one of them waits for this
    # commit; SQLite's BEGIN IMMEDIATE already serialises the two.
    held = set(
        session.execute(
            sa.select(col(Notification.id))
            .where(
                col(Notification.id).in_(ids),
                col(Notification.claimed_by) == ctx.worker_id,
                col(Notification.status) == NotificationStatus.SENDING,
            )
            .with_for_update()
        ).scalars()
    )
    outcomes: dict[int, NotificationStatus | None] = {}
    finished: list[dict[str, object]] = []
    for prepared, outcome in zip(ready, results, strict=True):
        notification_id = prepared.notification_id
        if outcome.provider_ref is None:
            outcomes[notification_id] = _record_failure(
                session, ctx, notification_id, outcome.code, retryable=outcome.retryable
            )
            continue
        if notification_id not in held:
            log.warning("notification %s: lease lost after send", notification_id)
            outcomes[notification_id] = None
            continue
        sender = ctx.email if prepared.channel is Channel.EMAIL else ctx.sms
        # A provider with receipts has only accepted the message: it stays ``sending`` (with no
        # lease) until the receipt says how it ended. Without receipts, accepted is final.
        status = NotificationStatus.SENDING if awaits_receipts(sender) else NotificationStatus.SENT
        finished.append(
            {"b_id": notification_id, "b_status": status, "b_ref": outcome.provider_ref}
        )
        outcomes[notification_id] = status
        _account(session, ctx, prepared)
    if finished:
        now = utcnow()
        table = Notification.__table__  # type: ignore[attr-defined]
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(
                status=sa.bindparam("b_status"),
                provider_ref=sa.bindparam("b_ref"),
                sent_at=now,
                updated_at=now,
                claimed_by=None,
                claimed_until=None,
            ),
            finished,
        )
        log.info("%d notifications handed to their providers", len(finished))
    waiting = [nid for nid, status in outcomes.items() if status is NotificationStatus.SENDING]
    for notification_id in receipts.kept_for(session=session, notification_ids=waiting):
        # A receipt beat this commit; it was kept, and applies now.
        applied = receipts.apply_pending(session=session, notification_id=notification_id)
        outcomes[notification_id] = applied or outcomes[notification_id]
    return outcomes


def _account(session: Session, ctx: WorkerContext, prepared: _Prepared) -> None:
    common = {
        "session": session,
        "policy": ctx.policy,
        "recipient_kind": "victim",
        "recipient_id": prepared.recipient_id,
        "channel": prepared.channel.value,
        "case_id": prepared.case_id,
        "notification_id": prepared.notification_id,
    }
    disclosure_service.record_disclosure(view=prepared.view, event_id=prepared.event_id, **common)  # type: ignore[arg-type]
    if prepared.retracted is not None and prepared.retracted.released:
        # A correction names the notice it corrects: that, too, is a release, of that event.
        disclosure_service.record_disclosure(
            view=prepared.retracted,
            event_id=prepared.retracted_event_id,
            **common,  # type: ignore[arg-type]
        )


def _record_failure(
    session: Session, ctx: WorkerContext, notification_id: int, code: str, *, retryable: bool
) -> NotificationStatus | None:
    """Retry later, or give up; None if another worker has taken the row over meanwhile."""
    next_attempt_at = None
    attempts = session.get_one(Notification, notification_id).attempts
    if not retryable:
        status = NotificationStatus.PERMANENT_FAILURE
    elif attempts >= ctx.settings.worker_max_attempts:
        status = NotificationStatus.TECHNICAL_FAILURE
    else:
        status = NotificationStatus.CREATED
        next_attempt_at = utcnow() + outbox.backoff(attempts)
    held = _finish(
        session, ctx, notification_id, status=status, error=code, next_attempt_at=next_attempt_at
    )
    if not held:
        log.warning("notification %s failed (%s) after its lease was lost", notification_id, code)
        return None
    log.warning("notification %s failed (%s); now %s", notification_id, code, status.value)
    if status is not NotificationStatus.CREATED:
        alerts.delivery_failed(
            session=session, notification_id=notification_id, status=status, code=code
        )
    if status is NotificationStatus.PERMANENT_FAILURE:
        provider_code = code.rsplit(".", 1)[-1]
        if code.startswith("twilio.") and provider_code in receipts.INVALID_NUMBER_CODES:
            receipts.mark_invalid_number(session, notification_id, provider_code)
    return status


def run_once(ctx: WorkerContext) -> int:
    """Claim one batch and deliver it; return how many notifications were claimed."""
    return outbox.run_once(ctx, NOTIFICATIONS)
