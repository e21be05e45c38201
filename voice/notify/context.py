"""What every outbox job needs: the database, settings, policy, adapters and its own id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from voice.config import Settings
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
