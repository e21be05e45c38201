"""Email bounces: delivery status notifications (RFC 3464) posted by the bounce mailbox, or a
provider's JSON. A hard bounce (a permanent 5.x.x failure) marks the address invalid and asks a
liaison to find a working one; a soft bounce is kept as a receipt and nothing more."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import Message
from typing import Any

from sqlmodel import Session

from voice.notify import alerts
from voice.notify.callbacks.receipts import notification_id_from_reference
from voice.notify.models import Channel, DeliveryReceipt, Notification
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)


class UnreadableBounce(ValueError):
    pass


@dataclass(frozen=True)
class Bounce:
    message_id: str
    recipient: str | None
    hard: bool
    status: str  # the enhanced status code, e.g. 5.1.1


def parse_dsn(raw: bytes) -> Bounce:
    """Read a multipart/report delivery status notification."""
    report = message_from_bytes(raw, policy=email_policy.compat32)
    status_part = _find(report, "message/delivery-status")
    original = _find(report, "text/rfc822-headers") or _find(report, "message/rfc822")
    if status_part is None or original is None:
        raise UnreadableBounce("not a delivery status notification")
    fields = _status_fields(status_part)
    headers = _original_headers(original)
    message_id = headers.get("message-id", "")
    status = fields.get("status", "")
    action = fields.get("action", "").lower()
    if not message_id or not status:
        raise UnreadableBounce("the report names no message or no status")
    recipient = fields.get("final-recipient", "").partition(";")[2].strip() or None
    return Bounce(
        message_id=message_id,
        recipient=recipient,
        hard=action == "failed" and status.startswith("5"),
        status=status,
    )


def parse_json(body: dict[str, Any]) -> Bounce:
    message_id = body.get("message_id")
    kind = body.get("type")
    if not isinstance(message_id, str) or kind not in ("hard", "soft"):
        raise UnreadableBounce("message_id and type (hard or soft) are required")
    recipient = body.get("recipient")
    status = body.get("status") or ("5.0.0" if kind == "hard" else "4.0.0")
    return Bounce(
        message_id=message_id,
        recipient=recipient if isinstance(recipient, str) else None,
        hard=kind == "hard",
        status=str(status)[:32],
    )


def _find(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _status_fields(part: Message) -> dict[str, str]:
    # The delivery-status body is header blocks: one per message, then one per recipient.
    fields: dict[str, str] = {}
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else [message_from_bytes(_bytes(part))]
    for block in blocks:
        if not isinstance(block, Message):
            continue
        for name, value in block.items():
            fields.setdefault(name.lower(), str(value).strip())
    return fields


def _original_headers(part: Message) -> dict[str, str]:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, Message):
        inner = message_from_bytes(_bytes(part))
    return {name.lower(): str(value).strip() for name, value in inner.items()}


def _bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    text = part.get_payload()
    return text.encode("utf-8") if isinstance(text, str) else b""


def record_bounce(*, session: Session, bounce: Bounce) -> bool:
    """Keep the bounce; on a hard one, suppress the address and open a liaison task.

    Returns whether the bounce was matched to a notification of ours. The notification's own
    status does not change: ``sent`` is final, and the address is what the bounce is about.
    """
    notification_id = notification_id_from_reference(bounce.message_id)
    notification = session.get(Notification, notification_id) if notification_id else None
    session.add(
        DeliveryReceipt(
            notification_id=notification.id if notification else None,
            provider="email",
            provider_ref=bounce.message_id[:200],
            provider_status="bounce-hard" if bounce.hard else "bounce-soft",
            error_code=bounce.status[:32],
        )
    )
    session.flush()
    if notification is None or notification.channel != Channel.EMAIL:
        log.warning("bounce for an unknown message")
        return False
    if bounce.hard:
        link = session.get_one(VictimCaseLink, notification.link_id)
        victim = session.get_one(Victim, link.victim_id)
        address = bounce.recipient or victim.email
        if address:
            alerts.invalid_contact(
                session=session,
                channel=Channel.EMAIL,
                address=address,
                code=f"smtp.{bounce.status}",
                notification_id=notification.id,
            )
    log.info("notification %s bounced (%s)", notification.id, "hard" if bounce.hard else "soft")
    return True
