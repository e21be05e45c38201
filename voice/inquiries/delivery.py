"""Delivering answers by email and SMS, through the one delivery loop (voice.notify.outbox).

At send time the worker asks the gate again, finds the address afresh (a verified registrant's
proven contact point, or the address an unregistered sender wrote from), and refuses an answer
carrying case facts once its recipient is no longer a verified registrant of the case. A sent
answer moves the inquiry on and, when it carries case facts, is accounted for as a disclosure.
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
from voice.disclosure.policy import Policy
from voice.disclosure.release import Audience, DisclosedView
from voice.inquiries import service
from voice.inquiries.models import Inquiry, InquiryAnswer, InquiryChannel, InquiryStatus
from voice.messages.gate import SENDABLE, MessageStatus, ready_to_send
from voice.notify import contacts, leases, outbox, retry
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.context import WorkerContext
from voice.notify.models import Channel
from voice.notify.prepare import message_id_for
from voice.victims.models import Victim

log = logging.getLogger(__name__)

SUBJECTS = {"en": "Your question to the VOICE office", "es": "Su pregunta a la oficina VOICE"}
PURPOSE = "inquiry_answer"
# Only the ones the worker sends; web answers are published as they pass the gate.
_SENT_BY_WORKER = (InquiryChannel.EMAIL.value, InquiryChannel.SMS.value)


def claim(
    *, session: Session, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[int]:
    return leases.claim_due(
        session=session,
        model=InquiryAnswer,
        ready=SENDABLE,
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
    was = MessageStatus.APPROVED if answer.reviewed_by else MessageStatus.READY
    if not ready_to_send(answer.model_copy(update={"status": was})):
        return "not through the outbound scan"
    inquiry = session.get_one(Inquiry, answer.inquiry_id)
    if answer.fields_released and service.eligible_link(session, inquiry) is None:
        return "recipient no longer eligible"
    channel = Channel(answer.channel)
    address = _address(session, inquiry, channel)
    if not address:
        return "no contact point on that channel"
    if contacts.is_suppressed(session=session, channel=channel, address=address):
        return "contact point suppressed"
    reference = f"q-{answer.id:08d}"
    if channel is Channel.SMS:
        return OutgoingSms(
            to=address, sender=ctx.settings.sms_from, body=answer.body, reference=reference
        )
    language = answer.language if answer.language in SUBJECTS else "en"
    return OutgoingEmail(
        to=address,
        sender=ctx.settings.email_from,
        subject=SUBJECTS[language],
        text=answer.body.rstrip() + f"\n\n{ctx.settings.office_contact}\n",
        message_id=message_id_for(reference, ctx.settings.email_from),
        reference=reference,
    )


def _finish(session: Session, ctx: WorkerContext, answer_id: int, **values: object) -> bool:
    result = session.execute(
        sa.update(InquiryAnswer)
        .where(
            col(InquiryAnswer.id) == answer_id,
            col(InquiryAnswer.claimed_by) == ctx.worker_id,
            col(InquiryAnswer.status) == MessageStatus.SENDING,
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ReadyAnswer:
    row_id: int
    message: OutgoingEmail | OutgoingSms
    attempts: int
    was: MessageStatus
    # The retry budget runs from here: when the answer was let through (written or approved).
    since: datetime


class AnswerOutbox:
    """Answers to inquiries, as the delivery loop sees them."""

    claim = staticmethod(claim)

    def defer(
        self, session: Session, ctx: WorkerContext, deferred: list[tuple[ReadyAnswer, datetime]]
    ) -> dict[int, Any]:
        return _defer(session, ctx, deferred)

    def prepare(
        self, session: Session, ctx: WorkerContext, ids: list[int]
    ) -> tuple[list[ReadyAnswer], dict[int, Any]]:
        ready: list[ReadyAnswer] = []
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
                held = _finish(
                    session, ctx, answer_id, status=MessageStatus.FAILED, last_error=prepared
                )
                log.info("answer %s not sent: %s", answer_id, prepared)
                outcomes[answer_id] = MessageStatus.FAILED if held else None
                continue
            was = MessageStatus.APPROVED if answer.reviewed_by else MessageStatus.READY
            since = answer.reviewed_at or answer.created_at
            ready.append(ReadyAnswer(answer_id, prepared, answer.attempts, was, since))
        return ready, outcomes

    def settle(
        self,
        session: Session,
        ctx: WorkerContext,
        ready: list[ReadyAnswer],
        results: list[outbox.SendResult],
    ) -> dict[int, Any]:
        outcomes: dict[int, Any] = {}
        for item, result in zip(ready, results, strict=True):
            if result.provider_ref is None:
                outcomes[item.row_id] = _failed(session, ctx, item, result)
                continue
            now = utcnow()
            if not _finish(
                session,
                ctx,
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


def _failed(
    session: Session, ctx: WorkerContext, item: ReadyAnswer, result: outbox.SendResult
) -> MessageStatus | None:
    when = None
    if result.retryable and item.attempts < ctx.settings.worker_max_attempts:
        when = retry.next_attempt(
            settings=ctx.settings, since=item.since, attempts=item.attempts, now=ctx.now()
        )
    status = item.was if when is not None else MessageStatus.FAILED
    when = when or utcnow()
    held = _finish(
        session, ctx, item.row_id, status=status, last_error=result.code[:500], next_attempt_at=when
    )
    log.warning("answer %s failed (%s); now %s", item.row_id, result.code, status.value)
    return status if held else None


def _defer(
    session: Session, ctx: WorkerContext, deferred: list[tuple[ReadyAnswer, datetime]]
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
            attempts=col(InquiryAnswer.attempts) - 1,
        )
        outcomes[item.row_id] = item.was if held else None
    return outcomes


ANSWERS = AnswerOutbox()


def run_once(ctx: WorkerContext) -> int:
    return outbox.run_once(ctx, ANSWERS)
