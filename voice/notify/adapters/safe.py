"""Safe test mode: a sender that refuses every recipient outside an allow-list.

It wraps the adapters that reach real people (SMTP, Twilio, third-party ones). A refusal is a
permanent failure of that one notification, so a test run can never write to a real victim.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from voice.notify.adapters.base import (
    DeliveryError,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SmsSender,
    awaits_receipts,
)

REFUSED = "test-mode.recipient-not-allowed"


def allowed(address: str, patterns: Sequence[str]) -> bool:
    address = address.strip().lower()
    return any(fnmatchcase(address, pattern.strip().lower()) for pattern in patterns)


class AllowListEmailSender:
    def __init__(self, inner: EmailSender, patterns: Sequence[str]) -> None:
        self.inner = inner
        self.patterns = tuple(patterns)
        self.has_receipts = awaits_receipts(inner)

    def send(self, *, message: OutgoingEmail) -> str:
        if not allowed(message.to, self.patterns):
            raise DeliveryError(REFUSED, retryable=False)
        return self.inner.send(message=message)


class AllowListSmsSender:
    def __init__(self, inner: SmsSender, patterns: Sequence[str]) -> None:
        self.inner = inner
        self.patterns = tuple(patterns)
        self.has_receipts = awaits_receipts(inner)

    def send(self, *, message: OutgoingSms) -> str:
        if not allowed(message.to, self.patterns):
            raise DeliveryError(REFUSED, retryable=False)
        return self.inner.send(message=message)
