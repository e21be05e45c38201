"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is ``whsec_`` + base64 of 32 random bytes. Each delivery carries ``webhook-id`` (the
message id), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: space-separated
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per secret in force, so a partner
that holds either the new or the old secret during a rotation verifies every delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

PREFIX = "whsec_"
SECRET_BYTES = 32


class BadSecret(ValueError):
    """A stored secret is not in the ``whsec_`` form (never quotes the secret)."""


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise BadSecret("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except ValueError as exc:
        raise BadSecret("a webhook secret is base64 after whsec_") from exc
    if not key:
        raise BadSecret("a webhook secret may not be empty")
    return key


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    *, secrets_in_force: Sequence[str], message_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in force."""
    if not secrets_in_force:
        raise BadSecret("an endpoint needs at least one secret to sign with")
    timestamp = int(at.timestamp())
    signature = " ".join(
        sign(secret=s, message_id=message_id, timestamp=timestamp, body=body)
        for s in secrets_in_force
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
