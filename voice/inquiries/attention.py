"""Inquiries that need someone now: past a service-level target, or due within the next few
business hours. What the portal's work queue lists, for the people each one concerns.

An inquiry's clock is its first-response target until staff first answer, then its resolution
target until it is answered. "Due soon" is counted in business hours, like the targets
themselves: on a Friday evening, Monday morning's first hours are what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from voice.config import Settings
from voice.inquiries import sla
from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import Inquiry, InquiryStatus

DUE_SOON = timedelta(hours=2)
LIMIT = 50


@dataclass(frozen=True)
class Attention:
    inquiry: Inquiry
    target: str  # "first response" or "resolution"
    timer: sla.Timer


def _clock(
    inquiry: Inquiry, calendar: BusinessCalendar, now: datetime
) -> tuple[str, sla.Timer] | None:
    if inquiry.first_responded_at is None:
        return "first response", sla.timer(
            calendar, due=inquiry.first_response_due, met_at=None, now=now
        )
    if inquiry.resolved_at is None:
        return "resolution", sla.timer(calendar, due=inquiry.resolution_due, met_at=None, now=now)
    return None


def needing_attention(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    assigned_to: str | None = None,
    unassigned: bool = False,
    overdue_only: bool = False,
) -> list[Attention]:
    """Open inquiries whose running clock has passed, or will within ``DUE_SOON`` business
    time; overdue first, then by due time. Filter by assignee, or to the unassigned ones."""
    calendar = BusinessCalendar.from_settings(settings)
    horizon = now if overdue_only else calendar.add(now, DUE_SOON)
    running_due = sa.case(
        (col(Inquiry.first_responded_at).is_(None), col(Inquiry.first_response_due)),
        else_=col(Inquiry.resolution_due),
    )
    query = select(Inquiry).where(
        col(Inquiry.status) != InquiryStatus.CLOSED,
        col(Inquiry.resolved_at).is_(None),
        running_due <= horizon,
    )
    if assigned_to is not None:
        query = query.where(Inquiry.assigned_to == assigned_to)
    if unassigned:
        query = query.where(col(Inquiry.assigned_to).is_(None))
    rows = session.exec(
        query.order_by(running_due, col(Inquiry.priority_rank), col(Inquiry.id)).limit(LIMIT)
    ).all()
    found = []
    for inquiry in rows:
        clock = _clock(inquiry, calendar, now)
        if clock is not None:
            found.append(Attention(inquiry=inquiry, target=clock[0], timer=clock[1]))
    return found
