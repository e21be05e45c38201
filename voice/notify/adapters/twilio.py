"""Text messages through a Twilio-compatible REST API, with httpx.

``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, form-encoded, HTTP basic auth with the
account SID and auth token. ``StatusCallback`` points at ``/callbacks/sms/status`` with our
reference in the query string, so a receipt can find its notification even if it arrives before
the worker has stored the provider's SID.

The client is a synchronous ``httpx.Client`` handed in by the caller (tests give one bound to a
local server): the worker is synchronous and sends from a thread pool, and one client shares
its keep-alive connections between those threads.

Answers: 2xx is accepted; 429 and 5xx are retryable, as are connection errors and timeouts; any
other 4xx is permanent (a number the provider will never reach, a malformed request).
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from voice.notify.adapters.base import DeliveryError, OutgoingSms

STATUS_CALLBACK_PATH = "/callbacks/sms/status"


class TwilioSmsSender:
    has_receipts = True

    def __init__(
        self,
        *,
        client: httpx.Client,
        base_url: str,
        account_sid: str,
        auth_token: SecretStr,
        callback_base_url: str | None = None,
    ) -> None:
        if not account_sid or not auth_token.get_secret_value():
            raise ValueError("the Twilio adapter needs an account SID and an auth token")
        self._client = client
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token.get_secret_value())
        self._callback_base = callback_base_url.rstrip("/") if callback_base_url else None

    def status_callback_url(self, reference: str) -> str | None:
        if self._callback_base is None:
            return None
        return f"{self._callback_base}{STATUS_CALLBACK_PATH}?{urlencode({'reference': reference})}"

    def send(self, *, message: OutgoingSms) -> str:
        form = {"To": message.to, "From": message.sender, "Body": message.body}
        callback = self.status_callback_url(message.reference)
        if callback:
            form["StatusCallback"] = callback
        try:
            response = self._client.post(
                self._url,
                data=form,
                auth=self._auth,
                # Honoured by providers that deduplicate on it; see docs/adr/0005.
                headers={"Idempotency-Key": message.reference},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"twilio.{type(exc).__name__}", retryable=True) from None
        status = response.status_code
        if 200 <= status < 300:
            sid = _json(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise DeliveryError("twilio.no_sid", retryable=True)
            return sid
        code = _json(response).get("code")
        detail = f"twilio.http_{status}" + (f".{code}" if isinstance(code, int) else "")
        raise DeliveryError(detail, retryable=status == 429 or status >= 500)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
