"""A victim's own questions and the answers that reached them: what self-service shows.

Only what the victim wrote and answers already delivered to them (and so already accounted
for); never staff's notes, held or rejected answers, or anything about the queue's handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from voice.inquiries.models import EntryKind, Inquiry, InquiryAnswer, InquiryEntry
from voice.messages.gate import MessageStatus


@dataclass(frozen=True)
class ThreadItem:
    who: str  # "you" or "office"
    body: str
    at: datetime


@dataclass(frozen=True)
class VictimThread:
    inquiry_id: int
    category: str
    received_at: datetime
    answered: bool
    closed: bool
    items: list[ThreadItem]


def threads(*, session: Session, victim_id: int) -> list[VictimThread]:
    inquiries = session.exec(
        select(Inquiry).where(Inquiry.victim_id == victim_id).order_by(col(Inquiry.id).desc())
    ).all()
    out = []
    for inquiry in inquiries:
        asked = session.exec(
            select(InquiryEntry).where(
                InquiryEntry.inquiry_id == inquiry.id, InquiryEntry.kind == EntryKind.INBOUND
            )
        ).all()
        answered = session.exec(
            select(InquiryAnswer).where(
                InquiryAnswer.inquiry_id == inquiry.id,
                InquiryAnswer.status == MessageStatus.SENT,
            )
        ).all()
        items = [ThreadItem("you", e.body, e.created_at) for e in asked]
        items += [ThreadItem("office", a.body, a.sent_at or a.created_at) for a in answered]
        items.sort(key=lambda item: item.at)
        assert inquiry.id is not None
        out.append(
            VictimThread(
                inquiry_id=inquiry.id,
                category=inquiry.category,
                received_at=inquiry.received_at,
                answered=bool(answered),
                closed=inquiry.closed_at is not None,
                items=items,
            )
        )
    return out
