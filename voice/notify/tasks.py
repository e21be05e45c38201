"""The outbox worker's jobs: claim notifications, render them, send them, account for them.

A claim is a lease, committed before anything is sent. A worker that dies mid-send leaves its
rows in ``sending`` until the lease runs out; then any worker claims them again. Sends carry a
stable reference per notification, so the repeat replaces rather than duplicates the message.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from voice.cases.models import Case, CaseEvent, Subject
from voice.config import Settings
from voice.database import transaction, utcnow
from voice.disclosure import service as disclosure_service
from voice.disclosure.audiences import Audience
from voice.disclosure.filter import DisclosedView, disclose
from voice.disclosure.policy import Policy
from voice.disclosure.records import event_record
from voice.notify import ack, alerts, contacts, receipts
from voice.notify.adapters.base import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SmsSender,
    awaits_receipts,
)
from voice.notify.models import Channel, Notification, NotificationStatus
from voice.notify.render import NoticeTooLong, is_critical, render_notice
from voice.notify.service import POSSIBLY_TOLD, chosen_channels
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

log = logging.getLogger(__name__)

RENDER_FAILED = "render failed: over the SMS segment cap"


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
    retracted: DisclosedView | None = None
    retracted_event_id: int | None = None


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
    retracted: tuple[int, DisclosedView] | None = None
    if event.event_type == "correction":
        if not _was_possibly_told(session, event, notification):
            # The retracted notice never went out (it was cancelled): nothing to correct.
            return "nothing to correct"
        retracted = _retracted_view(session, ctx, event)
    link = session.get_one(VictimCaseLink, notification.link_id)
    victim = session.get_one(Victim, link.victim_id)
    channel = Channel(notification.channel)
    if (
        link.verification_status != VerificationStatus.VERIFIED
        or not victim.active
        or channel not in chosen_channels(link, victim)
    ):
        return "recipient no longer eligible"
    address = victim.email if channel is Channel.EMAIL else victim.phone
    assert address is not None
    if contacts.is_suppressed(session=session, channel=channel, address=address):
        # Opted out (STOP) or known not to exist (hard bounce): never write to it.
        return "contact point suppressed"
    subject = session.get_one(Subject, event.subject_id)
    case = session.get_one(Case, event.case_id)
    # The filter runs again at send time: a hold or a protection flag set after ingest wins.
    view = disclose(
        event_record(event, subject, case), audience=Audience.VICTIM_VERIFIED, policy=ctx.policy
    )
    if "event.event_type" not in view.released:
        return "nothing disclosable"
    assert event.id is not None
    assert link.id is not None
    assert case.id is not None
    ack_link = ""
    if channel is Channel.EMAIL and is_critical(event.event_type):
        ack_link = ack.ack_url(settings=ctx.settings, event_id=event.id, link_id=link.id)
    try:
        notice = render_notice(
            view=view,
            channel=channel,
            language=victim.preferred_language,
            office_contact=ctx.settings.office_contact,
            ack_url=ack_link,
            retracted=retracted[1] if retracted else None,
        )
    except NoticeTooLong:
        return RENDER_FAILED
    reference = f"n-{notification_id:08d}"
    message: OutgoingEmail | OutgoingSms
    if channel is Channel.EMAIL:
        message = OutgoingEmail(
            to=address,
            sender=ctx.settings.email_from,
            subject=notice.subject,
            text=notice.body,
            html=notice.html,
            message_id=message_id_for(reference, ctx.settings.email_from),
            reference=reference,
        )
    else:
        message = OutgoingSms(
            to=address, sender=ctx.settings.sms_from, body=notice.body, reference=reference
        )
    return _Prepared(
        notification_id=notification_id,
        channel=channel,
        message=message,
        view=view,
        recipient_id=str(victim.id),
        case_id=case.id,
        event_id=event.id,
        retracted=retracted[1] if retracted else None,
        retracted_event_id=retracted[0] if retracted else None,
    )


def message_id_for(reference: str, sender: str) -> str:
    """The Message-ID we keep: derived from the reference, so a resend repeats it exactly."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "voice.invalid"
    return f"<{reference}.voice@{domain}>"


def _retracted_view(
    session: Session, ctx: WorkerContext, correction: CaseEvent
) -> tuple[int, DisclosedView] | None:
    """The retracted event's type alone, and only while the filter still releases it."""
    retracted = session.exec(
        select(CaseEvent).where(CaseEvent.retracted_by_id == correction.id)
    ).first()
    if retracted is None or retracted.id is None:
        return None
    subject = session.get_one(Subject, retracted.subject_id)
    case = session.get_one(Case, retracted.case_id)
    full = disclose(
        event_record(retracted, subject, case), audience=Audience.VICTIM_VERIFIED, policy=ctx.policy
    )
    if "event.event_type" not in full.released:
        return None
    released = {"event.event_type": full.released["event.event_type"]}
    return retracted.id, DisclosedView(
        audience=Audience.VICTIM_VERIFIED, released=MappingProxyType(released)
    )


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


