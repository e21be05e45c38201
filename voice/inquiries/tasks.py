"""The worker's periodic job for inquiries: a missed service level escalates to a supervisor.

Each target is escalated once (the liaison task's dedupe key, and the breach flag on the
inquiry), so any number of workers may run this at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from voice.config import Settings
from voice.database import utcnow
from voice.inquiries.models import Inquiry, InquiryStatus
from voice.liaison import service as liaison_service
from voice.liaison.models import TaskKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Breaches:
    first_response: int
    resolution: int


def _escalate(session: Session, inquiry: Inquiry, target: str) -> None:
    liaison_service.open_task(
        session=session,
        kind=TaskKind.INQUIRY_SLA_BREACH,
        dedupe_key=f"inquiry-breach:{inquiry.id}:{target}",
        reason=(
            f"inquiry {inquiry.id} ({inquiry.category}, {inquiry.priority}) missed its "
            f"{target.replace('_', ' ')} target: for a supervisor"
        ),
        victim_id=inquiry.victim_id,
        case_id=inquiry.case_id,
    )


def check_service_levels(
    *, session: Session, settings: Settings, now: datetime | None = None
) -> Breaches:
    """Flag and escalate every open inquiry past a due time it has not met.

    The due times were counted on the business calendar when the inquiry arrived (or was
    triaged), so this compares instants and needs no calendar itself.
    """
    now = now or utcnow()
    still_open = col(Inquiry.status) != InquiryStatus.CLOSED
    late_first = session.exec(
        select(Inquiry)
        .where(
            still_open,
            col(Inquiry.first_responded_at).is_(None),
            col(Inquiry.first_response_due) < now,
            col(Inquiry.first_response_breached).is_(False),
        )
        .order_by(col(Inquiry.id))
        .with_for_update(skip_locked=True)
    ).all()
    for inquiry in late_first:
        inquiry.first_response_breached = True
        session.add(inquiry)
        _escalate(session, inquiry, "first_response")
    late_resolution = session.exec(
        select(Inquiry)
        .where(
            still_open,
            col(Inquiry.resolved_at).is_(None),
            col(Inquiry.resolution_due) < now,
            col(Inquiry.resolution_breached).is_(False),
        )
        .order_by(col(Inquiry.id))
        .with_for_update(skip_locked=True)
    ).all()
    for inquiry in late_resolution:
        inquiry.resolution_breached = True
        session.add(inquiry)
        _escalate(session, inquiry, "resolution")
    session.flush()
    if late_first or late_resolution:
        log.warning(
            "inquiries past their targets: %d first response, %d resolution",
            len(late_first),
            len(late_resolution),
        )
    return Breaches(first_response=len(late_first), resolution=len(late_resolution))
