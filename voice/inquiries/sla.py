"""Service levels: a first-response and a resolution target for each category and priority,
counted in business hours (calendar.py).

A category's default priority puts safety concerns first. Targets are looked up for the
(category, priority) pair, then for the priority alone, so a category can be stricter than its
priority's default without a row for every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voice.inquiries.calendar import BusinessCalendar
from voice.inquiries.models import Category, Priority


@dataclass(frozen=True)
class Target:
    first_response: timedelta
    resolution: timedelta


def _hours(first: float, resolution: float) -> Target:
    return Target(timedelta(hours=first), timedelta(hours=resolution))


DEFAULT_PRIORITY: dict[Category, Priority] = {
    Category.SAFETY_CONCERN: Priority.URGENT,
    Category.CUSTODY_OR_RELEASE: Priority.HIGH,
    Category.REMOVAL: Priority.HIGH,
    Category.HEARING: Priority.HIGH,
    Category.CASE_STATUS: Priority.NORMAL,
    Category.VICTIM_SERVICES: Priority.NORMAL,
    Category.REGISTRATION_HELP: Priority.NORMAL,
    Category.UNRELATED: Priority.LOW,
}

# Business hours. A business day is nine hours with the default settings.
BY_PRIORITY: dict[Priority, Target] = {
    Priority.URGENT: _hours(1, 9),
    Priority.HIGH: _hours(4, 18),
    Priority.NORMAL: _hours(9, 45),
    Priority.LOW: _hours(18, 90),
}
BY_CATEGORY: dict[tuple[Category, Priority], Target] = {
    # A victim asking about a release needs to hear the same day, whatever else is queued.
    (Category.CUSTODY_OR_RELEASE, Priority.HIGH): _hours(2, 9),
    # Registration problems block every notice the registrant should get.
    (Category.REGISTRATION_HELP, Priority.NORMAL): _hours(4, 18),
}


def target(category: Category | str, priority: Priority | str) -> Target:
    key = (Category(category), Priority(priority))
    return BY_CATEGORY.get(key) or BY_PRIORITY[key[1]]


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime
    resolution_due: datetime


def deadlines(
    calendar: BusinessCalendar,
    *,
    received_at: datetime,
    category: Category | str,
    priority: Priority | str,
) -> Deadlines:
    goal = target(category, priority)
    return Deadlines(
        first_response_due=calendar.add(received_at, goal.first_response),
        resolution_due=calendar.add(received_at, goal.resolution),
    )


@dataclass(frozen=True)
class Timer:
    """What the inbox shows: time left in business minutes (negative once overdue)."""

    due: datetime
    met_at: datetime | None
    business_minutes_left: int | None
    breached: bool


def timer(
    calendar: BusinessCalendar, *, due: datetime, met_at: datetime | None, now: datetime
) -> Timer:
    if met_at is not None:
        return Timer(due=due, met_at=met_at, business_minutes_left=None, breached=met_at > due)
    left = calendar.between(now, due)
    return Timer(
        due=due,
        met_at=None,
        business_minutes_left=int(left.total_seconds() // 60),
        breached=now > due,
    )
