"""Provider receipts: the final word on a message that was handed to a provider.

A receipt is kept as it arrives. It moves a notification on only while that notification is
``sending`` with no lease, i.e. handed over and waiting; a final status never changes. A receipt
can beat the worker's own commit (the provider is fast, the commit is not): the callback locks
the notification's row first, and the worker looks for a kept receipt right after its finish,
under the same row lock, so one of the two always applies it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.database import utcnow
from voice.notify import alerts
from voice.notify.models import Channel, DeliveryReceipt, Notification, NotificationStatus

log = logging.getLogger(__name__)

# Twilio error codes (https://www.twilio.com/docs/api/errors) that mean the number cannot
# receive texts at all, and those that are worth no more than a temporary failure.
INVALID_NUMBER_CODES = frozenset({"21211", "21614", "30005", "30006"})
TEMPORARY_CODES = frozenset({"30001", "30003", "30008", "30009"})


def twilio_outcome(status: str, error_code: str | None) -> NotificationStatus | None:
    """The notification status a Twilio MessageStatus means; None while still on its way."""
    if status == "delivered":
        return NotificationStatus.DELIVERED
    if status in ("undelivered", "failed"):
        if error_code in TEMPORARY_CODES:
            return NotificationStatus.TEMPORARY_FAILURE
        return NotificationStatus.PERMANENT_FAILURE
    return None


def notification_id_from_reference(reference: str) -> int | None:
    """``n-00000042`` (also inside a Message-ID, ``<n-00000042.voice@...>``) -> 42."""
    reference = reference.strip().strip("<>")
    if not reference.startswith("n-"):
        return None
    digits = reference[2:].split(".", 1)[0].split("@", 1)[0]
    return int(digits) if digits.isdigit() else None


def _lock(session: Session, notification_id: int) -> Notification | None:
    return session.exec(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).first()


def record_sms_receipt(
    *,
    session: Session,
    reference: str | None,
    message_sid: str,
    status: str,
    error_code: str | None,
) -> NotificationStatus | None:
    """Keep a Twilio status callback and apply it; return the notification's new status."""
    notification_id = notification_id_from_reference(reference or "")
    if notification_id is None and message_sid:
        notification_id = session.exec(
            select(Notification.id).where(Notification.provider_ref == message_sid)
        ).first()
    notification = _lock(session, notification_id) if notification_id is not None else None
    session.add(
        DeliveryReceipt(
            notification_id=notification.id if notification else None,
            provider="twilio",
            provider_ref=message_sid[:200],
            provider_status=status[:32],
            error_code=(error_code or None) and error_code[:32],
        )
    )
    session.flush()
    if notification is None or notification.id is None:
        log.warning("receipt for an unknown message (%s)", status)
        return None
    return apply_pending(session=session, notification_id=notification.id)


def kept_for(*, session: Session, notification_ids: list[int]) -> set[int]:
    """Which of these notifications have a kept receipt (one query for a whole batch)."""
    if not notification_ids:
        return set()
    rows = session.connection().execute(_KEPT_FOR, {"ids": notification_ids}).scalars()
    return {row for row in rows if row is not None}


# Built once: every hand-over commit asks it, while its send threads wait.
_KEPT_FOR = sa.select(col(DeliveryReceipt.notification_id)).where(
    col(DeliveryReceipt.notification_id).in_(sa.bindparam("ids", expanding=True))
)


def apply_pending(*, session: Session, notification_id: int) -> NotificationStatus | None:
    """Apply the latest kept receipt with a final outcome, if the notification is waiting."""
    receipts = session.exec(
        select(DeliveryReceipt)
        .where(DeliveryReceipt.notification_id == notification_id)
        .order_by(col(DeliveryReceipt.id).desc())
    ).all()
    for receipt in receipts:
        outcome = twilio_outcome(receipt.provider_status, receipt.error_code)
        if outcome is not None:
            return _apply(session, notification_id, outcome, receipt.error_code or "")
    return None


def _apply(
    session: Session, notification_id: int, outcome: NotificationStatus, code: str
) -> NotificationStatus | None:
    moved = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.claimed_by).is_(None),
            col(Notification.provider_ref).is_not(None),
        )
        .values(status=outcome, last_error=code or None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return None  # still leased (the worker applies it), or already final
    log.info("notification %s %s by receipt", notification_id, outcome.value)
    if outcome is NotificationStatus.PERMANENT_FAILURE:
        alerts.delivery_failed(
            session=session, notification_id=notification_id, status=outcome, code=code
        )
        if code in INVALID_NUMBER_CODES:
            mark_invalid_number(session, notification_id, code)
    return outcome


def mark_invalid_number(session: Session, notification_id: int, code: str) -> None:
    from voice.victims.models import Victim, VictimCaseLink

    notification = session.get_one(Notification, notification_id)
    link = session.get_one(VictimCaseLink, notification.link_id)
    victim = session.get_one(Victim, link.victim_id)
    if victim.phone:
        alerts.invalid_contact(
            session=session,
            channel=Channel.SMS,
            address=victim.phone,
            code=f"twilio.{code}",
            notification_id=notification_id,
        )
