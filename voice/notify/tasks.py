"""The outbox worker's jobs: claim notifications, render them, send them, account for them.

A claim is a lease, committed before anything is sent. A worker that dies mid-send leaves its
rows in ``sending`` until the lease runs out; then any worker claims them again. Sends carry a
stable reference per notification, so the repeat replaces rather than duplicates the message.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from voice.cases.models import Case, CaseEvent, Subject
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure import holds
from voice.disclosure import service as disclosure_service
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView, disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import event_record
from voice.notify.adapters.base import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SmsSender,
)
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.render import render_notice
from voice.notify.service import POSSIBLY_TOLD, chosen_channels
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerContext:
    engine: Engine
    settings: Settings
    policy: Policy
    email: EmailSender
    sms: SmsSender
    worker_id: str


@dataclass(frozen=True)
class _Prepared:
    """Everything needed to send, gathered in a short read so no transaction spans the send."""

    notification_id: int
    channel: Channel
    message: OutgoingEmail | OutgoingSms
    view: DisclosedView
    recipient_id: str
    case_id: int
    event_id: int


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    """Lease up to ``limit`` due notifications to this worker and return their ids."""
    due = sa.or_(
        sa.and_(
            col(Notification.status) == NotificationStatus.CREATED,
            col(Notification.next_attempt_at) <= now,
        ),
        sa.and_(
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.claimed_until) < now,
        ),
    )
    # FOR UPDATE SKIP LOCKED on PostgreSQL lets many workers claim side by side; SQLite ignores
    # it and serialises writers instead (BEGIN IMMEDIATE), which gives the same guarantee.
    candidates = (
        sa.select(col(Notification.id))
        .where(due)
        .order_by(col(Notification.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(Notification)
        .where(col(Notification.id).in_(candidates.scalar_subquery()))
        .values(
            status=NotificationStatus.SENDING,
            claimed_by=worker_id,
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=col(Notification.attempts) + 1,
            updated_at=now,
        )
        .returning(col(Notification.id))
    )
    return sorted(session.execute(statement).scalars().all())


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


def _prepare(session: Session, ctx: WorkerContext, notification_id: int) -> _Prepared | str:
    """Build the message, or return why this notification must not be sent."""
    notification = session.get_one(Notification, notification_id)
    if (
        notification.claimed_by != ctx.worker_id
        or notification.status != NotificationStatus.SENDING
    ):
        return "lease lost"
    event = session.get_one(CaseEvent, notification.event_id)
    if event.retracted_by_id is not None:
        return "event retracted"
    if event.event_type == "correction" and not _was_possibly_told(session, event, notification):
        # The retracted notice never went out (it was cancelled), so there is nothing to correct.
        return "nothing to correct"
    link = session.get_one(VictimCaseLink, notification.link_id)
    victim = session.get_one(Victim, link.victim_id)
    channel = Channel(notification.channel)
    if (
        link.verification_status != VerificationStatus.VERIFIED
        or not victim.active
        or channel not in chosen_channels(link, victim)
    ):
        return "recipient no longer eligible"
    subject = session.get_one(Subject, event.subject_id)
    case = session.get_one(Case, event.case_id)
    # The filter runs again at send time: a hold or a protection flag set after ingest wins.
    held = holds.is_held(session=session, case_id=case.id)  # type: ignore[arg-type]
    view = disclose(
        event_record(event, subject, case, safety_hold=held),
        audience=Audience.VICTIM_VERIFIED,
        policy=ctx.policy,
    )
    if "event.event_type" not in view.released:
        return "nothing disclosable"
    notice = render_notice(
        view=view,
        channel=channel,
        language=victim.preferred_language,
        office_contact=ctx.settings.office_contact,
    )
    reference = f"n-{notification_id:08d}"
    message: OutgoingEmail | OutgoingSms
    if channel is Channel.EMAIL:
        assert victim.email is not None
        message = OutgoingEmail(
            to=victim.email,
            sender=ctx.settings.email_from,
            subject=notice.subject,
            text=notice.body,
            message_id=f"<{reference}@voice.invalid>",
            reference=reference,
        )
    else:
        assert victim.phone is not None
        message = OutgoingSms(
            to=victim.phone, sender=ctx.settings.sms_from, body=notice.body, reference=reference
        )
    return _Prepared(notification_id, channel, message, view, str(victim.id), case.id, event.id)  # type: ignore[arg-type]


def _was_possibly_told(session: Session, correction: CaseEvent, notification: Notification) -> bool:
    told = session.execute(
        sa.select(col(Notification.id))
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .where(
            col(CaseEvent.retracted_by_id) == correction.id,
            col(Notification.link_id) == notification.link_id,
            col(Notification.status).in_(POSSIBLY_TOLD),
        )
        .limit(1)
    ).first()
    return told is not None


def _backoff(attempts: int) -> timedelta:
    # Exponential with full jitter, so a provider outage does not end in a synchronised stampede.
    ceiling = min(3600.0, 5.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


def _send(ctx: WorkerContext, message: OutgoingEmail | OutgoingSms) -> str:
    if isinstance(message, OutgoingEmail):
        return ctx.email.send(message=message)
    return ctx.sms.send(message=message)


def deliver(ctx: WorkerContext, notification_id: int) -> NotificationStatus | None:
    """Send one claimed notification; return its new status (None if the lease was lost)."""
    with transaction(ctx.engine) as session:
        notification = session.get_one(Notification, notification_id)
        if notification.attempts > ctx.settings.worker_max_attempts:
            # A row that keeps killing its workers must stop somewhere.
            held = _finish(
                session,
                ctx,
                notification_id,
                status=NotificationStatus.TECHNICAL_FAILURE,
                error="attempt budget spent",
            )
            return NotificationStatus.TECHNICAL_FAILURE if held else None
        prepared = _prepare(session, ctx, notification_id)
    if isinstance(prepared, str):
        if prepared == "lease lost":
            return None
        with transaction(ctx.engine) as session:
            held = _finish(
                session, ctx, notification_id, status=NotificationStatus.CANCELLED, error=prepared
            )
        if not held:
            return None
        log.info("notification %s cancelled: %s", notification_id, prepared)
        return NotificationStatus.CANCELLED

    try:
        provider_ref = _send(ctx, prepared.message)
    except DeliveryError as exc:
        return _record_failure(ctx, notification_id, exc.code, retryable=exc.retryable)
    except Exception as exc:
        # An unexpected fault may be passing; it retries until the budget is spent.
        return _record_failure(ctx, notification_id, type(exc).__name__, retryable=True)

    with transaction(ctx.engine) as session:
        if not _finish(
            session, ctx, notification_id, status=NotificationStatus.SENT, provider_ref=provider_ref
        ):
            log.warning("notification %s: lease lost after send", notification_id)
            return None
        disclosure_service.record_disclosure(
            session=session,
            view=prepared.view,
            policy=ctx.policy,
            recipient_kind="victim",
            recipient_id=prepared.recipient_id,
            channel=prepared.channel.value,
            case_id=prepared.case_id,
            event_id=prepared.event_id,
            notification_id=notification_id,
        )
    log.info("notification %s sent", notification_id)
    return NotificationStatus.SENT


def _record_failure(
    ctx: WorkerContext, notification_id: int, code: str, *, retryable: bool
) -> NotificationStatus | None:
    """Retry later, or give up; None if another worker has taken the row over meanwhile."""
    next_attempt_at = None
    with transaction(ctx.engine) as session:
        attempts = session.get_one(Notification, notification_id).attempts
        if not retryable:
            status = NotificationStatus.PERMANENT_FAILURE
        elif attempts >= ctx.settings.worker_max_attempts:
            status = NotificationStatus.TECHNICAL_FAILURE
        else:
            status = NotificationStatus.CREATED
            next_attempt_at = utcnow() + _backoff(attempts)
        held = _finish(
            session,
            ctx,
            notification_id,
            status=status,
            error=code,
            next_attempt_at=next_attempt_at,
        )
    if not held:
        log.warning("notification %s failed (%s) after its lease was lost", notification_id, code)
        return None
    log.warning("notification %s failed (%s); now %s", notification_id, code, status.value)
    return status


def run_once(ctx: WorkerContext) -> int:
    """Claim one batch and deliver it; return how many notifications were claimed."""
    with transaction(ctx.engine) as session:
        ids = claim(
            session=session,
            worker_id=ctx.worker_id,
            now=utcnow(),
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )
    for notification_id in ids:
        deliver(ctx, notification_id)
    return len(ids)