@dataclass(frozen=True)
class _Outcome:
    provider_ref: str | None = None
    code: str = ""
    retryable: bool = False


def _attempt(ctx: WorkerContext, prepared: _Prepared) -> _Outcome:
    try:
        return _Outcome(provider_ref=_send(ctx, prepared.message))
    except DeliveryError as exc:
        return _Outcome(code=exc.code, retryable=exc.retryable)
    except Exception as exc:
        # An unexpected fault may be passing; it retries until the budget is spent.
        return _Outcome(code=type(exc).__name__, retryable=True)


def _send_all(ctx: WorkerContext, ready: list[_Prepared]) -> list[_Outcome]:
    workers = min(max(1, ctx.settings.worker_send_concurrency), len(ready))
    if workers == 1:
        return [_attempt(ctx, prepared) for prepared in ready]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voice-send") as pool:
        return list(pool.map(lambda prepared: _attempt(ctx, prepared), ready))


def deliver(ctx: WorkerContext, notification_id: int) -> NotificationStatus | None:
    """Send one claimed notification; return its new status (None if the lease was lost)."""
    return deliver_batch(ctx, [notification_id])[notification_id]


def deliver_batch(
    ctx: WorkerContext, notification_ids: list[int]
) -> dict[int, NotificationStatus | None]:
    """Send claimed notifications: one read, the sends side by side, one write.

    No transaction is open while the sends run (on up to ``worker_send_concurrency`` threads).
    The finish moves each row on only if this worker still holds its lease, and writes the
    accounting of disclosures in the same commit. A crash anywhere leaves the rows leased, and
    they are sent again, under the same reference, once the lease runs out.
    """
    outcomes: dict[int, NotificationStatus | None] = {}
    ready: list[_Prepared] = []
    with transaction(ctx.engine) as session:
        for notification_id in notification_ids:
            notification = session.get_one(Notification, notification_id)
            if notification.attempts > ctx.settings.worker_max_attempts:
                # A row that keeps killing its workers must stop somewhere.
                outcomes[notification_id] = _fail(
                    session, ctx, notification_id, "attempt budget spent"
                )
                continue
            prepared = _prepare(session, ctx, notification_id)
            if isinstance(prepared, _Prepared):
                ready.append(prepared)
            elif prepared == "lease lost":
                outcomes[notification_id] = None
            elif prepared == RENDER_FAILED:
                outcomes[notification_id] = _fail(session, ctx, notification_id, prepared)
            else:
                outcomes[notification_id] = _cancel(session, ctx, notification_id, prepared)
    if not ready:
        return outcomes
    results = _send_all(ctx, ready)
    with transaction(ctx.engine) as session:
        for prepared, outcome in zip(ready, results, strict=True):
            outcomes[prepared.notification_id] = _settle(session, ctx, prepared, outcome)
    return outcomes


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


def _settle(
    session: Session, ctx: WorkerContext, prepared: _Prepared, outcome: _Outcome
) -> NotificationStatus | None:
    notification_id = prepared.notification_id
    if outcome.provider_ref is None:
        return _record_failure(
            session, ctx, notification_id, outcome.code, retryable=outcome.retryable
        )
    sender = ctx.email if prepared.channel is Channel.EMAIL else ctx.sms
    # A provider with receipts has only accepted the message: it stays ``sending`` (with no
    # lease) until the receipt says how it ended. Without receipts, accepted is as far as we see.
    status = NotificationStatus.SENDING if awaits_receipts(sender) else NotificationStatus.SENT
    if not _finish(session, ctx, notification_id, status=status, provider_ref=outcome.provider_ref):
        log.warning("notification %s: lease lost after send", notification_id)
        return None
    _account(session, ctx, prepared)
    if status is NotificationStatus.SENDING:
        # A receipt may have beaten this commit; it was kept, and applies now.
        status = receipts.apply_pending(session=session, notification_id=notification_id) or status
    log.info("notification %s %s", notification_id, status.value)
    return status


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
        next_attempt_at = utcnow() + _backoff(attempts)
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
    with transaction(ctx.engine) as session:
        ids = claim(
            session=session,
            worker_id=ctx.worker_id,
            now=utcnow(),
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )
    if ids:
        deliver_batch(ctx, ids)
    return len(ids)
