"""Figures for the quarterly report: volume by category and channel, service levels met, and
the median time to first response. Counts and times only; no text, no addresses."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from voice.config import Settings
from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import Category, Inquiry, InquiryChannel


@dataclass(frozen=True)
class Met:
    """Of the inquiries whose target fell due by the end of the period (or that met it)."""

    due: int
    met: int

    @property
    def rate(self) -> float | None:
        return round(self.met / self.due, 4) if self.due else None


@dataclass(frozen=True)
class InquiryFigures:
    period_from: datetime
    period_to: datetime
    total: int
    by_category: dict[str, int]
    by_channel: dict[str, int]
    first_response: Met
    resolution: Met
    median_first_response_minutes: float | None
    median_first_response_business_minutes: float | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["period_from"] = self.period_from.isoformat()
        out["period_to"] = self.period_to.isoformat()
        for key in ("first_response", "resolution"):
            out[key]["rate"] = getattr(self, key).rate
        return out


def _met(due: datetime, met_at: datetime | None, end: datetime) -> tuple[int, int]:
    """(counted, met): an inquiry counts once its target fell due in the period, or once it
    was met within it."""
    if met_at is not None and met_at <= due:
        return 1, 1
    return (1, 0) if due <= end else (0, 0)


def figures(
    *, session: Session, settings: Settings, start: datetime, end: datetime
) -> InquiryFigures:
    """Inquiries received in [start, end)."""
    rows = session.exec(
        select(Inquiry)
        .where(col(Inquiry.received_at) >= start, col(Inquiry.received_at) < end)
        .order_by(col(Inquiry.id))
    ).all()
    calendar = BusinessCalendar.from_settings(settings)
    by_category = {c.value: 0 for c in Category}
    by_channel = {c.value: 0 for c in InquiryChannel}
    first = [0, 0]
    resolution = [0, 0]
    minutes: list[float] = []
    business: list[float] = []
    for inquiry in rows:
        by_category[inquiry.category] = by_category.get(inquiry.category, 0) + 1
        by_channel[inquiry.channel] = by_channel.get(inquiry.channel, 0) + 1
        for tally, due, met_at in (
            (first, inquiry.first_response_due, inquiry.first_responded_at),
            (resolution, inquiry.resolution_due, inquiry.resolved_at),
        ):
            counted, met = _met(due, met_at, end)
            tally[0] += counted
            tally[1] += met
        if inquiry.first_responded_at is not None:
            minutes.append((inquiry.first_responded_at - inquiry.received_at).total_seconds() / 60)
            business.append(
                calendar.between(inquiry.received_at, inquiry.first_responded_at).total_seconds()
                / 60
            )
    return InquiryFigures(
        period_from=start,
        period_to=end,
        total=len(rows),
        by_category=by_category,
        by_channel=by_channel,
        first_response=Met(due=first[0], met=first[1]),
        resolution=Met(due=resolution[0], met=resolution[1]),
        median_first_response_minutes=round(statistics.median(minutes), 1) if minutes else None,
        median_first_response_business_minutes=(
            round(statistics.median(business), 1) if business else None
        ),
    )
