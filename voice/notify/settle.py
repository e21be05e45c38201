"""Settling a batch of notifications once their providers have answered.

Each row moves on only while this worker still holds its lease. A notice handed to its
provider is accounted for as a disclosure in the same commit as its sent state.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from voice.audit import service as disclosure_service
from voice.database import UTCDateTime, utcnow
from voice.notify import alerts, outbox, retry
from voice.notify.adapters.base import (
    awaits_receipts,
)
from voice.notify.callbacks import receipts
from voice.notify.context import WorkerContext
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.prepare import Prepared as _Prepared

log = logging.getLogger(__name__)


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


def _cancel(
    session: Session, ctx: WorkerContext, notification_id: int, reason: str
) -> NotificationStatus | None:
    if not _finish(
        session, ctx, notification_id, status=NotificationStatus.CANCELLED, error=reason
    ):
        return None
    log.info("notification %s cancelled: %s", notification_id, reason)
    return NotificationStatus.CANCELLED


def _defer(
    session: Session, ctx: WorkerContext, notification_id: int, when: datetime
) -> NotificationStatus | None:
    """Back to due at ``when``, unsent: its breaker held it back, so the claim does not count."""
    result = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.claimed_by) == ctx.worker_id,
            col(Notification.status) == NotificationStatus.SENDING,
        )
        .values(
            status=NotificationStatus.CREATED,
            claimed_by=None,
            claimed_until=None,
            attempts=col(Notification.attempts) - 1,
            next_attempt_at=when,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return NotificationStatus.CREATED if result.rowcount else None  # type: ignore[attr-defined]


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
    outcomes: dict[int, NotificationStatus | None] = {}
    accepted: dict[int, tuple[_Prepared, NotificationStatus, str]] = {}
    for prepared, outcome in zip(ready, results, strict=True):
        notification_id = prepared.notification_id
        if outcome.provider_ref is None:
            outcomes[notification_id] = _record_failure(
                session, ctx, notification_id, outcome.code, retryable=outcome.retryable
            )
            continue
        sender = ctx.email if prepared.channel is Channel.EMAIL else ctx.sms
        # A provider with receipts has only accepted the message: it stays ``sending`` (with no
        # lease) until the receipt says how it ended. Without receipts, accepted is final.
        status = NotificationStatus.SENDING if awaits_receipts(sender) else NotificationStatus.SENT
        accepted[notification_id] = (prepared, status, outcome.provider_ref)
    held = _hand_over(session, ctx, accepted)
    accounted: list[disclosure_service.Disclosures] = []
    for notification_id, (prepared, status, _) in accepted.items():
        if notification_id not in held:
            log.warning("notification %s: lease lost after send", notification_id)
            outcomes[notification_id] = None
            continue
        outcomes[notification_id] = status
        accounted.append(_disclosures(ctx, prepared))
    # Every hand-over's accounting in one insert, in the same commit as its sent state.
    disclosure_service.record_all(session=session, batch=accounted)
    if held:
        log.info("%d notifications handed to their providers", len(held))
    waiting = [nid for nid, status in outcomes.items() if status is NotificationStatus.SENDING]
    # A statement of its own, after the one that locked the rows: on PostgreSQL it sees a
    # receipt whose callback held a row's lock first and committed while the update waited.
    for notification_id in receipts.kept_for(session=session, notification_ids=waiting):
        # A receipt beat this commit; it was kept, and applies now.
        applied = receipts.apply_pending(session=session, notification_id=notification_id)
        outcomes[notification_id] = applied or outcomes[notification_id]
    return outcomes


def _hand_over(
    session: Session,
    ctx: WorkerContext,
    accepted: dict[int, tuple[_Prepared, NotificationStatus, str]],
) -> set[int]:
    """Record accepted sends as handed over, in one statement, for the rows whose lease this
    worker still holds; return their ids.

    The update locks the rows on PostgreSQL, so that a receipt callback for one of them waits
    for this commit; SQLite's BEGIN IMMEDIATE already serialises the two.
    """
    if not accepted:
        return set()
    now = utcnow()
    values: dict[str, object] = {"h_worker": ctx.worker_id, "h_now": now}
    for n, (notification_id, (_, status, ref)) in enumerate(sorted(accepted.items())):
        values[f"h_id_{n}"] = notification_id
        values[f"h_status_{n}"] = status.value
        values[f"h_ref_{n}"] = ref
    result = session.connection().execute(_handing_over(len(accepted)), values)
    return set(result.scalars())


_TABLE = Notification.__table__  # type: ignore[attr-defined]


@functools.cache
def _handing_over(rows: int) -> sa.Update:
    """``_hand_over``'s statement for so many rows, built once for each number: building it
    anew for every hand-over commit cost more than the database took to run it."""
    ids = [sa.bindparam(f"h_id_{n}", type_=sa.Integer) for n in range(rows)]
    now = sa.bindparam("h_now", type_=UTCDateTime)

    def each(name: str) -> sa.Case[str]:
        return sa.case(
            *[
                (_TABLE.c.id == ids[n], sa.bindparam(f"h_{name}_{n}", type_=sa.String))
                for n in range(rows)
            ]
        )

    return (
        sa.update(_TABLE)
        .where(
            _TABLE.c.id.in_(ids),
            _TABLE.c.claimed_by == sa.bindparam("h_worker", type_=sa.String),
            _TABLE.c.status == NotificationStatus.SENDING.value,
        )
        .values(
            status=each("status"),
            provider_ref=each("ref"),
            sent_at=now,
            updated_at=now,
            claimed_by=None,
            claimed_until=None,
        )
        .returning(_TABLE.c.id)
    )


def _disclosures(ctx: WorkerContext, prepared: _Prepared) -> disclosure_service.Disclosures:
    """What a handed-over notice released to its recipient, for the accounting."""
    releases = [
        disclosure_service.Release(
            prepared.view, prepared.case_id, prepared.event_id, prepared.notification_id
        )
    ]
    if prepared.retracted is not None and prepared.retracted.released:
        # A correction names the notice it corrects: that, too, is a release, of that event.
        releases.append(
            disclosure_service.Release(
                prepared.retracted,
                prepared.case_id,
                prepared.retracted_event_id,
                prepared.notification_id,
            )
        )
    return disclosure_service.Disclosures(
        releases=releases,
        policy=ctx.policy,
        recipient_kind="victim",
        recipient_id=prepared.recipient_id,
        channel=prepared.channel.value,
        recipient_ref=prepared.recipient_ref,
    )


def _record_failure(
    session: Session, ctx: WorkerContext, notification_id: int, code: str, *, retryable: bool
) -> NotificationStatus | None:
    """Retry later, or give up; None if another worker has taken the row over meanwhile."""
    next_attempt_at = None
    row = session.get_one(Notification, notification_id)
    if retryable and row.attempts < ctx.settings.worker_max_attempts:
        # Retried until the notice is ``worker_retry_budget_seconds`` old (voice.notify.retry).
        next_attempt_at = retry.next_attempt(
            settings=ctx.settings,
            since=row.first_attempt_at or row.created_at,
            attempts=row.attempts,
            now=ctx.now(),
        )
    if not retryable:
        status = NotificationStatus.PERMANENT_FAILURE
    elif next_attempt_at is None:
        status = NotificationStatus.TECHNICAL_FAILURE
    else:
        status = NotificationStatus.CREATED
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
