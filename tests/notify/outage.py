"""A provider that is down until a moment on a clock the test moves, and that clock."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

from voice.notify.adapters.base import DeliveryError, OutgoingEmail


class Clock:
    """The worker's clock in a test: it moves only when the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class OutageEmailSender:
    """Refuses every message (a temporary failure, as SMTP's 421) until ``up_at``."""

    def __init__(self, clock: Clock, up_at: datetime) -> None:
        self.clock = clock
        self.up_at = up_at
        self.refused = 0
        self.accepted: Counter[str] = Counter()
        self._lock = threading.Lock()  # the worker sends from several threads

    def send(self, *, message: OutgoingEmail) -> str:
        with self._lock:
            if self.clock() < self.up_at:
                self.refused += 1
                raise DeliveryError("smtp.421", retryable=True)
            self.accepted[message.reference] += 1
        return f"accepted-{message.reference}"
