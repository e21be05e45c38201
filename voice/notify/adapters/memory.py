"""In-memory adapters for tests: messages are kept by reference, as a provider would."""

from __future__ import annotations

from voice.notify.adapters.base import OutgoingEmail, OutgoingSms


class MemoryEmailSender:
    def __init__(self) -> None:
        self.outbox: dict[str, OutgoingEmail] = {}

    def send(self, *, message: OutgoingEmail) -> str:
        self.outbox[message.reference] = message
        return f"memory-{message.reference}"


class MemorySmsSender:
    def __init__(self) -> None:
        self.outbox: dict[str, OutgoingSms] = {}

    def send(self, *, message: OutgoingSms) -> str:
        self.outbox[message.reference] = message
        return f"memory-{message.reference}"
