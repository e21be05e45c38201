"""Delivering answers by email and SMS, through the one delivery loop (voice.notify.outbox).

At send time the worker asks the gate again, finds the address afresh (a verified registrant's
proven contact point, or the address an unregistered sender wrote from), and refuses an answer
carrying case facts once its recipient is no longer a verified registrant of the case. A sent
answer moves the inquiry on and, when it carries case facts, is accounted for as a disclosure.
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlmodel import Session

from voice.audit import service as disclosure_service
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, DisclosedView
from voice.inquiries import service
from voice.inquiries.models import Inquiry, InquiryAnswer, InquiryChannel, InquiryStatus
from voice.messages import gated_delivery as gated
from voice.messages.gate import MessageStatus
from voice.notify import outbox
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.context import WorkerContext
from voice.notify.models import Channel
from voice.victims.models import Victim

log = logging.getLogger(__name__)

SUBJECTS = {"en": "Your question to the VOICE office", "es": "Su pregunta a la oficina VOICE"}
PURPOSE = "inquiry_answer"
LABEL = "answer"
# Only the ones the worker sends; web answers are published as they pass the gate.
_SENT_BY_WORKER = (InquiryChannel.EMAIL.value, InquiryChannel.SMS.value)


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    return gated.claim(
        InquiryAnswer,
        session=session,
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def delivered(
    *, session: Session, policy: Policy, answer: InquiryAnswer, channel: str, now: datetime
) -> None:
    """The answer reached the asker: the inquiry is answered (or awaits them), and case facts
    in it are accounted for."""
    inquiry = session.get_one(Inquiry, answer.inquiry_id)
    if inquiry.first_responded_at is None:
        inquiry.first_responded_at = now
    if inquiry.status in (InquiryStatus.ASSIGNED, InquiryStatus.AWAITING_VICTIM):
        to = InquiryStatus.AWAITING_VICTIM if answer.awaits_victim else InquiryStatus.ANSWERED
        if to != inquiry.status:
            service.move(inquiry, to, now=now)
        if to is InquiryStatus.ANSWERED and inquiry.resolved_at is None:
            inquiry.resolved_at = now
    inquiry.updated_at = now
    session.add(inquiry)
    if answer.fields_released and inquiry.victim_id is not None and answer.case_id is not None:
        view = DisclosedView(
            audience=Audience.VICTIM_VERIFIED,
            released=MappingProxyType(dict.fromkeys(answer.fields_released, "(inquiry answer)")),
        )
        disclosure_service.record_disclosure(
            session=session,
            view=view,
            policy=policy,
            recipient_kind="victim",
            recipient_id=str(inquiry.victim_id),
            channel=channel,
            case_id=answer.case_id,
            purpose=PURPOSE,
        )
    session.flush()
    log.info("answer %s delivered (%s)", answer.id, channel)


def _address(session: Session, inquiry: Inquiry, channel: Channel) -> str | None:
    if inquiry.victim_id is not None:
        victim = session.get_one(Victim, inquiry.victim_id)
        if not victim.active:
            return None
        if channel is Channel.EMAIL:
            return victim.email if victim.email_verified else None
        return victim.phone if victim.phone_verified else None
    address = inquiry.sender_address
    if address is None or ("@" in address) != (channel is Channel.EMAIL):
        return None
    return address


def _prepare(
    session: Session, ctx: WorkerContext, answer: InquiryAnswer
) -> OutgoingEmail | OutgoingSms | str:
    if not gated.passes_gate(answer):
        return "not through the outbound scan"
    inquiry = session.get_one(Inquiry, answer.inquiry_id)
    if answer.fields_released and service.eligible_link(session, inquiry) is None:
        return "recipient no longer eligible"
    channel = Channel(answer.channel)
    address = _address(session, inquiry, channel)
    if not address:
        return "no contact point on that channel"
    return gated.outgoing(
        session,
        ctx,
        channel=channel,
        to=address,
        body=answer.body,
        reference=f"q-{answer.id:08d}",
        subject=gated.subject_for(SUBJECTS, answer.language),
    )


class AnswerOutbox:
    """Answers to inquiries, as the delivery loop sees them."""

    claim = staticmethod(claim)

    def defer(
        self, session: Session, ctx: WorkerContext, deferred: list[tuple[gated.ReadyText, datetime]]
    ) -> dict[int, Any]:
        return gated.defer(session, ctx, InquiryAnswer, deferred)

    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[gated.ReadyText], dict[int, Any]]:
        ready: list[gated.ReadyText] = []
        outcomes: dict[int, Any] = {}
        for answer_id in ids:
            answer = session.get_one(InquiryAnswer, answer_id)
            if answer.claimed_by != ctx.worker_id or answer.status != MessageStatus.SENDING:
                outcomes[answer_id] = None
                continue
            if answer.channel not in _SENT_BY_WORKER:
                prepared: OutgoingEmail | OutgoingSms | str = "not a channel the worker sends"
            else:
                prepared = _prepare(session, ctx, answer)
            if isinstance(prepared, str):
                outcomes[answer_id] = gated.refuse(
                    session, ctx, InquiryAnswer, answer_id, prepared, log=log, label=LABEL
                )
                continue
            ready.append(
                gated.ReadyText(
                    row_id=answer_id,
                    message=prepared,
                    attempts=answer.attempts,
                    was=gated.let_through_as(answer.reviewed_by),
                    since=answer.reviewed_at or answer.created_at,
                )
            )
        return ready, outcomes

    def settle(
        self,
        session: Session,
        ctx: WorkerContext,
        ready: list[gated.ReadyText],
        results: list[outbox.SendResult],
    ) -> dict[int, Any]:
        outcomes: dict[int, Any] = {}
        for item, result in zip(ready, results, strict=True):
            if result.provider_ref is None:
                outcomes[item.row_id] = gated.failed(
                    session, ctx, InquiryAnswer, item, result, log=log, label=LABEL
                )
                continue
            now = utcnow()
            if not gated.finish(
                session,
                ctx,
                InquiryAnswer,
                item.row_id,
                status=MessageStatus.SENT,
                sent_at=now,
                provider_ref=result.provider_ref[:200],
            ):
                outcomes[item.row_id] = None
                continue
            answer = session.get_one(InquiryAnswer, item.row_id)
            session.refresh(answer)
            channel = "email" if isinstance(item.message, OutgoingEmail) else "sms"
            delivered(session=session, policy=ctx.policy, answer=answer, channel=channel, now=now)
            outcomes[item.row_id] = MessageStatus.SENT
        return outcomes


ANSWERS = AnswerOutbox()


def run_once(ctx: WorkerContext) -> int:
    return outbox.run_once(ctx, ANSWERS)
