"""Twilio's request signature: HMAC-SHA1, keyed with the auth token, over the full URL followed
by every POST parameter's name and value, sorted by name, base64-encoded
(https://www.twilio.com/docs/usage/webhooks/webhooks-security)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    # Repeated names are sorted by value too, and repeats dropped, as Twilio's validator does.
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def valid_twilio_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not signature or not auth_token:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace"))
