"""One small interface per channel. Every adapter is handed finished, disclosed text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    sender: str
    subject: str
    text: str
    message_id: str
    # Stable per notification: a resend after a crash reuses it, so a provider (or the file
    # adapter) can recognise the repeat and keep a single message.
    reference: str
    # The HTML alternative of ``text``, rendered with autoescape; None for a text-only message.
    html: str | None = None


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    sender: str
    body: str
    reference: str


class DeliveryError(Exception):
    """A send failed. ``retryable`` separates a passing fault from a refusal."""

    def __init__(self, code: str, *, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


def awaits_receipts(sender: object) -> bool:
    """Whether a sender's provider reports delivery later, through a receipt callback.

    Messages through such a sender stay ``sending`` until the receipt arrives; through any
    other, a send is final and ends ``sent``.
    """
    return bool(getattr(sender, "has_receipts", False))


class EmailSender(Protocol):
    def send(self, *, message: OutgoingEmail) -> str:
        """Send one email and return the provider's reference for it."""
        ...


class SmsSender(Protocol):
    def send(self, *, message: OutgoingSms) -> str:
        """Send one text message and return the provider's reference for it."""
        ...
