"""Delivering messages that staff write to victims, once the outbound scan lets them go.

A message leaves only through the gate in ``voice.messages.gate``: clean, or held on a
finding and approved by a supervisor who is not its author. The worker delivers them through
the same loop as notifications (``voice.notify.outbox``): it checks the gate and the recipient
again at send time, sends through the channel's adapter, and accounts for the release.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from voice.audit import service as disclosure_service
from voice.database import utcnow
from voice.disclosure.release import Audience, DisclosedView
from voice.messages.gate import SENDABLE, MessageStatus, ready_to_send
from voice.messages.models import StaffMessage
from voice.notify import contacts, leases, outbox, retry
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.models import Channel
from voice.notify.prepare import message_id_for
from voice.notify.tasks import WorkerContext
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


@dataclass(frozen=True)
class ReadyMessage:
    """A claimed message that passed every check, and what its settle needs."""

    row_id: int
    message: OutgoingEmail | OutgoingSms
    victim_id: int
    case_id: int
    attempts: int
    was: MessageStatus
    # The retry budget runs from here: when the message was let through (written or approved).
    since: datetime


class StaffMessageOutbox:
    """Staff messages, as the delivery loop sees them."""

    claim = staticmethod(claim)

    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[ReadyMessage], dict[int, Any]]:
        ready: list[ReadyMessage] = []
        outcomes: dict[int, Any] = {}
        for message_id in ids:
            message = session.get_one(StaffMessage, message_id)
            if message.claimed_by != ctx.worker_id or message.status != MessageStatus.SENDING:
                outcomes[message_id] = None
                continue
            prepared = _prepare(session, ctx, message)
            if isinstance(prepared, str):
                held = _finish(
                    session, ctx, message_id, status=MessageStatus.FAILED, last_error=prepared
                )
                log.info("staff message %s not sent: %s", message_id, prepared)
                outcomes[message_id] = MessageStatus.FAILED if held else None
                continue
            outgoing, victim = prepared
            assert victim.id is not None
            was = MessageStatus.APPROVED if message.reviewed_by else MessageStatus.READY
            ready.append(
                ReadyMessage(
                    message_id,
                    outgoing,
                    victim.id,
                    message.case_id,
                    message.attempts,
                    was,
                    message.reviewed_at or message.created_at,
                )
            )
        return ready, outcomes

    def settle(
        self,
        session: Session,
        ctx: WorkerContext,
        ready: list[ReadyMessage],
        results: list[outbox.SendResult],
    ) -> dict[int, Any]:
        outcomes: dict[int, Any] = {}
        for item, result in zip(ready, results, strict=True):
            if result.provider_ref is None:
                outcomes[item.row_id] = _failed(session, ctx, item, result)
            else:
                outcomes[item.row_id] = _sent(session, ctx, item, result.provider_ref)
        return outcomes

    def defer(
        self,
        session: Session,
        ctx: WorkerContext,
        deferred: list[tuple[ReadyMessage, datetime]],
    ) -> dict[int, Any]:
        outcomes: dict[int, Any] = {}
        for item, when in deferred:
            # Its breaker held it back: due again at ``when``, and the claim does not count.
            held = _finish(
                session,
                ctx,
                item.row_id,
                status=item.was,
                next_attempt_at=when,
                attempts=col(StaffMessage.attempts) - 1,
            )
            outcomes[item.row_id] = item.was if held else None
        return outcomes


STAFF_MESSAGES = StaffMessageOutbox()


def deliver(ctx: WorkerContext, message_id: int) -> MessageStatus | None:
    """Send one claimed message; its new status, or None when another worker took it over."""
    status: MessageStatus | None = outbox.deliver_batch(ctx, STAFF_MESSAGES, [message_id])[
        message_id
    ]
    return status


def _sent(
    session: Session, ctx: WorkerContext, item: ReadyMessage, provider_ref: str
) -> MessageStatus | None:
    if not _finish(
        session,
        ctx,
        item.row_id,
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
        recipient_id=str(item.victim_id),
        channel=outgoing_channel(item.message),
        case_id=item.case_id,
        purpose="staff_message",
    )
    log.info("staff message %s sent", item.row_id)
    return MessageStatus.SENT


def outgoing_channel(outgoing: OutgoingEmail | OutgoingSms) -> str:
    return Channel.EMAIL.value if isinstance(outgoing, OutgoingEmail) else Channel.SMS.value


def _failed(
    session: Session, ctx: WorkerContext, item: ReadyMessage, result: outbox.SendResult
) -> MessageStatus | None:
    when = None
    if result.retryable and item.attempts < ctx.settings.worker_max_attempts:
        when = retry.next_attempt(
            settings=ctx.settings, since=item.since, attempts=item.attempts, now=ctx.now()
        )
    status = item.was if when is not None else MessageStatus.FAILED
    when = when or utcnow()
    held = _finish(
        session,
        ctx,
        item.row_id,
        status=status,
        last_error=result.code[:500],
        next_attempt_at=when,
    )
    log.warning("staff message %s failed (%s); now %s", item.row_id, result.code, status.value)
    return status if held else None


def run_once(ctx: WorkerContext) -> int:
    return outbox.run_once(ctx, STAFF_MESSAGES)
