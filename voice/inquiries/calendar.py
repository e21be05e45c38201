"""Business hours: the office's working hours on weekdays that are not U.S. federal holidays.

Holidays come from the ``holidays`` package (its U.S. calendar, federal holidays by default,
with the observed day when a holiday falls on a weekend), pinned in pyproject.toml.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from voice.config import Settings

# A target cannot reach further than this; it bounds the walk over days.
_MAX_DAYS = 3660


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


class BusinessCalendar:
    def __init__(self, *, timezone: str, start_hour: int, end_hour: int) -> None:
        if not 0 <= start_hour < end_hour <= 24:
            raise ValueError("business hours must start before they end, within one day")
        self.zone = ZoneInfo(timezone)
        self.start = start_hour
        self.end = end_hour

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessCalendar:
        return cls(
            timezone=settings.inquiry_timezone,
            start_hour=settings.inquiry_business_start_hour,
            end_hour=settings.inquiry_business_end_hour,
        )

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in federal_holidays(day.year)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, time(self.start), tzinfo=self.zone)
        closes = (
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
            if self.end == 24
            else datetime.combine(day, time(self.end), tzinfo=self.zone)
        )
        return opens, closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start`` (in UTC)."""
        remaining = duration
        cursor = start.astimezone(self.zone)
        for _ in range(_MAX_DAYS):
            day = cursor.date()
            if self.is_business_day(day):
                opens, closes = self._window(day)
                cursor = max(cursor, opens)
                if cursor < closes:
                    available = closes - cursor
                    if remaining <= available:
                        return (cursor + remaining).astimezone(UTC)
                    remaining -= available
            cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        raise ValueError("a service-level target longer than the calendar reaches")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end``; negative when ``end`` comes first."""
        if end < start:
            return -self.between(end, start)
        total = timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total
