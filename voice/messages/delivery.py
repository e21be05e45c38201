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

from sqlmodel import Session

from voice.audit import service as disclosure_service
from voice.database import utcnow
from voice.disclosure.release import Audience, DisclosedView
from voice.messages import gated_delivery as gated
from voice.messages.gate import MessageStatus
from voice.messages.models import StaffMessage
from voice.notify import outbox
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.models import Channel
from voice.notify.tasks import WorkerContext
from voice.victims.models import VerificationStatus, Victim, VictimCaseLink

log = logging.getLogger(__name__)

SUBJECTS = {"en": "A message from the VOICE office", "es": "Un mensaje de la oficina VOICE"}
# What the accounting records as released: the message itself, never its text.
RELEASED_FIELD = "staff_message.body"
LABEL = "staff message"


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    return gated.claim(
        StaffMessage,
        session=session,
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def _prepare(
    session: Session, ctx: WorkerContext, message: StaffMessage
) -> tuple[OutgoingEmail | OutgoingSms, Victim] | str:
    if not gated.passes_gate(message):
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
    outgoing = gated.outgoing(
        session,
        ctx,
        channel=channel,
        to=address,
        body=message.body,
        reference=f"m-{message.id:08d}",
        subject=gated.subject_for(SUBJECTS, victim.preferred_language),
    )
    return outgoing if isinstance(outgoing, str) else (outgoing, victim)


@dataclass(frozen=True, kw_only=True)
class ReadyMessage(gated.ReadyText):
    """A claimed staff message that passed every check, and whom its accounting names."""

    victim_id: int
    case_id: int


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
                outcomes[message_id] = gated.refuse(
                    session, ctx, StaffMessage, message_id, prepared, log=log, label=LABEL
                )
                continue
            message_out, victim = prepared
            assert victim.id is not None
            ready.append(
                ReadyMessage(
                    row_id=message_id,
                    message=message_out,
                    attempts=message.attempts,
                    was=gated.let_through_as(message.reviewed_by),
                    since=message.reviewed_at or message.created_at,
                    victim_id=victim.id,
                    case_id=message.case_id,
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
                outcomes[item.row_id] = gated.failed(
                    session, ctx, StaffMessage, item, result, log=log, label=LABEL
                )
            else:
                outcomes[item.row_id] = _sent(session, ctx, item, result.provider_ref)
        return outcomes

    def defer(
        self,
        session: Session,
        ctx: WorkerContext,
        deferred: list[tuple[ReadyMessage, datetime]],
    ) -> dict[int, Any]:
        return gated.defer(session, ctx, StaffMessage, list(deferred))


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
    if not gated.finish(
        session,
        ctx,
        StaffMessage,
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


def run_once(ctx: WorkerContext) -> int:
    return outbox.run_once(ctx, STAFF_MESSAGES)
