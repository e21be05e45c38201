"""What staff messages and inquiry answers share on their way out through the worker.

Both are texts a person wrote, let through by the outbound gate (``voice.messages.gate``), and
claimed with a lease like notifications. Their rows end the same way: settled only while this
worker still holds the claim, retried from when they were let through, or put back when a
breaker holds them. What differs (how the recipient is found, what a sent one records) stays
in ``voice.messages.delivery`` and ``voice.inquiries.delivery``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

import sqlalchemy as sa
from sqlmodel import Session, col

from voice.database import utcnow
from voice.messages.gate import SENDABLE, Gated, MessageStatus, ready_to_send
from voice.notify import contacts, leases, outbox, retry
from voice.notify.adapters.base import OutgoingEmail, OutgoingSms
from voice.notify.context import WorkerContext
from voice.notify.models import Channel
from voice.notify.prepare import message_id_for


class GatedRow(Protocol):
    """A table of texts sent through the gate: claimed, counted and settled like the outbox."""

    id: Any
    claimed_by: Any
    claimed_until: Any
    status: Any
    attempts: Any


@dataclass(frozen=True, kw_only=True)
class ReadyText:
    """A claimed text that passed every check, and what its settle needs."""

    row_id: int
    message: OutgoingEmail | OutgoingSms
    attempts: int
    # The status it was let through as, which a retry or a breaker's hold returns it to.
    was: MessageStatus
    # The retry budget runs from here: when the text was let through (written or approved).
    since: datetime


def claim(
    model: type[GatedRow],
    *,
    session: Session,
    worker_id: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
) -> list[int]:
    """Lease the texts of one table that the gate let through and that are due."""
    return leases.claim_due(
        session=session,
        model=model,
        ready=SENDABLE,
        worker_id=worker_id,
        now=now,
        lease_seconds=lease_seconds,
        limit=limit,
    )


def let_through_as(reviewed_by: str | None) -> MessageStatus:
    """What the gate let a claimed text through as: approved when a supervisor reviewed it."""
    return MessageStatus.APPROVED if reviewed_by else MessageStatus.READY


class _Claimed(Gated, Protocol):
    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...


def passes_gate(row: _Claimed) -> bool:
    """The gate, asked again at send time. The claim set the row's status to sending, so the
    gate is asked about what the row was let through as."""
    return ready_to_send(row.model_copy(update={"status": let_through_as(row.reviewed_by)}))


def finish(
    session: Session, ctx: WorkerContext, model: type[GatedRow], row_id: int, **values: object
) -> bool:
    """Settle one row, only while this worker still holds its claim; False when it does not."""
    result = session.execute(
        sa.update(model)
        .where(
            col(model.id) == row_id,
            col(model.claimed_by) == ctx.worker_id,
            col(model.status) == MessageStatus.SENDING,
        )
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def outgoing(
    session: Session,
    ctx: WorkerContext,
    *,
    channel: Channel,
    to: str,
    body: str,
    reference: str,
    subject: str,
) -> OutgoingEmail | OutgoingSms | str:
    """The text as its channel carries it (an email signs off with the office's contact), or
    why it may not go: the address is suppressed."""
    if contacts.is_suppressed(session=session, channel=channel, address=to):
        return "contact point suppressed"
    if channel is Channel.SMS:
        return OutgoingSms(to=to, sender=ctx.settings.sms_from, body=body, reference=reference)
    return OutgoingEmail(
        to=to,
        sender=ctx.settings.email_from,
        subject=subject,
        text=body.rstrip() + f"\n\n{ctx.settings.office_contact}\n",
        message_id=message_id_for(reference, ctx.settings.email_from),
        reference=reference,
    )


def subject_for(subjects: Mapping[str, str], language: str | None) -> str:
    """The subject in the recipient's language, English where it has none."""
    return subjects.get(language or "en") or subjects["en"]


def failed(
    session: Session,
    ctx: WorkerContext,
    model: type[GatedRow],
    item: ReadyText,
    result: outbox.SendResult,
    *,
    log: logging.Logger,
    label: str,
) -> MessageStatus | None:
    """A send that did not go: due again on the retry schedule while attempts remain, else
    failed; None when another worker took the row over."""
    when = None
    if result.retryable and item.attempts < ctx.settings.worker_max_attempts:
        when = retry.next_attempt(
            settings=ctx.settings, since=item.since, attempts=item.attempts, now=ctx.now()
        )
    status = item.was if when is not None else MessageStatus.FAILED
    held = finish(
        session,
        ctx,
        model,
        item.row_id,
        status=status,
        last_error=result.code[:500],
        next_attempt_at=when or utcnow(),
    )
    log.warning("%s %s failed (%s); now %s", label, item.row_id, result.code, status.value)
    return status if held else None


def defer(
    session: Session,
    ctx: WorkerContext,
    model: type[GatedRow],
    deferred: list[tuple[ReadyText, datetime]],
) -> dict[int, Any]:
    """Rows a breaker held back: due again at their time, and the claim does not count."""
    outcomes: dict[int, Any] = {}
    for item, when in deferred:
        held = finish(
            session,
            ctx,
            model,
            item.row_id,
            status=item.was,
            next_attempt_at=when,
            attempts=col(model.attempts) - 1,
        )
        outcomes[item.row_id] = item.was if held else None
    return outcomes


def refuse(
    session: Session,
    ctx: WorkerContext,
    model: type[GatedRow],
    row_id: int,
    reason: str,
    *,
    log: logging.Logger,
    label: str,
) -> MessageStatus | None:
    """A claimed text that may not go: failed with the reason, never sent."""
    held = finish(session, ctx, model, row_id, status=MessageStatus.FAILED, last_error=reason)
    log.info("%s %s not sent: %s", label, row_id, reason)
    return MessageStatus.FAILED if held else None
