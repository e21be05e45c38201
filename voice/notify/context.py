"""What every outbox job needs: the database, settings, policy, adapters and its own id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from voice.config import Settings
from voice.database import utcnow
from voice.disclosure.policy import Policy
from voice.notify.adapters.base import EmailSender, SmsSender


@dataclass(frozen=True)
class WorkerContext:
    engine: Engine
    settings: Settings
    policy: Policy
    email: EmailSender
    sms: SmsSender
    worker_id: str
    # The loop's clock: claims, retry times, the breaker and the periodic jobs read it, so a
    # test can run a day of retries and an outage under a clock it moves itself.
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()
