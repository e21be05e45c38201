"""Quiet hours: a routine notice that falls in the victim's night waits until their morning.

Critical notices (a release, an escape, a return to custody, a removal) never wait: a victim
must hear of them at once, whatever the hour. A deferred notice is not sent and not failed: it
goes back to ``created`` with ``next_attempt_at`` at the end of the quiet hours, and its claim
does not count against the attempt budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, col

from voice.database import utcnow
from voice.notify.context import WorkerContext
from voice.notify.models import CRITICAL_EVENT_TYPES, Notification, NotificationStatus

NEVER_WAIT = CRITICAL_EVENT_TYPES | {"custody.returned"}
FALLBACK_ZONE = "America/New_York"


@dataclass(frozen=True)
class QuietUntil:
    """Prepare's answer for a routine notice inside the recipient's quiet hours."""

    until: datetime


def quiet_until(
    *,
    now: datetime,
    event_type: str,
    time_zone: str | None,
    start_hour: int | None,
    end_hour: int | None,
) -> datetime | None:
    """When the quiet hours holding this notice end (UTC), or None to send it now."""
    if event_type in NEVER_WAIT or start_hour is None or end_hour is None:
        return None
    if start_hour == end_hour:
        return None
    try:
        zone = ZoneInfo(time_zone or FALLBACK_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(FALLBACK_ZONE)
    local = now.astimezone(zone)
    hour = local.hour
    # Quiet hours may wrap past midnight (22 to 7) or not (1 to 6).
    inside = (
        start_hour <= hour < end_hour
        if start_hour < end_hour
        else hour >= start_hour or hour < end_hour
    )
    if not inside:
        return None
    day = local.date() if hour < end_hour else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end_hour), tzinfo=zone).astimezone(UTC)


def defer(
    session: Session, ctx: WorkerContext, notification_id: int, until: datetime
) -> NotificationStatus | None:
    """Back to ``created``, due at ``until``; None if this worker no longer holds the lease."""
    result = session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.claimed_by) == ctx.worker_id,
            col(Notification.status) == NotificationStatus.SENDING,
        )
        .values(
            status=NotificationStatus.CREATED,
            claimed_by=None,
            claimed_until=None,
            attempts=col(Notification.attempts) - 1,
            next_attempt_at=until,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return NotificationStatus.CREATED if result.rowcount else None  # type: ignore[attr-defined]
