"""When a failed send is tried again: a time budget with jittered exponential back-off.

A provider outage must not use up a notice's chances: retries go on until the notice is
``worker_retry_budget_seconds`` old, however many attempts that takes. A separate hard cap on
claims (``worker_max_attempts``) stops a row that crashes its workers; ``worst_case_attempts``
shows that the cap is far enough above what the budget needs never to cut it short.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from voice.config import Settings

FIRST_BACKOFF_SECONDS = 5.0


def ceiling(attempts: int, settings: Settings) -> float:
    """The longest wait after ``attempts`` failed attempts."""
    exponent = min(max(0, attempts - 1), 32)  # bounded, so the float cannot overflow
    return min(settings.worker_retry_max_backoff_seconds, FIRST_BACKOFF_SECONDS * 2.0**exponent)


def backoff(attempts: int, settings: Settings) -> timedelta:
    # Jitter between half the ceiling and all of it: many rows failed by one outage come back
    # spread out rather than in a synchronised stampede, and never sooner than half.
    top = ceiling(attempts, settings)
    return timedelta(seconds=random.uniform(top / 2, top))  # noqa: S311


def budget_spent(*, settings: Settings, since: datetime, now: datetime) -> bool:
    return (now - since).total_seconds() >= settings.worker_retry_budget_seconds


def next_attempt(
    *, settings: Settings, since: datetime, attempts: int, now: datetime
) -> datetime | None:
    """When to try a row again that was first due at ``since``; None once the budget is spent."""
    if budget_spent(settings=settings, since=since, now=now):
        return None
    return now + backoff(attempts, settings)


def worst_case_attempts(settings: Settings) -> int:
    """Attempts a row may need to spend its budget when every wait is the shortest possible."""
    elapsed, attempts = 0.0, 0
    while elapsed < settings.worker_retry_budget_seconds:
        attempts += 1
        elapsed += ceiling(attempts, settings) / 2
    return attempts + 1  # the attempt that finds the budget spent
