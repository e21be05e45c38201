"""Delivering messages that staff write to victims, once the outbound scan lets them go.

A message leaves only through the gate in ``voice.messages.gate``: clean, or held on a
finding and approved by a supervisor who is not its author. The worker claims sendable messages
with the same leased claims as notifications (ADR 0001), checks the gate and the recipient again
at send time, sends through the channel's adapter, and accounts for the release.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import MappingProxyType

import sqlalchemy as sa
from sqlmodel import Session, col

from voice.audit import service as disclosure_service
from voice.database import transaction, utcnow
from voice.disclosure.audiences import Audience
from voice.disclosure.release import DisclosedView
from voice.messages.gate import SENDABLE, MessageStatus, ready_to_send
from voice.messages.models import StaffMessage
from voice.notify import contacts, leases
from voice.notify.adapters.base import DeliveryError, OutgoingEmail, OutgoingSms
from voice.notify.models import Channel
from voice.notify.prepare import message_id_for
from voice.notify.tasks import WorkerContext, _backoff
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

log = logging.getLogger(__name__)

SUBJECTS = {"en": "A message from the VOICE office", "es": "Un mensaje de la oficina VOICE"}
# What the accounting records as released: the message itself, never its text.
RELEASED_FIELD = "staff_message.body"


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    return leases.claim_due(
        session=session,
        model=StaffMessage,
        ready=SENDABLE,
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def _finish(session: Session, ctx: WorkerContext, message_id: int, **values: object) -> bool:
    result = session.execute(
        sa.update(StaffMessage)
        .where(
            col(StaffMessage.id) == message_id,
            col(StaffMessage.claimed_by) == ctx.worker_id,
            col(StaffMessage.status) == MessageStatus.SENDING,
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _prepare(
    session: Session, ctx: WorkerContext, message: StaffMessage
) -> tuple[OutgoingEmail | OutgoingSms, Victim] | str:
    # The claim set the status to sending; the gate looks at what it was let through as.
    was = MessageStatus.APPROVED if message.reviewed_by else MessageStatus.READY
    if not ready_to_send(message.model_copy(update={"status": was})):
        return "not through the outbound scan"
    link = session.get_one(VictimCaseLink, message.link_id)
    victim = session.get_one(Victim, link.victim_id)
    channel = Channel(message.channel)
    address = victim.email if channel is Channel.EMAIL else victim.phone
    verified = victim.email_verified if channel is Channel.EMAIL else victim.phone_verified
    if link.verification_status != VerificationStatus.VERIFIED or not victim.active:
        return "recipient no longer eligible"
    if not address or not verified:
        return "no verified contact point on that channel"
    if contacts.is_suppressed(session=session, channel=channel, address=address):
        return "contact point suppressed"
    reference = f"m-{message.id:08d}"
    if channel is Channel.SMS:
        return OutgoingSms(
            to=address, sender=ctx.settings.sms_from, body=message.body, reference=reference
        ), victim
    language = victim.preferred_language if victim.preferred_language in SUBJECTS else "en"
    return OutgoingEmail(
        to=address,
        sender=ctx.settings.email_from,
        subject=SUBJECTS[language],
        text=message.body.rstrip() + f"\n\n{ctx.settings.office_contact}\n",
        message_id=message_id_for(reference, ctx.settings.email_from),
        reference=reference,
    ), victim


def deliver(ctx: WorkerContext, message_id: int) -> MessageStatus | None:
    """Send one claimed message; its new status, or None when another worker took it over."""
    with transaction(ctx.engine) as session:
        message = session.get_one(StaffMessage, message_id)
        if message.claimed_by != ctx.worker_id or message.status != MessageStatus.SENDING:
            return None
        prepared = _prepare(session, ctx, message)
        if isinstance(prepared, str):
            held = _finish(
                session, ctx, message_id, status=MessageStatus.FAILED, last_error=prepared
            )
            log.info("staff message %s not sent: %s", message_id, prepared)
            return MessageStatus.FAILED if held else None
        outgoing, victim = prepared
        was = MessageStatus.APPROVED if message.reviewed_by else MessageStatus.READY
        case_id, attempts = message.case_id, message.attempts
    try:
        if isinstance(outgoing, OutgoingEmail):
            provider_ref = ctx.email.send(message=outgoing)
        else:
            provider_ref = ctx.sms.send(message=outgoing)
    except DeliveryError as exc:
        return _failed(ctx, message_id, exc.code, exc.retryable, attempts, was)
    except Exception as exc:
        return _failed(ctx, message_id, type(exc).__name__, True, attempts, was)
    with transaction(ctx.engine) as session:
        if not _finish(
            session,
            ctx,
            message_id,
            status=MessageStatus.SENT,
            sent_at=utcnow(),
            provider_ref=provider_ref[:200],
        ):
            return None
        view = DisclosedView(
            audience=Audience.VICTIM_VERIFIED,
            released=MappingProxyType({RELEASED_FIELD: "(staff message)"}),
        )
        disclosure_service.record_disclosure(
            session=session,
            view=view,
            policy=ctx.policy,
            recipient_kind="victim",
            recipient_id=str(victim.id),
            channel=outgoing_channel(outgoing),
            case_id=case_id,
            purpose="staff_message",
        )
    log.info("staff message %s sent", message_id)
    return MessageStatus.SENT


def outgoing_channel(outgoing: OutgoingEmail | OutgoingSms) -> str:
    return Channel.EMAIL.value if isinstance(outgoing, OutgoingEmail) else Channel.SMS.value


def _failed(
    ctx: WorkerContext,
    message_id: int,
    code: str,
    retryable: bool,
    attempts: int,
    was: MessageStatus,
) -> MessageStatus | None:
    with transaction(ctx.engine) as session:
        if retryable and attempts < ctx.settings.worker_max_attempts:
            status, when = was, utcnow() + _backoff(attempts)
        else:
            status, when = MessageStatus.FAILED, utcnow()
        held = _finish(
            session, ctx, message_id, status=status, last_error=code[:500], next_attempt_at=when
        )
    log.warning("staff message %s failed (%s); now %s", message_id, code, status.value)
    return status if held else None


def run_once(ctx: WorkerContext) -> int:
    with transaction(ctx.engine) as session:
        ids = claim(
            session=session,
            worker_id=ctx.worker_id,
            now=utcnow(),
            lease_seconds=ctx.settings.worker_lease_seconds,
            limit=ctx.settings.worker_batch_size,
        )
    for message_id in ids:
        deliver(ctx, message_id)
    return len(ids)
