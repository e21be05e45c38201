"""Sending one delivery and judging the answer.

Retry schedule (after the first attempt; each wait is drawn uniformly between 0 and its step,
"full jitter", so a partner coming back from an outage is not hit by every retry at once):
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; eight attempts in all, then the delivery fails. A
``Retry-After`` (seconds or an HTTP date) on a retryable answer replaces the drawn wait.

- 2xx: delivered.
- 5xx, 429, a timeout, a connection error: retried.
- 410 Gone: failed, and the endpoint is disabled.
- 3xx: failed; redirects are never followed (the SSRF guard checked only the first URL).
- any other answer: failed, not retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from voice.database import utcnow
from voice.webhooks import signing, ssrf

log = logging.getLogger(__name__)


class _NoQueryInHttpxLogs(logging.Filter):
    """httpx logs every request's full URL at INFO; a partner's URL query may hold a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_NoQueryInHttpxLogs())

TIMEOUT_SECONDS = 15.0
RESPONSE_KEEP_BYTES = 1024
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# A partner's Retry-After is honoured up to the longest step of the schedule.
MAX_RETRY_AFTER = max(RETRY_SCHEDULE)


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"  # 410: failed, and the endpoint is disabled


@dataclass(frozen=True)
class Job:
    """Everything one send needs, read before the send so no transaction spans it."""

    delivery_id: int
    endpoint_id: int
    url: str
    message_id: str
    body: bytes
    secrets: Sequence[str]
    attempts: int  # including this one


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    verdict: Verdict
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error_kind: str | None = None
    response_body: str | None = None
    retry_after: timedelta | None = None


def judge(status_code: int) -> Verdict:
    if 200 <= status_code < 300:
        return Verdict.DELIVERED
    if status_code == 410:
        return Verdict.GONE
    if status_code == 429 or status_code >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or not understood."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


def next_attempt_at(
    *, attempts: int, now: datetime, retry_after: timedelta | None, rng: random.Random
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None when they are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if retry_after is not None:
        return now + retry_after
    step = RETRY_SCHEDULE[attempts - 1]
    return now + timedelta(seconds=rng.uniform(0, step.total_seconds()))


async def _first_bytes(response: httpx.Response) -> str:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= RESPONSE_KEEP_BYTES:
            break
    return kept[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")


async def send(
    job: Job,
    *,
    client: httpx.AsyncClient,
    allow_http: bool,
    allowed: ssrf.AllowList,
    now: datetime,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> Outcome:
    """POST one delivery to the address the SSRF guard approved; never raises for the answer."""
    started = time.perf_counter()

    def outcome(verdict: Verdict, **kwargs: object) -> Outcome:
        elapsed = int((time.perf_counter() - started) * 1000)
        result = Outcome(job.delivery_id, verdict, now, elapsed, **kwargs)  # type: ignore[arg-type]
        # Ids and codes only: never the URL's query, the body or the partner's answer.
        log.info(
            "webhook delivery %s to endpoint %s attempt %s: %s (%s)",
            job.delivery_id,
            job.endpoint_id,
            job.attempts,
            verdict.value,
            result.status_code or result.error_kind,
        )
        return result

    try:
        target = await ssrf.resolve_target(
            job.url, allow_http=allow_http, allowed=allowed, resolver=resolver
        )
    except ssrf.UrlRefused:
        return outcome(Verdict.FAILED, error_kind="address_refused")
    except LookupError:
        return outcome(Verdict.RETRY, error_kind="dns_error")
    headers = signing.headers(
        secrets_in_force=job.secrets,
        message_id=job.message_id,
        # The signed timestamp is the real time of sending (partners reject stale ones), even
        # when the caller schedules by another clock.
        at=utcnow(),
        body=job.body,
    )
    headers.update(
        {
            "content-type": "application/json",
            "host": target.host_header(),
            "user-agent": "VOICE-Webhooks/1",
        }
    )
    # Connect to the checked address; present the name for Host and for TLS (SNI and the
    # certificate check), so the partner's certificate is still verified against its name.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        "POST",
        target.connect_url(),
        content=job.body,
        headers=headers,
        timeout=TIMEOUT_SECONDS,
        extensions=extensions,
    )
    try:
        # Streamed, so a partner answering with a huge body costs us 1 KB, not all of it.
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            kept = await _first_bytes(response)
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        return outcome(Verdict.RETRY, error_kind="timeout")
    except httpx.TransportError as exc:
        kind = "connect_error" if isinstance(exc, httpx.ConnectError) else "transport_error"
        return outcome(Verdict.RETRY, error_kind=kind)
    verdict = judge(response.status_code)
    retry_after = None
    if verdict is Verdict.RETRY:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
    return outcome(
        verdict,
        status_code=response.status_code,
        response_body=kept,
        retry_after=retry_after,
        error_kind="redirect" if 300 <= response.status_code < 400 else None,
    )
