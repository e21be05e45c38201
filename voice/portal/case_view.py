"""What the case page reads besides the case: its registrants, notices and disclosures."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from voice.audit.models import DisclosureRecord
from voice.cases.models import CaseEvent
from voice.notify.models import DeliveryReceipt, NoticeAcknowledgement, Notification
from voice.victims.models import Victim, VictimCaseLink

DISCLOSURES_SHOWN = 200


@dataclass(frozen=True)
class LinkedRegistrant:
    link: VictimCaseLink
    victim: Victim

    @property
    def channels(self) -> list[str]:
        chosen = []
        if self.link.notify_email:
            chosen.append("email" + ("" if self.victim.email_verified else " (unproven)"))
        if self.link.notify_sms:
            chosen.append("text" + ("" if self.victim.phone_verified else " (unproven)"))
        return chosen


@dataclass(frozen=True)
class Notice:
    notification: Notification
    event: CaseEvent
    victim: Victim
    receipts: list[DeliveryReceipt] = field(default_factory=list)
    acknowledgement: NoticeAcknowledgement | None = None


def registrants(*, session: Session, case_id: int) -> list[LinkedRegistrant]:
    rows = session.exec(
        select(VictimCaseLink, Victim)
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .where(VictimCaseLink.case_id == case_id)
        .order_by(col(VictimCaseLink.id))
    ).all()
    return [LinkedRegistrant(link, victim) for link, victim in rows]


def notices(*, session: Session, case_id: int) -> list[Notice]:
    """Every notice about the case, newest event first, with its receipts and acknowledgement."""
    rows = session.exec(
        select(Notification, CaseEvent, Victim)
        .join(CaseEvent, col(CaseEvent.id) == col(Notification.event_id))
        .join(VictimCaseLink, col(VictimCaseLink.id) == col(Notification.link_id))
        .join(Victim, col(Victim.id) == col(VictimCaseLink.victim_id))
        .where(CaseEvent.case_id == case_id)
        .order_by(col(CaseEvent.occurred_at).desc(), col(Notification.id))
    ).all()
    ids = [n.id for n, _, _ in rows]
    receipts: dict[int, list[DeliveryReceipt]] = {}
    for receipt in session.exec(
        select(DeliveryReceipt)
        .where(col(DeliveryReceipt.notification_id).in_(ids))
        .order_by(col(DeliveryReceipt.id))
    ).all():
        receipts.setdefault(receipt.notification_id or 0, []).append(receipt)
    acks = {
        (a.event_id, a.link_id): a
        for a in session.exec(
            select(NoticeAcknowledgement)
            .join(CaseEvent, col(CaseEvent.id) == col(NoticeAcknowledgement.event_id))
            .where(CaseEvent.case_id == case_id)
        ).all()
    }
    return [
        Notice(n, e, v, receipts.get(n.id or 0, []), acks.get((n.event_id, n.link_id)))
        for n, e, v in rows
    ]


def disclosures(*, session: Session, case_id: int) -> list[DisclosureRecord]:
    return list(
        session.exec(
            select(DisclosureRecord)
            .where(DisclosureRecord.case_id == case_id)
            .order_by(col(DisclosureRecord.id).desc())
            .limit(DISCLOSURES_SHOWN)
        ).all()
    )
