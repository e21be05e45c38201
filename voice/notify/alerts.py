"""Telling staff: a notice that could not be delivered, a contact point that does not work.

Each alert is a liaison task (opened at most once per reason) and a log line with ids only.
"""

from __future__ import annotations

import hashlib
import logging

from sqlmodel import Session, select

from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind
from voice.notify import contacts
from voice.notify.models import Channel, Notification, NotificationStatus, SuppressionReason
from voice.victims.models import Victim, VictimCaseLink

log = logging.getLogger(__name__)


def delivery_failed(
    *, session: Session, notification_id: int, status: NotificationStatus, code: str = ""
) -> None:
    notification = session.get_one(Notification, notification_id)
    link = session.get_one(VictimCaseLink, notification.link_id)
    log.error("notification %s ended %s (%s)", notification_id, status.value, code or "-")
    liaison_service.open_task(
        session=session,
        kind=TaskKind.DELIVERY_FAILED,
        dedupe_key=f"delivery_failed:n{notification_id}",
        reason=f"{notification.channel} notice {status.value}: {code}"[:200],
        victim_id=link.victim_id,
        link_id=link.id,
        case_id=link.case_id,
        event_id=notification.event_id,
        notification_id=notification_id,
    )


def _address_key(address: str) -> str:
    # Dedupe keys are visible to staff and kept long; they carry a hash, not the address.
    return hashlib.sha256(address.encode("utf-8")).hexdigest()[:16]


def invalid_contact(
    *, session: Session, channel: Channel, address: str, code: str, notification_id: int | None
) -> int:
    """Suppress an address that does not exist and ask a liaison to find a working one.

    Returns how many tasks were opened (one per registrant with that address).
    """
    address = contacts.normalise(channel, address)
    contacts.suppress(
        session=session, channel=channel, address=address, reason=SuppressionReason.HARD_BOUNCE
    )
    victims = session.exec(select(Victim).where(contacts.matches(channel, address))).all()
    opened = 0
    for victim in victims:
        task = liaison_service.open_task(
            session=session,
            kind=TaskKind.INVALID_CONTACT,
            dedupe_key=f"invalid_contact:{channel.value}:v{victim.id}:{_address_key(address)}",
            reason=f"{channel.value} contact point does not work ({code})"[:200],
            victim_id=victim.id,
            notification_id=notification_id,
        )
        opened += task is not None
    return opened
